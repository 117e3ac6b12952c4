// Expressions -> graph nodes: name resolution, shape checking, built-in functions, indexing and
// the inlining of user functions. Every error is reported where it happens and gives a null
// (unknown) value, which later operations pass on silently, so one mistake gives one message.
import {
  broadcastShape,
  matmulShape,
  shapeText,
  type BinaryOp,
  type GraphBuilder,
  type Node,
  type Shape,
  type SliceIndex,
} from '../2-ir/graph.ts';
import { evaluateConstant, type ConstEnv } from './consts.ts';
import { spanText, type Expr, type IndexItem } from './expressions.ts';
import {
  BUILTIN_ARITY,
  BUILTIN_CONSTANTS,
  FUNCTION_HINTS,
  arityText,
  isBuiltinFunction,
  isElementwise,
  isKeyword,
} from './names.ts';
import type { Reporter, Span } from './report.ts';
import { describeEntry, type Entry, type Scope } from './scope.ts';
import type { Statement } from './source.ts';
import { closest } from './suggest.ts';

/** Where an expression is being built. */
export interface Ctx {
  readonly stmt: Statement;
  /** Globals defined by statements before this index are visible. */
  readonly visibleBefore: number;
  /** Arguments of the function being inlined (null value: unknown). */
  readonly locals: ReadonlyMap<string, Node | null> | null;
  /** The function whose body this is. */
  readonly functionName: string | null;
  /** Appended to messages: which call of a function led here. */
  readonly note: string | undefined;
}

const ELEMENTWISE_OPS: Readonly<Record<string, BinaryOp>> = { '+': 'add', '-': 'sub', '.*': 'mul', './': 'div', '.^': 'pow' };

export class ExpressionBuilder {
  /** First use, in an expression, of each symbolic dimension (it must appear in a data shape). */
  readonly symbolicUses = new Map<string, { stmt: Statement; span: Span }>();
  private readonly inlined = new Map<string, Node | null>();

  constructor(
    private readonly builder: GraphBuilder,
    private readonly scope: Scope,
    private readonly reporter: Reporter,
  ) {}

  private error(ctx: Ctx, span: Span, message: string): void {
    this.reporter.error(ctx.stmt, span, message, ctx.note);
  }

  private text(ctx: Ctx, e: Expr | Span): string {
    return `\`${spanText(ctx.stmt, 'span' in e ? e.span : e)}\``;
  }

  // ---- names ------------------------------------------------------------------------------

  /** Reports a name that is not defined where it is used. */
  unknownName(ctx: Ctx, name: string, span: Span, asFunction: boolean): void {
    if (isKeyword(name)) {
      this.error(ctx, span, `\`${name}\` is a keyword and cannot be used in an expression (does a line above end with an operator or an open bracket?)`);
      return;
    }
    if (name === 'end') {
      this.error(ctx, span, '`end` can only be used inside an index, like `x[end]`');
      return;
    }
    if (ctx.functionName !== null && name === ctx.functionName) {
      this.error(ctx, span, `\`${name}\` cannot call itself: recursion is not allowed`);
      return;
    }
    const later = this.scope.laterDefinition(name, ctx.visibleBefore);
    if (later) {
      const where = later.order === ctx.visibleBefore && ctx.functionName === null
        ? `\`${name}\` cannot be used in its own definition`
        : `\`${name}\` is used before its definition on line ${later.line}; a name can only be used after the line that defines it`;
      this.error(ctx, span, where);
      return;
    }
    const locals = ctx.locals ? [...ctx.locals.keys()] : [];
    if (asFunction) {
      const candidates = [...BUILTIN_ARITY.keys(), ...this.scope.visibleNames(ctx.visibleBefore, ['function'])];
      const guess = closest(name, candidates);
      const hint = FUNCTION_HINTS.get(name);
      const extra = hint ? `: ${hint}` : guess ? `; did you mean \`${guess}\`?` : '';
      this.error(ctx, span, `unknown function \`${name}\`${extra}`);
      return;
    }
    const candidates = [...locals, ...this.scope.visibleNames(ctx.visibleBefore), ...BUILTIN_CONSTANTS.keys()];
    const guess = closest(name, candidates);
    this.error(ctx, span, `unknown name \`${name}\`${guess ? `; did you mean \`${guess}\`?` : ''}`);
  }

  private resolve(ctx: Ctx, name: string, span: Span): Node | null {
    if (ctx.locals?.has(name)) return ctx.locals.get(name) ?? null;
    const c = BUILTIN_CONSTANTS.get(name);
    if (c !== undefined) return this.builder.constant(c);
    const entry = this.scope.get(name, ctx.visibleBefore);
    if (entry) return this.valueOf(ctx, name, entry, span);
    if (isBuiltinFunction(name)) {
      this.error(ctx, span, `\`${name}\` is a function: call it with an argument, like \`${name}(x)\``);
      return null;
    }
    this.unknownName(ctx, name, span, false);
    return null;
  }

  private valueOf(ctx: Ctx, name: string, entry: Entry, span: Span): Node | null {
    switch (entry.kind) {
      case 'dim':
        if (entry.size !== null) return this.builder.constant(entry.size);
        if (!this.symbolicUses.has(name)) this.symbolicUses.set(name, { stmt: ctx.stmt, span });
        return this.builder.dim(name);
      case 'const':
        return entry.value === null ? null : this.builder.constant(entry.value);
      case 'data':
      case 'param':
      case 'def':
        return entry.node;
      case 'function':
        this.error(ctx, span, `\`${name}\` is a function: call it with its arguments, like \`${name}(${(entry.params ?? ['x']).join(', ')})\``);
        return null;
      case 'broken':
        return null;
    }
  }

  /** A ConstEnv resolving names in `ctx`. */
  constEnv(ctx: Ctx, purpose: string, end?: number): ConstEnv {
    return {
      purpose,
      end,
      error: (span, message) => this.error(ctx, span, message),
      lookup: (name, span) => {
        if (ctx.locals?.has(name)) {
          this.error(ctx, span, `\`${name}\` is a function argument: ${purpose}`);
          return null;
        }
        const c = BUILTIN_CONSTANTS.get(name);
        if (c !== undefined) return c;
        const entry = this.scope.get(name, ctx.visibleBefore);
        if (!entry) {
          this.unknownName(ctx, name, span, false);
          return null;
        }
        switch (entry.kind) {
          case 'dim':
            if (entry.size !== null) return entry.size;
            this.error(ctx, span, `\`${name}\` is known only at run time: ${purpose}`);
            return null;
          case 'const':
            return entry.value;
          case 'broken':
            return null;
          default:
            this.error(ctx, span, `\`${name}\` is ${describeEntry(entry)}: ${purpose}`);
            return null;
        }
      },
    };
  }

  // ---- expressions ------------------------------------------------------------------------

  build(e: Expr, ctx: Ctx): Node | null {
    switch (e.kind) {
      case 'num':
        return this.builder.constant(e.value);
      case 'name':
        return this.resolve(ctx, e.name, e.span);
      case 'plus':
        return this.build(e.arg, ctx);
      case 'neg': {
        const a = this.build(e.arg, ctx);
        if (!a) return null;
        if (a.kind === 'const') return this.builder.constant(-a.value);
        return this.builder.unary('neg', a);
      }
      case 'transpose': {
        const a = this.build(e.arg, ctx);
        return a && this.builder.transpose(a);
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'call':
        return this.call(e, ctx);
      case 'index':
        return this.index(e, ctx);
      case 'invalid':
        return null;
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Node | null {
    const a = this.build(e.a, ctx);
    const b = this.build(e.b, ctx);
    if (!a || !b) return null;
    const sides = `${this.text(ctx, e.a)} is ${shapeText(a.shape)} and ${this.text(ctx, e.b)} is ${shapeText(b.shape)}`;
    const elementwise = ELEMENTWISE_OPS[e.op];
    if (elementwise) {
      if (!broadcastShape(a.shape, b.shape)) {
        this.error(ctx, e.opSpan, `shape mismatch in \`${e.op}\`: ${sides}; element-wise operations align shapes from the last axis, where sizes must be equal or 1`);
        return null;
      }
      return this.builder.binary(elementwise, a, b);
    }
    switch (e.op) {
      case '*': {
        if (a.shape.length === 0 || b.shape.length === 0) return this.builder.binary('mul', a, b);
        if (!matmulShape(a.shape, b.shape)) {
          const inner = `${String(a.shape[a.shape.length - 1])} vs ${String(b.shape[0])}`;
          const hint = broadcastShape(a.shape, b.shape) ? '; for element-wise multiplication use `.*`' : '';
          this.error(ctx, e.opSpan, `shape mismatch in \`*\` (matrix product): ${sides}; the inner sizes must match (${inner})${hint}`);
          return null;
        }
        return this.builder.matmul(a, b);
      }
      case '/':
        if (b.shape.length !== 0) {
          this.error(ctx, e.opSpan, `\`/\` needs a scalar on the right, but ${this.text(ctx, e.b)} is ${shapeText(b.shape)}: use \`./\` for element-wise division`);
          return null;
        }
        return this.builder.binary('div', a, b);
      case '^': {
        if (a.shape.length !== 0 || b.shape.length !== 0) {
          const [which, node] = a.shape.length !== 0 ? [e.a, a] : [e.b, b];
          this.error(ctx, e.opSpan, `\`^\` is the scalar power, but ${this.text(ctx, which)} is ${shapeText(node.shape)}: use \`.^\` for element-wise power`);
          return null;
        }
        return this.builder.binary('pow', a, b);
      }
    }
    return null;
  }

  // ---- calls ------------------------------------------------------------------------------

  private call(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Node | null {
    const name = e.name;
    if (ctx.locals?.has(name)) {
      for (const a of e.args) this.build(a, ctx);
      this.error(ctx, e.nameSpan, `\`${name}\` is an argument (a value), not a function`);
      return null;
    }
    const arity = BUILTIN_ARITY.get(name);
    if (arity) return this.builtin(e, ctx, arity);
    const entry = this.scope.get(name, ctx.visibleBefore);
    const args = e.args.map((a) => this.build(a, ctx));
    if (!entry) {
      this.unknownName(ctx, name, e.nameSpan, true);
      return null;
    }
    if (entry.kind === 'broken') return null;
    if (entry.kind !== 'function') {
      const node = entry.kind === 'data' || entry.kind === 'param' || entry.kind === 'def' ? entry.node : null;
      const hint = node && node.shape.length > 0 ? `; to index it write \`${name}[...]\`` : '';
      this.error(ctx, e.nameSpan, `\`${name}\` is ${describeEntry(entry)}, not a function${hint}`);
      return null;
    }
    return this.inline(e, ctx, entry, args);
  }

  private inline(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx, fn: Extract<Entry, { kind: 'function' }>, args: (Node | null)[]): Node | null {
    if (fn.params && args.length !== fn.params.length) {
      const list = fn.params.length ? ` (${fn.params.join(', ')})` : '';
      this.error(ctx, e.span, `\`${e.name}\` takes ${fn.params.length} argument${fn.params.length === 1 ? '' : 's'}${list}, but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`);
      return null;
    }
    if (!fn.params || !fn.body || args.some((a) => a === null)) return null;
    const key = `${e.name}(${args.map((a) => a!.id).join(',')})`;
    if (this.inlined.has(key)) return this.inlined.get(key) ?? null;
    const line = ctx.stmt.lineOf[e.span.start] ?? ctx.stmt.firstLine;
    const column = ctx.stmt.columnOf[e.span.start] ?? 1;
    const here = `in \`${e.name}\` called at line ${line}, column ${column}`;
    const inner: Ctx = {
      stmt: fn.stmt,
      visibleBefore: fn.order,
      locals: new Map(fn.params.map((p, k) => [p, args[k]!])),
      functionName: e.name,
      note: ctx.note ? `${here}; ${ctx.note}` : here,
    };
    const result = this.build(fn.body, inner);
    this.inlined.set(key, result);
    return result;
  }

  private builtin(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx, arity: readonly number[]): Node | null {
    const name = e.name;
    const takesAxis = name === 'sum' || name === 'mean' || name === 'logsumexp';
    // an axis argument is a literal, not a value: build only the others
    const args = e.args.map((a, k) => (takesAxis && k === 1 ? null : this.build(a, ctx)));
    if (!arity.includes(e.args.length)) {
      this.error(ctx, e.span, `\`${name}\` takes ${arityText(arity)}, but ${e.args.length} ${e.args.length === 1 ? 'was' : 'were'} given`);
      return null;
    }
    if (takesAxis) return this.reduction(e, ctx, args[0] ?? null);
    if (args.some((a) => a === null)) return null;
    const x = args[0]!;
    if (isElementwise(name)) return this.builder.unary(name, x);
    if (name === 'transpose') return this.builder.transpose(x);
    // dot
    const y = args[1]!;
    if (x.shape.length !== 1 || y.shape.length !== 1 || x.shape[0] !== y.shape[0]) {
      const what = x.shape.length !== 1 || y.shape.length !== 1 ? 'two vectors' : 'two vectors of the same length';
      this.error(ctx, e.span, `\`dot\` needs ${what}, but ${this.text(ctx, e.args[0]!)} is ${shapeText(x.shape)} and ${this.text(ctx, e.args[1]!)} is ${shapeText(y.shape)}`);
      return null;
    }
    return this.builder.matmul(x, y);
  }

  /** sum, mean and logsumexp, over all elements or along axis 1 or 2. */
  private reduction(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx, x: Node | null): Node | null {
    const name = e.name;
    let axis: 0 | 1 | null = null;
    const axisExpr = e.args[1];
    if (axisExpr) {
      if (axisExpr.kind === 'invalid') return null;
      if (axisExpr.kind !== 'num' || (axisExpr.value !== 1 && axisExpr.value !== 2)) {
        this.error(ctx, axisExpr.span, `the axis of \`${name}\` must be the number 1 (down the rows) or 2 (along each row)`);
        return null;
      }
      axis = axisExpr.value === 1 ? 0 : 1;
    }
    if (!x) return null;
    if (axis !== null && x.shape.length <= axis) {
      const argText = this.text(ctx, e.args[0]!);
      const why = x.shape.length === 0
        ? `${argText} is a scalar, which has no axes`
        : `${argText} is a vector ${shapeText(x.shape)}, which has only axis 1`;
      this.error(ctx, axisExpr!.span, `\`${name}\` along axis ${axis + 1}: ${why}`);
      return null;
    }
    if (name === 'logsumexp') return this.builder.logsumexp(x, axis);
    const total = this.builder.sum(x, axis);
    if (name === 'sum') return total;
    const counted: Shape = axis === null ? x.shape : [x.shape[axis]!];
    const count = this.count(counted);
    return count ? this.builder.binary('div', total, count) : total;
  }

  /** The number of elements of `shape` as a scalar node, or null when it is 1. */
  private count(shape: Shape): Node | null {
    let fixed = 1;
    let node: Node | null = null;
    for (const d of shape) {
      if (typeof d === 'number') fixed *= d;
    }
    if (fixed !== 1) node = this.builder.constant(fixed);
    for (const d of shape) {
      if (typeof d === 'string') {
        const dim = this.builder.dim(d);
        node = node ? this.builder.binary('mul', node, dim) : dim;
      }
    }
    return node;
  }

  // ---- indexing ---------------------------------------------------------------------------

  private index(e: Extract<Expr, { kind: 'index' }>, ctx: Ctx): Node | null {
    const x = this.build(e.arg, ctx);
    if (!x) return null;
    const rank = x.shape.length;
    const argText = this.text(ctx, e.arg);
    if (rank === 0) {
      this.error(ctx, e.bracketSpan, `${argText} is a scalar and cannot be indexed`);
      return null;
    }
    if (e.indices.length !== rank) {
      const kind = rank === 1 ? `a vector ${shapeText(x.shape)}: it takes 1 index, like \`x[i]\`` : `a matrix ${shapeText(x.shape)}: it takes 2 indices, like \`A[i, j]\` or \`A[i, :]\``;
      this.error(ctx, e.bracketSpan, `${argText} is ${kind}, but ${e.indices.length} ${e.indices.length === 1 ? 'was' : 'were'} given`);
      return null;
    }
    const slices: SliceIndex[] = [];
    let full = true;
    let ok = true;
    e.indices.forEach((item, k) => {
      const s = this.indexItem(ctx, item, x.shape, k, argText);
      if (!s) {
        ok = false;
        return;
      }
      slices.push(s.index);
      if (!s.full) full = false;
    });
    if (!ok) return null;
    return full ? x : this.builder.slice(x, slices);
  }

  private axisText(shape: Shape, k: number, argText: string): string {
    const size = shape[k]!;
    if (shape.length === 1) return `${argText} has ${size} element${size === 1 ? '' : 's'}`;
    return k === 0 ? `${argText} has ${size} row${size === 1 ? '' : 's'}` : `${argText} has ${size} column${size === 1 ? '' : 's'}`;
  }

  private indexItem(ctx: Ctx, item: IndexItem, shape: Shape, k: number, argText: string): { index: SliceIndex; full: boolean } | null {
    const size = shape[k]!;
    if (item.kind === 'all') return { index: { start: 0, stop: size }, full: true };
    if (typeof size === 'string') {
      // `1:end` is the whole axis too
      const whole = item.kind === 'range'
        && (item.start === null || (item.start.kind === 'num' && item.start.value === 1))
        && (item.end === null || (item.end.kind === 'name' && item.end.name === 'end'));
      if (whole) return { index: { start: 0, stop: size }, full: true };
      this.error(ctx, item.span, `${this.axisText(shape, k, argText)}, a size known only at run time: only \`:\` (the whole axis) can index it`);
      return null;
    }
    const env = this.constEnv(ctx, 'indices must be constants (numbers, `end`, consts, fixed dims)', size);
    const position = (expr: Expr): number | null => {
      const v = evaluateConstant(expr, env);
      if (v === null) return null;
      if (!Number.isInteger(v)) {
        this.error(ctx, expr.span, `an index must be a whole number, but this is ${v}`);
        return null;
      }
      if (v < 1 || v > size) {
        this.error(ctx, expr.span, `index ${v} is out of bounds: ${this.axisText(shape, k, argText)} (indices are 1 to ${size})`);
        return null;
      }
      return v;
    };
    if (item.kind === 'at') {
      const v = position(item.at);
      return v === null ? null : { index: { at: v - 1 }, full: false };
    }
    const a = item.start ? position(item.start) : 1;
    const b = item.end ? position(item.end) : size;
    if (a === null || b === null) return null;
    if (a > b) {
      this.error(ctx, item.span, `the range ${a}:${b} is empty: the start must not be after the end`);
      return null;
    }
    return { index: { start: a - 1, stop: b }, full: a === 1 && b === size };
  }
}
