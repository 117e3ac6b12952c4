// One expression: math.js parses it, then its node tree is converted into the language's own
// small expression tree (`Expr`), rejecting every form the language does not have. math.js nodes
// carry no positions, so each node is matched, in source order, to the tokens it came from.
import { parse } from './mathjs.ts';
import { CLOSERS, OPENERS, type Token } from './lexer.ts';
import { MATHJS_WORDS } from './names.ts';
import type { Reporter, Span } from './report.ts';
import type { Statement } from './source.ts';

export type BinaryOperator = '+' | '-' | '*' | '/' | '^' | '.*' | './' | '.^';

export type Expr =
  | { readonly kind: 'num'; readonly value: number; readonly span: Span }
  | { readonly kind: 'name'; readonly name: string; readonly span: Span }
  | { readonly kind: 'neg' | 'plus' | 'transpose'; readonly arg: Expr; readonly span: Span; readonly opSpan: Span }
  | { readonly kind: 'binary'; readonly op: BinaryOperator; readonly a: Expr; readonly b: Expr; readonly span: Span; readonly opSpan: Span }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly span: Span; readonly nameSpan: Span }
  | { readonly kind: 'index'; readonly arg: Expr; readonly indices: readonly IndexItem[]; readonly span: Span; readonly bracketSpan: Span }
  /** A part rejected (and reported) while parsing: its value is unknown, nothing more is said. */
  | { readonly kind: 'invalid'; readonly span: Span };

/** One index inside `[...]`: `:`, a range `a:b` (a missing bound is 1 or `end`), or one position. */
export type IndexItem =
  | { readonly kind: 'all'; readonly span: Span }
  | { readonly kind: 'range'; readonly start: Expr | null; readonly end: Expr | null; readonly span: Span }
  | { readonly kind: 'at'; readonly at: Expr; readonly span: Span };

/** The parts of a math.js node that are read here (math.js's own types are generic-heavy). */
interface MathNode {
  readonly type: string;
  readonly op?: string;
  readonly fn?: string | MathNode;
  readonly args?: readonly MathNode[];
  readonly implicit?: boolean;
  readonly isPercentage?: boolean;
  readonly optionalChaining?: boolean;
  readonly name?: string;
  readonly value?: unknown;
  readonly content?: MathNode;
  readonly object?: MathNode;
  readonly index?: MathNode | null;
  readonly dimensions?: readonly MathNode[];
  readonly dotNotation?: boolean;
  readonly start?: MathNode;
  readonly end?: MathNode;
  readonly step?: MathNode | null;
  readonly items?: readonly MathNode[];
  readonly condition?: MathNode;
  readonly trueExpr?: MathNode;
  readonly falseExpr?: MathNode;
  readonly params?: readonly unknown[];
  readonly conditionals?: readonly string[];
  readonly blocks?: readonly { node: MathNode }[];
  readonly properties?: Readonly<Record<string, MathNode>>;
  readonly expr?: MathNode;
}

const ALLOWED_BINARY: Readonly<Record<string, BinaryOperator>> = {
  add: '+', subtract: '-', multiply: '*', divide: '/', pow: '^', dotMultiply: '.*', dotDivide: './', dotPow: '.^',
};

const COMPARISONS = new Set(['equal', 'unequal', 'smaller', 'larger', 'smallerEq', 'largerEq', 'compare']);
const BITWISE = new Set(['bitAnd', 'bitOr', 'bitXor', 'bitNot', 'leftShift', 'rightArithShift', 'rightLogShift']);
const LOGICAL = new Set(['and', 'or', 'xor', 'not']);

/** Binary operators a complete expression cannot end with. */
const DANGLING = new Set(['+', '-', '*', '/', '^', '.*', './', '.^', ',', ':', '=', '<', '>', '==', '!=', '<=', '>=', '&', '|', '?', '??', '.', '<<', '>>', '>>>', '^|', '~', '!=']);

const ALIAS_PREFIX = '\u00DF'; // ß: a letter math.js accepts in names and the language does not

function aliasOf(word: string): string {
  return ALIAS_PREFIX + word.slice(1);
}

const UNALIAS: ReadonlyMap<string, string> = new Map(MATHJS_WORDS.map((w) => [aliasOf(w), w]));

export function shortText(text: string, max = 32): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** The source text of a span, squeezed, for messages. */
export function spanText(stmt: Statement, span: Span, max = 32): string {
  return shortText(stmt.text.slice(span.start, span.end), max);
}

const join = (a: Span, b: Span): Span => ({ start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) });

/** Checks that brackets pair up; reports each problem. Returns whether they all do. */
export function checkBrackets(stmt: Statement, tokens: readonly Token[], reporter: Reporter): boolean {
  const stack: Token[] = [];
  let ok = true;
  for (const t of tokens) {
    if (t.kind !== 'op') continue;
    if (OPENERS[t.text] !== undefined) {
      stack.push(t);
    } else if (CLOSERS[t.text] !== undefined) {
      const open = stack.pop();
      if (!open) {
        reporter.error(stmt, t, `unmatched \`${t.text}\`: there is no \`${CLOSERS[t.text]}\` before it`);
        ok = false;
      } else if (OPENERS[open.text] !== t.text) {
        reporter.error(stmt, t, `\`${t.text}\` does not match the \`${open.text}\` at column ${stmt.columnOf[open.start]}; expected \`${OPENERS[open.text]}\``);
        ok = false;
      }
    }
  }
  for (const open of stack) {
    reporter.error(stmt, open, `\`${open.text}\` is never closed: add \`${OPENERS[open.text]}\``);
    ok = false;
  }
  return ok;
}

/** Rewrites math.js's parse error message in the language's terms. */
function syntaxMessage(raw: string, culprit: string | undefined): string {
  const msg = raw.replace(/\s*\(char \d+\)\s*$/, '');
  if (/^Unexpected end of expression/.test(msg)) return 'the expression is incomplete';
  if (/^Parenthesis \) expected/.test(msg)) return culprit ? `expected \`)\` before \`${culprit}\`` : 'missing `)`';
  if (/^Parenthesis ] expected/.test(msg)) return culprit ? `expected \`]\` or \`,\` before \`${culprit}\`` : 'missing `]`';
  if (/^Value expected/.test(msg)) return culprit ? `expected a value before \`${culprit}\`` : 'a value is missing';
  if (/^Unexpected operator/.test(msg)) return culprit ? `unexpected \`${culprit}\`` : msg;
  if (/^Invalid left hand side of assignment/.test(msg)) return '`=` is not allowed inside an expression';
  if (/^Property name expected after (dot|optional chain)/.test(msg)) return 'a `.` must be part of an element-wise operator (`.*`, `./`, `.^`) or a number';
  if (/^Unexpected part/.test(msg)) return culprit ? `unexpected \`${culprit}\`: is an operator missing before it?` : msg;
  return `syntax error: ${msg}`;
}

/**
 * Parses the expression made of `tokens` (a tail of `stmt`'s tokens; the caller reports an empty
 * one). Returns null after reporting when math.js cannot parse it; parts outside the language
 * are reported and become `invalid` nodes, so the rest can still be checked.
 */
export function parseExpression(stmt: Statement, tokens: readonly Token[], reporter: Reporter): Expr | null {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  if (!first || !last) return null;
  if (!checkBrackets(stmt, tokens, reporter)) return null;
  if (last.kind === 'op' && DANGLING.has(last.text)) {
    reporter.error(stmt, last, `the expression ends with \`${last.text}\`: something is missing after it`);
    return null;
  }
  // math.js sees the statement text with everything before the expression blanked out (so its
  // error offsets are statement offsets) and with its own keywords renamed.
  let input = ' '.repeat(first.start);
  let pos = first.start;
  for (const t of tokens) {
    input += stmt.text.slice(pos, t.start);
    input += t.kind === 'name' && MATHJS_WORDS.includes(t.text) ? aliasOf(t.text) : t.text;
    pos = t.end;
  }
  let root: MathNode;
  try {
    root = parse(input) as unknown as MathNode;
  } catch (err) {
    if (err instanceof RangeError) {
      reporter.error(stmt, { start: first.start, end: last.end }, 'the expression is nested too deeply');
      return null;
    }
    const raw = err instanceof Error ? err.message : String(err);
    const charProp = (err as { char?: unknown }).char;
    const offset = typeof charProp === 'number' ? charProp - 1 : last.end;
    const culprit = tokens.find((t) => t.end > offset) ?? null;
    const span = culprit ?? { start: offset, end: offset + 1 };
    reporter.error(stmt, span, syntaxMessage(raw, culprit?.text));
    return null;
  }
  const converter = new Converter(stmt, tokens, reporter);
  let result: { expr: Expr | null; span: Span };
  try {
    result = converter.convert(root);
  } catch (err) {
    if (err instanceof RangeError) {
      reporter.error(stmt, { start: first.start, end: last.end }, 'the expression is nested too deeply');
      return null;
    }
    throw err;
  }
  return result.expr;
}

interface Converted {
  readonly expr: Expr;
  readonly span: Span;
}

const invalid = (span: Span): Converted => ({ expr: { kind: 'invalid', span }, span });

class Converter {
  private cursor = 0;

  constructor(
    private readonly stmt: Statement,
    private readonly tokens: readonly Token[],
    private readonly reporter: Reporter,
  ) {}

  private reject(span: Span, message: string): void {
    this.reporter.error(this.stmt, span, message);
  }

  private peek(): Token | undefined {
    return this.tokens[this.cursor];
  }

  /** The next token (from the cursor on) that satisfies `pred`; moves the cursor past it. */
  private take(pred: (t: Token) => boolean): Token | null {
    for (let k = this.cursor; k < this.tokens.length; k++) {
      const t = this.tokens[k]!;
      if (pred(t)) {
        this.cursor = k + 1;
        return t;
      }
    }
    return null;
  }

  private takeOp(text: string): Token | null {
    return this.take((t) => t.kind === 'op' && t.text === text);
  }

  /** A span for a node whose tokens were not found: where the cursor is. */
  private here(): Span {
    const t = this.peek() ?? this.tokens[this.tokens.length - 1]!;
    return { start: t.start, end: t.end };
  }

  private spanOf(...parts: (Span | null | undefined)[]): Span {
    const found = parts.filter((p): p is Span => !!p);
    if (found.length === 0) return this.here();
    return found.reduce(join);
  }

  convert(node: MathNode): Converted {
    switch (node.type) {
      case 'ConstantNode':
        return this.constant(node);
      case 'SymbolNode': {
        const name = this.unalias(node.name ?? '');
        const tok = this.take((t) => t.kind === 'name' && t.text === name);
        const span = tok ?? this.here();
        return { expr: { kind: 'name', name, span }, span };
      }
      case 'ParenthesisNode': {
        const open = this.takeOp('(');
        const inner = this.convert(node.content!);
        const close = this.takeOp(')');
        const span = this.spanOf(open, inner.span, close);
        return { expr: { ...inner.expr, span }, span };
      }
      case 'OperatorNode':
        return this.operator(node);
      case 'FunctionNode':
        return this.call(node);
      case 'AccessorNode':
        return this.accessor(node);
      case 'RangeNode': {
        const parts = this.range(node);
        this.reject(parts.span, 'a range (`a:b`) is only allowed inside an index, like `x[a:b]`');
        return invalid(parts.span);
      }
      case 'ArrayNode': {
        // the whole literal, up to its matching `]`, is one error
        const span = this.skipGroup('[', ']');
        this.reject(span, 'matrix literals (`[1, 2]`) are not supported: declare the values as `data`');
        return invalid(span);
      }
      case 'ConditionalNode': {
        const c = this.convert(node.condition!).span;
        const q = this.takeOp('?');
        const a = this.convert(node.trueExpr!).span;
        this.takeOp(':');
        const b = this.convert(node.falseExpr!).span;
        this.reject(q ?? c, 'conditional expressions (`a ? b : c`) are not supported');
        return invalid(this.spanOf(c, a, b));
      }
      case 'RelationalNode': {
        const spans: Span[] = [];
        let opSpan: Span | null = null;
        (node.params as MathNode[] | undefined)?.forEach((p, k) => {
          if (k > 0) {
            const op = this.take((t) => t.kind === 'op' && /^[<>=!]=?$/.test(t.text));
            opSpan ??= op;
          }
          spans.push(this.convert(p).span);
        });
        const span = this.spanOf(...spans);
        this.reject(opSpan ?? span, 'comparisons are not supported');
        return invalid(span);
      }
      case 'AssignmentNode': {
        const target = this.convert(node.object!).span;
        if (node.index) this.index(node.index);
        const eq = this.takeOp('=');
        const value = this.convert(node.value as MathNode).span;
        this.reject(eq ?? target, 'assignments are not allowed inside an expression (a definition is `name = expression` on its own line)');
        return invalid(this.spanOf(target, value));
      }
      case 'FunctionAssignmentNode': {
        const name = this.take((t) => t.kind === 'name');
        const eq = this.takeOp('=');
        const body = this.convert(node.expr!).span;
        this.reject(eq ?? name ?? body, 'assignments are not allowed inside an expression');
        return invalid(this.spanOf(name, body));
      }
      case 'BlockNode': {
        const spans = (node.blocks ?? []).map((b) => this.convert(b.node).span);
        const semi = this.tokens.find((t) => t.text === ';');
        this.reject(semi ?? this.spanOf(...spans), 'one statement per line: `;` is not allowed');
        return invalid(this.spanOf(...spans));
      }
      case 'ObjectNode': {
        const span = this.skipGroup('{', '}');
        this.reject(span, 'objects (`{...}`) are not supported');
        return invalid(span);
      }
      default: {
        const span = this.here();
        this.reject(span, `this form (${node.type}) is not supported`);
        return invalid(span);
      }
    }
  }

  /** Takes the next `open` and everything up to its matching `close`; returns their span. */
  private skipGroup(open: string, close: string): Span {
    const first = this.takeOp(open);
    if (!first) return this.here();
    let depth = 0;
    for (let k = this.cursor - 1; k < this.tokens.length; k++) {
      const t = this.tokens[k]!;
      if (t.text === open) depth++;
      else if (t.text === close && --depth === 0) {
        this.cursor = k + 1;
        return { start: first.start, end: t.end };
      }
    }
    return first;
  }

  private unalias(name: string): string {
    return UNALIAS.get(name) ?? name;
  }

  private constant(node: MathNode): Converted {
    const tok = this.take((t) => t.kind === 'number' || t.kind === 'string' || t.kind === 'name');
    const span = tok ?? this.here();
    if (tok?.kind === 'string' || typeof node.value === 'string') {
      this.reject(span, 'strings are not supported');
      return invalid(span);
    }
    if (typeof node.value !== 'number' || tok?.kind !== 'number') {
      this.reject(span, `unexpected \`${tok?.text ?? String(node.value)}\``);
      return invalid(span);
    }
    if (!Number.isFinite(node.value)) {
      this.reject(span, `the number \`${tok.text}\` is too large`);
      return invalid(span);
    }
    return { expr: { kind: 'num', value: node.value, span }, span };
  }

  private operator(node: MathNode): Converted {
    const fn = typeof node.fn === 'string' ? node.fn : '';
    const op = node.op ?? '';
    const args = node.args ?? [];
    // 50% is parsed as 50 / 100 with a made-up 100
    if (node.isPercentage) {
      const a = this.convert(args[0]!);
      const pct = this.takeOp('%');
      this.reject(pct ?? a.span, '`%` is not supported');
      return invalid(this.spanOf(a.span, pct));
    }
    if (args.length === 1) {
      const postfix = fn === 'ctranspose' || fn === 'factorial' || fn === 'transpose';
      let opTok: Token | null = null;
      if (!postfix) opTok = this.takeOp(op);
      const a = this.convert(args[0]!);
      if (postfix) opTok = this.takeOp(op);
      const opSpan = opTok ?? a.span;
      const span = this.spanOf(a.span, opTok);
      if (fn === 'unaryMinus' || fn === 'unaryPlus' || fn === 'ctranspose' || fn === 'transpose') {
        const kind = fn === 'unaryMinus' ? 'neg' : fn === 'unaryPlus' ? 'plus' : 'transpose';
        return { expr: { kind, arg: a.expr, span, opSpan }, span };
      }
      this.reject(opSpan, this.unsupportedOperator(fn, op));
      return invalid(span);
    }
    const a = this.convert(args[0]!);
    const opTok = node.implicit ? null : this.takeOp(op);
    const b = this.convert(args[1]!);
    const span = this.spanOf(a.span, b.span);
    const opSpan = opTok ?? { start: a.span.end, end: b.span.start };
    if (node.implicit) {
      const left = spanText(this.stmt, a.span, 16);
      const right = spanText(this.stmt, b.span, 16);
      let message = `missing operator between \`${left}\` and \`${right}\`: implicit multiplication is not allowed; write \`${left} * ${right}\``;
      const rightName = args[1]!.type === 'SymbolNode' ? this.unalias(args[1]!.name ?? '') : null;
      if (rightName && MATHJS_WORDS.includes(rightName)) message += ` (\`${rightName}\` is not an operator in this language)`;
      // `2 x y` is one mistake, not two
      const leftNode = args[0]!;
      if (!(leftNode.type === 'OperatorNode' && leftNode.implicit)) this.reject(span, message);
      return invalid(span);
    }
    const binary = ALLOWED_BINARY[fn];
    if (binary === undefined || args.length !== 2) {
      this.reject(opTok ?? span, this.unsupportedOperator(fn, op));
      return invalid(span);
    }
    return { expr: { kind: 'binary', op: binary, a: a.expr, b: b.expr, span, opSpan }, span };
  }

  private unsupportedOperator(fn: string, op: string): string {
    if (fn === 'mod') return '`%` (modulo) is not supported';
    if (COMPARISONS.has(fn)) return `comparisons (\`${op}\`) are not supported`;
    if (BITWISE.has(fn)) return `bitwise operators (\`${op}\`) are not supported`;
    if (LOGICAL.has(fn)) return `logical operators (\`${op}\`) are not supported`;
    if (fn === 'factorial') return 'the factorial `!` is not supported';
    if (fn === 'to') return 'unit conversions are not supported';
    return `the operator \`${op}\` is not supported`;
  }

  private call(node: MathNode): Converted {
    const fnNode = node.fn as MathNode;
    let nameSpan: Span;
    let name: string | null = null;
    if (fnNode.type === 'SymbolNode') {
      name = this.unalias(fnNode.name ?? '');
      const n = name;
      nameSpan = this.take((t) => t.kind === 'name' && t.text === n) ?? this.here();
    } else {
      nameSpan = this.convert(fnNode).span;
    }
    const open = this.takeOp('(');
    const args = (node.args ?? []).map((a) => this.convert(a));
    const close = this.takeOp(')');
    const span = this.spanOf(nameSpan, open, close, ...args.map((a) => a.span));
    if (name === null) {
      this.reject(nameSpan, 'only a function name can be called, like `f(x)`');
      return invalid(span);
    }
    if (node.optionalChaining) {
      this.reject(nameSpan, 'optional chaining (`?.`) is not supported');
      return invalid(span);
    }
    return { expr: { kind: 'call', name, args: args.map((a) => a.expr), span, nameSpan }, span };
  }

  private accessor(node: MathNode): Converted {
    const obj = this.convert(node.object!);
    const { items, span: bracketSpan, ok } = this.index(node.index!);
    const span = this.spanOf(obj.span, bracketSpan);
    if (node.optionalChaining) {
      this.reject(bracketSpan, 'optional chaining (`?.`) is not supported');
      return invalid(span);
    }
    if (!ok) return invalid(span);
    return { expr: { kind: 'index', arg: obj.expr, indices: items, span, bracketSpan }, span };
  }

  private index(node: MathNode): { items: IndexItem[]; span: Span; ok: boolean } {
    if (node.dotNotation) {
      const dot = this.take((t) => t.kind === 'op' && (t.text === '.' || t.text === '?.'));
      const prop = this.take((t) => t.kind === 'name');
      const span = this.spanOf(dot, prop);
      this.reject(span, 'property access with `.` is not supported (element-wise operators are `.*`, `./`, `.^`)');
      return { items: [], span, ok: false };
    }
    const open = this.takeOp('[');
    const items: IndexItem[] = [];
    let ok = true;
    for (const [k, dim] of (node.dimensions ?? []).entries()) {
      if (k > 0) this.takeOp(',');
      if (dim.type === 'RangeNode') {
        const r = this.range(dim);
        if (!r.ok) ok = false;
        else if (r.start === undefined && r.end === undefined) items.push({ kind: 'all', span: r.span });
        else items.push({ kind: 'range', start: r.start ?? null, end: r.end ?? null, span: r.span });
      } else {
        const c = this.convert(dim);
        items.push({ kind: 'at', at: c.expr, span: c.span });
      }
    }
    const close = this.takeOp(']');
    const span = this.spanOf(open, close);
    if ((node.dimensions ?? []).length === 0) {
      this.reject(span, 'an index is missing inside `[]`');
      ok = false;
    }
    return { items, span, ok };
  }

  /** A range `a:b` inside an index; a bound that math.js made up (for `:`) is undefined. */
  private range(node: MathNode): { start: Expr | undefined; end: Expr | undefined; span: Span; ok: boolean } {
    let ok = true;
    let start: Expr | undefined;
    let end: Expr | undefined;
    const spans: (Span | null)[] = [];
    if (this.peek()?.text === ':') {
      // `:` or `:b`: math.js made up the start 1
    } else {
      const s = this.convert(node.start!);
      spans.push(s.span);
      start = s.expr;
    }
    spans.push(this.takeOp(':'));
    if (node.step) {
      const st = this.convert(node.step);
      spans.push(st.span, this.takeOp(':'));
      this.reject(st.span, 'ranges with a step (`a:step:b`) are not supported');
      ok = false;
    }
    const next = this.peek();
    if (next === undefined || next.text === ',' || next.text === ']' || next.text === ')') {
      // `:` or `a:`: math.js made up the end `end`
    } else {
      const e = this.convert(node.end!);
      spans.push(e.span);
      end = e.expr;
    }
    return { start, end, span: this.spanOf(...spans), ok };
  }
}
