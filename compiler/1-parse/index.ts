// Front end: .hess source text -> checked tensor graph (or located diagnostics).
//
//   source.ts      lines, comments, continuation lines -> logical statements with positions
//   lexer.ts       tokens of a statement (the language's alphabet only)
//   statements.ts  statement forms (dim, const, data, param, definitions, functions, minimize)
//   expressions.ts math.js parse of each expression -> the language's expression tree
//   check.ts       the model: names, declarations, shapes, the objective
//   build.ts       expressions -> graph nodes (shapes, built-ins, indexing, inlining)
//   consts.ts      compile-time arithmetic (const, dim sizes, indices)
//   scope.ts, names.ts, suggest.ts, report.ts, diagnostics.ts: support
import type { Model } from '../2-ir/graph.ts';
import { ModelChecker } from './check.ts';
import type { Diagnostic } from './diagnostics.ts';
import { Reporter } from './report.ts';
import { splitSource } from './source.ts';
import { StatementParser, type Stmt } from './statements.ts';

export type { Diagnostic } from './diagnostics.ts';
export { formatDiagnostic, formatDiagnostics } from './diagnostics.ts';

/** `models/mlp.hess` -> `mlp`. */
export function modelNameOf(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.hess$/, '');
}

/**
 * Parses and checks a model. Never throws: any input gives either a model (and no
 * diagnostics) or located diagnostics (and a null model), ordered by position.
 */
export function parseModel(source: string, file: string): { model: Model | null; diagnostics: Diagnostic[] } {
  const text = typeof source === 'string' ? source : String(source);
  let reporter = new Reporter(file, text.split(/\r\n|\r|\n/));
  try {
    const { lines, statements } = splitSource(text);
    reporter = new Reporter(file, lines);
    const parser = new StatementParser(reporter);
    const stmts: Stmt[] = [];
    for (const st of statements) {
      try {
        stmts.push(parser.parse(st));
      } catch (err) {
        reporter.error(st, { start: 0, end: st.text.length }, internalMessage(err));
      }
    }
    const model = new ModelChecker(reporter).check(stmts, modelNameOf(file), lines);
    const diagnostics = reporter.sorted();
    return { model: diagnostics.length ? null : model, diagnostics };
  } catch (err) {
    reporter.at(1, 1, 1, internalMessage(err));
    return { model: null, diagnostics: reporter.sorted() };
  }
}

function internalMessage(err: unknown): string {
  if (err instanceof RangeError) return 'the model is nested too deeply to compile';
  const msg = err instanceof Error ? err.message : String(err);
  return `internal compiler error (please report it): ${msg}`;
}
