// Loads a generated TypeScript module with every loop counting its iterations: a TypeScript
// transform inserts `__ops.n++` at the top of each loop body, so the count does not depend on
// how the emitter lays its loops out. The count is the work done, to within a constant per
// iteration: tests compare its growth between sizes of the run-time dimensions.
import ts from 'typescript';
import { transform } from 'esbuild';
import type { GeneratedModule } from './load.ts';

export interface CountingModule {
  readonly module: GeneratedModule;
  /** Loop iterations since the last reset. */
  count(): number;
  reset(): void;
}

export async function loadCounting(code: string): Promise<CountingModule> {
  const f = ts.factory;
  const counter = () => f.createExpressionStatement(f.createPostfixIncrement(f.createPropertyAccessExpression(f.createIdentifier('__ops'), 'n')));
  const instrument = (ctx: ts.TransformationContext) => {
    const visit = (node: ts.Node): ts.Node => {
      const n = ts.visitEachChild(node, visit, ctx);
      if (!ts.isForStatement(n) && !ts.isForOfStatement(n) && !ts.isForInStatement(n) && !ts.isWhileStatement(n) && !ts.isDoStatement(n)) return n;
      const body = f.createBlock([counter(), ...(ts.isBlock(n.statement) ? n.statement.statements : [n.statement])], true);
      if (ts.isForStatement(n)) return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, body);
      if (ts.isForOfStatement(n)) return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, body);
      if (ts.isForInStatement(n)) return f.updateForInStatement(n, n.initializer, n.expression, body);
      if (ts.isWhileStatement(n)) return f.updateWhileStatement(n, n.expression, body);
      return f.updateDoStatement(n, body, n.expression);
    };
    return (sf: ts.SourceFile) => visit(sf) as ts.SourceFile;
  };
  const source = ts.createSourceFile('generated.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const result = ts.transform(source, [instrument]);
  const printed = `export const __ops = { n: 0 };\n${ts.createPrinter().printFile(result.transformed[0]!)}`;
  result.dispose();
  const js = await transform(printed, { loader: 'ts', format: 'esm', target: 'es2022' });
  const mod = (await import(/* @vite-ignore */ `data:text/javascript;base64,${Buffer.from(js.code, 'utf8').toString('base64')}`)) as GeneratedModule & { __ops: { n: number } };
  return {
    module: mod,
    count: () => mod.__ops.n,
    reset: () => {
      mod.__ops.n = 0;
    },
  };
}
