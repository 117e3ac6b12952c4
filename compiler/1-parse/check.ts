// The model as a whole: statements in order, each name defined once and used after its
// definition, declarations and their shapes, exactly one scalar objective.
import { GraphBuilder, dependsOnParam, shapeText, type DataDecl, type Dim, type Model, type Node, type ParamDecl } from '../2-ir/graph.ts';
import { ExpressionBuilder, type Ctx } from './build.ts';
import { evaluateConstant } from './consts.ts';
import { spanText } from './expressions.ts';
import type { Reporter, Span } from './report.ts';
import { Scope, describeEntry, type Entry } from './scope.ts';
import type { Statement } from './source.ts';
import type { SizeRef, Stmt } from './statements.ts';

export class ModelChecker {
  private readonly scope = new Scope();
  private readonly builder = new GraphBuilder();
  private readonly exprs: ExpressionBuilder;
  private readonly params: ParamDecl[] = [];
  private readonly data: DataDecl[] = [];
  private readonly symbolicDims: { name: string; stmt: Statement; span: Span }[] = [];
  private readonly dataDims = new Set<string>();
  /** Where each data array's run-time sizes are written, to locate a dim that cannot be inferred. */
  private readonly dataSizes: { name: string; stmt: Statement; refs: readonly SizeRef[] }[] = [];
  private objective: Node | null = null;
  private readonly definitions: { name: string; node: Node; line: number }[] = [];
  private readonly outputs: { name: string; node: Node }[] = [];
  private firstMinimize: number | null = null;
  private objectiveAt: { line: number; column: number; length: number } | undefined;

  constructor(private readonly reporter: Reporter) {
    this.exprs = new ExpressionBuilder(this.builder, this.scope, reporter);
  }

  private ctx(stmt: Statement, order: number): Ctx {
    return { stmt, visibleBefore: order, locals: null, functionName: null, note: undefined };
  }

  /** Checks all statements; returns the model when no statement had an error. */
  check(stmts: readonly Stmt[], modelName: string, lines: readonly string[]): Model | null {
    stmts.forEach((s, order) => {
      if (s.kind !== 'minimize' && s.name !== null) this.scope.announce(s.name, order, s.stmt.lineOf[s.nameSpan.start] ?? s.stmt.firstLine);
    });
    stmts.forEach((s, order) => this.statement(s, order));
    if (this.firstMinimize === null) {
      let line = lines.length;
      while (line > 1 && (lines[line - 1] ?? '').trim() === '') line--;
      const lastLine = lines[line - 1] ?? '';
      this.reporter.at(line, Math.max(1, lastLine.length + 1), 1, 'the model has no objective: add a line `minimize EXPRESSION` (a scalar)');
    }
    for (const [name, use] of this.exprs.symbolicUses) {
      if (this.dataDims.has(name)) continue;
      const decl = this.symbolicDims.find((d) => d.name === name);
      const where = decl ? ` (declared on line ${decl.stmt.lineOf[decl.span.start]})` : '';
      this.reporter.error(use.stmt, use.span, `the size of \`${name}\`${where} is given at run time by the data, but no \`data\` shape uses it: give it a size (\`dim ${name} = 16\`) or use it in a \`data\` shape`);
    }
    this.checkInferable();
    if (this.reporter.count > 0 || !this.objective) return null;
    return {
      name: modelName,
      symbolicDims: this.symbolicDims.map((d) => d.name).filter((n) => this.dataDims.has(n)),
      params: this.params,
      data: this.data,
      objective: this.objective,
      definitions: this.definitions,
      ...(this.outputs.length > 0 ? { outputs: this.outputs } : {}),
      ...(this.objectiveAt ? { objectiveAt: this.objectiveAt } : {}),
    };
  }

  /** Defines a statement's name unless it is already defined (reported). */
  private define(s: Exclude<Stmt, { kind: 'minimize' }>, entry: Entry): void {
    if (s.name === null) return;
    const previous = this.scope.existing(s.name);
    if (previous) {
      this.reporter.error(s.stmt, s.nameSpan, `\`${s.name}\` is already defined on line ${previous.line}; each name is defined once`);
      return;
    }
    this.scope.define(s.name, entry);
  }

  private statement(s: Stmt, order: number): void {
    const ctx = this.ctx(s.stmt, order);
    if (s.kind === 'minimize') {
      this.minimize(s, ctx);
      return;
    }
    const line = s.stmt.lineOf[s.nameSpan.start] ?? s.stmt.firstLine;
    const at = { order, line };
    switch (s.kind) {
      case 'dim': {
        if (!s.hasSize) {
          if (s.name !== null && !this.scope.existing(s.name)) this.symbolicDims.push({ name: s.name, stmt: s.stmt, span: s.nameSpan });
          this.define(s, { ...at, kind: 'dim', size: null });
          return;
        }
        if (!s.ok || !s.size) {
          this.define(s, { ...at, kind: 'broken' });
          return;
        }
        const v = evaluateConstant(s.size, this.exprs.constEnv(ctx, 'a dimension\'s size must be known at compile time'));
        if (v !== null && (!Number.isInteger(v) || v < 1)) {
          this.reporter.error(s.stmt, s.size.span, `the size of a dimension must be a positive whole number, but this is ${v}`);
          this.define(s, { ...at, kind: 'broken' });
          return;
        }
        this.define(s, v === null ? { ...at, kind: 'broken' } : { ...at, kind: 'dim', size: v });
        return;
      }
      case 'const': {
        const v = s.expr
          ? evaluateConstant(s.expr, this.exprs.constEnv(ctx, 'a `const` is computed at compile time from numbers, other consts, `pi`, `e` and fixed dims'))
          : null;
        this.define(s, { ...at, kind: 'const', value: v });
        return;
      }
      case 'data':
      case 'param': {
        const shape = s.sizes ? this.shape(s, s.sizes, ctx) : null;
        if (!shape || s.name === null) {
          this.define(s, { ...at, kind: 'broken' });
          return;
        }
        let node: Node;
        if (s.kind === 'param') {
          const fixed = shape as number[];
          node = this.builder.param(s.name, fixed);
          if (!this.scope.existing(s.name)) this.params.push({ name: s.name, shape: fixed });
        } else {
          node = this.builder.data(s.name, shape);
          if (!this.scope.existing(s.name)) {
            this.data.push({ name: s.name, shape });
            for (const d of shape) if (typeof d === 'string') this.dataDims.add(d);
            if (s.sizes) this.dataSizes.push({ name: s.name, stmt: s.stmt, refs: s.sizes });
          }
        }
        this.define(s, { ...at, kind: s.kind, node });
        return;
      }
      case 'def': {
        const node = s.expr ? this.exprs.build(s.expr, ctx) : null;
        if (node && s.name !== null && !this.scope.existing(s.name)) {
          this.definitions.push({ name: s.name, node, line });
          if (s.output) this.output(s, s.name, node);
        }
        this.define(s, { ...at, kind: 'def', node });
        return;
      }
      case 'function': {
        this.define(s, { ...at, kind: 'function', params: s.params?.map((p) => p.name) ?? null, body: s.expr, stmt: s.stmt });
        if (s.params && s.expr) {
          // Check the body once on its own (arguments of unknown shape): names, and shapes
          // that do not depend on the arguments. Each call checks the rest.
          const trial: Ctx = {
            stmt: s.stmt,
            visibleBefore: order,
            locals: new Map(s.params.map((p) => [p.name, null])),
            functionName: s.name,
            note: undefined,
          };
          this.exprs.build(s.expr, trial);
        }
        return;
      }
      case 'invalid':
        if (s.name !== null && !this.scope.existing(s.name)) this.scope.define(s.name, { ...at, kind: 'broken' });
        return;
    }
  }

  /**
   * Run-time dims are read off array lengths, one unknown dim per array at a time (the generated
   * modules do the same): a dim that only ever shares an array with another unknown one, like N
   * and M in a lone `data Y[N, M]` (length N·M), cannot be inferred, and every call would throw.
   */
  private checkInferable(): void {
    const known = new Set<string>();
    const runTime = (a: (typeof this.data)[number]) => [...new Set(a.shape.filter((d): d is string => typeof d === 'string'))];
    for (let progress = true; progress; ) {
      progress = false;
      for (const a of this.data) {
        const unknown = runTime(a).filter((d) => !known.has(d));
        if (unknown.length === 1) {
          known.add(unknown[0]!);
          progress = true;
        }
      }
    }
    const reported = new Set<string>();
    for (const a of this.dataSizes) {
      const unknown = a.refs.filter((r) => r.kind !== 'number' && this.dataDims.has(r.name) && !known.has(r.name));
      const names = [...new Set(unknown.map((r) => (r.kind === 'number' ? '' : r.name)))];
      if (names.length < 2 || names.every((n) => reported.has(n))) continue;
      names.forEach((n) => reported.add(n));
      const list = names.map((n) => `\`${n}\``).join(' and ');
      const first = unknown[0]!;
      this.reporter.error(
        a.stmt,
        first.span,
        `${list} cannot be read off the data: \`${a.name}\` has ${names.length} run-time sizes and no other array gives one of them alone; declare an array with only one of them (\`data ${a.name}_rows[${names[0]}]\`) or give one a fixed size (\`dim ${names[1]} = 16\`)`,
      );
    }
  }

  /** The shape of a declaration, or null after reporting. */
  private shape(s: Extract<Stmt, { kind: 'data' | 'param' }>, sizes: readonly SizeRef[], ctx: Ctx): Dim[] | null {
    const shape: Dim[] = [];
    let ok = true;
    for (const ref of sizes) {
      if (ref.kind === 'number') {
        shape.push(ref.value);
        continue;
      }
      const entry = this.scope.get(ref.name, ctx.visibleBefore);
      if (!entry) {
        this.exprs.unknownName(ctx, ref.name, ref.span, false);
        ok = false;
      } else if (entry.kind === 'broken') {
        ok = false;
      } else if (entry.kind !== 'dim') {
        this.reporter.error(s.stmt, ref.span, `\`${ref.name}\` is ${describeEntry(entry)}, not a dimension: a size is a whole number or a name declared with \`dim\``);
        ok = false;
      } else if (entry.size !== null) {
        shape.push(entry.size);
      } else if (s.kind === 'param') {
        this.reporter.error(
          s.stmt,
          ref.span,
          `the sizes of a param must be known at compile time, but \`${ref.name}\` is given at run time: use a number or a fixed dimension (\`dim ${ref.name} = 16\`), or make \`${s.name ?? 'it'}\` a \`data\``,
        );
        ok = false;
      } else {
        shape.push(ref.name);
      }
    }
    return ok ? shape : null;
  }

  /**
   * `output NAME = …`: an output must depend on a param (a constant one has a zero Jacobian and
   * would only hide curvature the Gauss-Newton matrix keeps exactly).
   */
  private output(s: Extract<Stmt, { kind: 'def' }>, name: string, node: Node): void {
    if (!dependsOnParam(node)) {
      this.reporter.error(s.stmt, s.nameSpan, `the output \`${name}\` does not depend on any param, so it has no Jacobian: make it a plain definition (\`${name} = …\`)`);
      return;
    }
    this.outputs.push({ name, node });
  }

  private minimize(s: Extract<Stmt, { kind: 'minimize' }>, ctx: Ctx): void {
    const line = s.stmt.lineOf[s.keywordSpan.start] ?? s.stmt.firstLine;
    if (this.firstMinimize !== null) {
      this.reporter.error(s.stmt, s.keywordSpan, `a model has exactly one \`minimize\`, and there is already one on line ${this.firstMinimize}`);
      if (s.expr) this.exprs.build(s.expr, ctx);
      return;
    }
    this.firstMinimize = line;
    this.objectiveAt = { line, column: s.stmt.columnOf[s.keywordSpan.start] ?? 1, length: s.keywordSpan.end - s.keywordSpan.start };
    if (!s.expr) return;
    const node = this.exprs.build(s.expr, ctx);
    if (!node) return;
    if (node.shape.length !== 0) {
      this.reporter.error(
        s.stmt,
        s.expr.span,
        `the objective must be a scalar, but \`${spanText(s.stmt, s.expr.span)}\` is ${shapeText(node.shape)}: reduce it, for example with \`sum(...)\` or \`mean(...)\``,
      );
      return;
    }
    this.objective = node;
  }
}
