// The statement forms: `dim`, `const`, `data`, `param`, definitions (`output NAME = …` marks one
// as a model output), functions, `minimize`.
// Each logical statement is tokenized, classified and its expression parsed; problems are
// reported and the statement is kept (as far as it could be read) so later lines still check.
import { tokenize, type Token } from './lexer.ts';
import { checkBrackets, parseExpression, type Expr } from './expressions.ts';
import { KEYWORDS, isKeyword, reservedReason } from './names.ts';
import type { Reporter, Span } from './report.ts';
import type { Statement } from './source.ts';
import { closest } from './suggest.ts';

/** A size inside a declaration's brackets. */
export type SizeRef =
  | { readonly kind: 'number'; readonly value: number; readonly span: Span }
  | { readonly kind: 'name'; readonly name: string; readonly span: Span };

interface Named {
  readonly stmt: Statement;
  /** The name the statement defines, or null when it has none (or an unusable one). */
  readonly name: string | null;
  readonly nameSpan: Span;
}

export type Stmt =
  | (Named & { readonly kind: 'dim'; readonly size: Expr | null; readonly hasSize: boolean; readonly ok: boolean })
  | (Named & { readonly kind: 'const'; readonly expr: Expr | null })
  | (Named & { readonly kind: 'data' | 'param'; readonly sizes: readonly SizeRef[] | null })
  /** `output`: the span of the `output` word when the definition is marked as a model output. */
  | (Named & { readonly kind: 'def'; readonly expr: Expr | null; readonly output?: Span })
  | (Named & { readonly kind: 'function'; readonly params: readonly { name: string; span: Span }[] | null; readonly expr: Expr | null })
  | { readonly kind: 'minimize'; readonly stmt: Statement; readonly keywordSpan: Span; readonly expr: Expr | null }
  /** Unreadable; `name` is what it seems to define (so later uses are not reported again). */
  | (Named & { readonly kind: 'invalid' });

export class StatementParser {
  constructor(private readonly reporter: Reporter) {}

  private error(stmt: Statement, span: Span, message: string): void {
    this.reporter.error(stmt, span, message);
  }

  /** The position just after the statement's last character. */
  private endSpan(stmt: Statement): Span {
    const end = stmt.text.trimEnd().length;
    return { start: end, end: end + 1 };
  }

  /** Checks a name being defined; returns it, or null (after reporting) when it is reserved. */
  private newName(stmt: Statement, tok: Token): string | null {
    const why = reservedReason(tok.text);
    if (why) {
      this.error(stmt, tok, `${why} and cannot be used as a name`);
      return null;
    }
    return tok.text;
  }

  private expression(stmt: Statement, tokens: readonly Token[], from: number, after: string): Expr | null {
    const rest = tokens.slice(from);
    if (rest.length === 0) {
      this.error(stmt, this.endSpan(stmt), `missing expression after ${after}`);
      return null;
    }
    return parseExpression(stmt, rest, this.reporter);
  }

  parse(stmt: Statement): Stmt {
    const { tokens, errors } = tokenize(stmt.text);
    const first = tokens[0];
    const second = tokens[1];
    const guessed = this.guessName(tokens);
    if (!first) {
      // nothing but characters outside the language
      for (const e of errors) this.error(stmt, e, e.message);
      return { kind: 'invalid', stmt, name: null, nameSpan: { start: 0, end: 1 } };
    }
    if (errors.length > 0) {
      for (const e of errors) this.error(stmt, e, e.message);
      // an objective with an error is still the objective (no "missing minimize" on top)
      if (first.text === 'minimize') return { kind: 'minimize', stmt, keywordSpan: first, expr: null };
      return { kind: 'invalid', stmt, name: guessed?.text ?? null, nameSpan: guessed ?? first };
    }
    // `output NAME = EXPR`: `output` is a keyword only in this form (three tokens), so that it
    // stays an ordinary name everywhere else (`output = …`, `output(x) = …`, uses in expressions).
    if (isOutputStatement(tokens)) {
      const nameTok = tokens[1]!;
      const name = this.newName(stmt, nameTok);
      const expr = this.expression(stmt, tokens, 3, '`=`');
      return { kind: 'def', stmt, name, nameSpan: nameTok, expr, output: first };
    }
    if (first.kind === 'name' && isKeyword(first.text)) {
      if (second && second.kind === 'op' && (second.text === '=' || (second.text === '(' && this.functionHeaderEnd(tokens) >= 0))) {
        this.error(stmt, first, `\`${first.text}\` is a keyword and cannot be used as a name`);
        checkBrackets(stmt, tokens, this.reporter);
        return { kind: 'invalid', stmt, name: null, nameSpan: first };
      }
      switch (first.text) {
        case 'dim':
          return this.dim(stmt, tokens);
        case 'const':
          return this.constant(stmt, tokens);
        case 'data':
        case 'param':
          return this.declaration(stmt, tokens, first.text);
        default: {
          const expr = this.expression(stmt, tokens, 1, '`minimize`');
          return { kind: 'minimize', stmt, keywordSpan: first, expr };
        }
      }
    }
    if (first.kind === 'name' && second?.kind === 'op' && second.text === '=') {
      const name = this.newName(stmt, first);
      const expr = this.expression(stmt, tokens, 2, '`=`');
      return { kind: 'def', stmt, name, nameSpan: first, expr };
    }
    if (first.kind === 'name' && second?.kind === 'op' && second.text === '(') {
      const fn = this.functionDefinition(stmt, tokens);
      if (fn) return fn;
    }
    return this.unknownStatement(stmt, tokens);
  }

  /** The name a statement seems to define, for statements that cannot be read. */
  private guessName(tokens: readonly Token[]): Token | null {
    const [a, b] = tokens;
    if (!a || a.kind !== 'name') return null;
    if (isOutputStatement(tokens)) return b!;
    if (isKeyword(a.text)) return a.text !== 'minimize' && b?.kind === 'name' ? b : null;
    if (b?.text === '=' || (b?.text === '(' && tokens.some((t) => t.text === '='))) return a;
    return null;
  }

  private dim(stmt: Statement, tokens: readonly Token[]): Stmt {
    const nameTok = tokens[1];
    if (!nameTok || nameTok.kind !== 'name') {
      this.error(stmt, nameTok ?? this.endSpan(stmt), 'expected a name after `dim`, like `dim N` or `dim H = 16`');
      return { kind: 'invalid', stmt, name: null, nameSpan: nameTok ?? tokens[0]! };
    }
    const name = this.newName(stmt, nameTok);
    const next = tokens[2];
    if (!next) return { kind: 'dim', stmt, name, nameSpan: nameTok, size: null, hasSize: false, ok: true };
    if (next.kind === 'op' && next.text === '=') {
      const size = this.expression(stmt, tokens, 3, '`=`');
      return { kind: 'dim', stmt, name, nameSpan: nameTok, size, hasSize: true, ok: size !== null };
    }
    this.error(stmt, next, `unexpected \`${next.text}\`: a dimension is declared as \`dim ${nameTok.text}\` (size given at run time) or \`dim ${nameTok.text} = 16\``);
    return { kind: 'dim', stmt, name, nameSpan: nameTok, size: null, hasSize: true, ok: false };
  }

  private constant(stmt: Statement, tokens: readonly Token[]): Stmt {
    const nameTok = tokens[1];
    if (!nameTok || nameTok.kind !== 'name') {
      this.error(stmt, nameTok ?? this.endSpan(stmt), 'expected a name after `const`, like `const lam = 0.01`');
      return { kind: 'invalid', stmt, name: null, nameSpan: nameTok ?? tokens[0]! };
    }
    const name = this.newName(stmt, nameTok);
    const eq = tokens[2];
    if (!eq || eq.kind !== 'op' || eq.text !== '=') {
      this.error(stmt, eq ?? this.endSpan(stmt), `expected \`=\` after \`const ${nameTok.text}\`: a constant needs a value, like \`const ${nameTok.text} = 0.01\``);
      return { kind: 'const', stmt, name, nameSpan: nameTok, expr: null };
    }
    const expr = this.expression(stmt, tokens, 3, '`=`');
    return { kind: 'const', stmt, name, nameSpan: nameTok, expr };
  }

  private declaration(stmt: Statement, tokens: readonly Token[], which: 'data' | 'param'): Stmt {
    const nameTok = tokens[1];
    if (!nameTok || nameTok.kind !== 'name') {
      this.error(stmt, nameTok ?? this.endSpan(stmt), `expected a name after \`${which}\`, like \`${which} W[3, 8]\``);
      return { kind: 'invalid', stmt, name: null, nameSpan: nameTok ?? tokens[0]! };
    }
    const name = this.newName(stmt, nameTok);
    const open = tokens[2];
    if (!open) return { kind: which, stmt, name, nameSpan: nameTok, sizes: [] };
    if (open.kind !== 'op' || open.text !== '[') {
      const hint = open.text === '=' ? `: \`${which}\` declarations take no value` : `: write \`${which} ${nameTok.text}[d1, d2]\``;
      this.error(stmt, open, `unexpected \`${open.text}\` after \`${which} ${nameTok.text}\`${hint}`);
      return { kind: which, stmt, name, nameSpan: nameTok, sizes: null };
    }
    const closeAt = tokens.findIndex((t, k) => k > 2 && t.text === ']');
    if (closeAt < 0) {
      this.error(stmt, open, '`[` is never closed: add `]`');
      return { kind: which, stmt, name, nameSpan: nameTok, sizes: null };
    }
    let ok = true;
    const inside = tokens.slice(3, closeAt);
    const groups: Token[][] = [[]];
    for (const t of inside) {
      if (t.text === ',') groups.push([]);
      else groups[groups.length - 1]!.push(t);
    }
    const bracketSpan: Span = { start: open.start, end: tokens[closeAt]!.end };
    const sizes: SizeRef[] = [];
    if (inside.length === 0) {
      this.error(stmt, bracketSpan, `empty shape \`[]\`: for a scalar write \`${which} ${nameTok.text}\` without brackets`);
      ok = false;
    } else {
      for (const g of groups) {
        const t = g[0];
        if (!t) {
          const at = inside.find((x) => x.text === ',') ?? open;
          this.error(stmt, at, 'a size is missing in the shape');
          ok = false;
          continue;
        }
        const span: Span = { start: t.start, end: g[g.length - 1]!.end };
        if (g.length > 1 || (t.kind !== 'number' && t.kind !== 'name')) {
          this.error(stmt, span, 'a size must be a whole number or a name declared with `dim`');
          ok = false;
        } else if (t.kind === 'number') {
          const value = Number(t.text);
          if (!Number.isInteger(value) || value < 1) {
            this.error(stmt, span, `a size must be a positive whole number, not \`${t.text}\``);
            ok = false;
          } else {
            sizes.push({ kind: 'number', value, span });
          }
        } else {
          sizes.push({ kind: 'name', name: t.text, span });
        }
      }
      if (groups.length > 2) {
        this.error(stmt, bracketSpan, `a value has at most 2 axes (a vector \`[n]\` or a matrix \`[m, n]\`), but this shape has ${groups.length}`);
        ok = false;
      }
    }
    const extra = tokens[closeAt + 1];
    if (extra) {
      this.error(stmt, { start: extra.start, end: tokens[tokens.length - 1]!.end }, `unexpected \`${extra.text}\` after the declaration of \`${nameTok.text}\` (one declaration per line)`);
      ok = false;
    }
    return { kind: which, stmt, name, nameSpan: nameTok, sizes: ok ? sizes : null };
  }

  /** For `NAME(...) = ...`: the index of the `)` closing the header; else -1. */
  private functionHeaderEnd(tokens: readonly Token[]): number {
    let depth = 0;
    for (let k = 1; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (t.text === '(' || t.text === '[') depth++;
      else if (t.text === ')' || t.text === ']') depth--;
      if (depth === 0) {
        const eq = tokens[k + 1];
        return eq && eq.kind === 'op' && eq.text === '=' ? k : -1;
      }
    }
    return -1;
  }

  /** `f(a, b) = EXPR`, or null when the tokens are not a function definition. */
  private functionDefinition(stmt: Statement, tokens: readonly Token[]): Stmt | null {
    const close = this.functionHeaderEnd(tokens);
    if (close < 0) return null;
    const nameTok = tokens[0]!;
    const name = this.newName(stmt, nameTok);
    const inside = tokens.slice(2, close);
    const params: { name: string; span: Span }[] = [];
    let ok = true;
    const groups: Token[][] = inside.length ? [[]] : [];
    for (const t of inside) {
      if (t.text === ',') groups.push([]);
      else groups[groups.length - 1]!.push(t);
    }
    for (const g of groups) {
      const t = g[0];
      if (!t || g.length > 1 || t.kind !== 'name') {
        const span = t ? { start: t.start, end: g[g.length - 1]!.end } : tokens[1]!;
        this.error(stmt, span, `the arguments of a function definition must be names, like \`${nameTok.text}(a, b) = ...\``);
        ok = false;
        continue;
      }
      const why = reservedReason(t.text);
      if (why) {
        this.error(stmt, t, `${why} and cannot be used as an argument name`);
        ok = false;
      } else if (params.some((p) => p.name === t.text)) {
        this.error(stmt, t, `the argument \`${t.text}\` appears twice`);
        ok = false;
      } else {
        params.push({ name: t.text, span: t });
      }
    }
    const expr = this.expression(stmt, tokens, close + 2, '`=`');
    return { kind: 'function', stmt, name, nameSpan: nameTok, params: ok ? params : null, expr };
  }

  private unknownStatement(stmt: Statement, tokens: readonly Token[]): Stmt {
    const first = tokens[0]!;
    const second = tokens[1];
    const guessed = this.guessName(tokens);
    const invalid: Stmt = { kind: 'invalid', stmt, name: guessed?.text ?? null, nameSpan: guessed ?? first };
    if (first.kind === 'name') {
      const keyword = closest(first.text, KEYWORDS);
      if (keyword && second && (second.kind !== 'op' || keyword === 'minimize')) {
        this.error(stmt, first, `unknown statement \`${first.text}\`; did you mean \`${keyword}\`?`);
        if (keyword === 'minimize') return { kind: 'minimize', stmt, keywordSpan: first, expr: null };
        // `parm x[3]` still declares x, as far as later lines are concerned
        return second.kind === 'name' ? { kind: 'invalid', stmt, name: second.text, nameSpan: second } : invalid;
      }
      // `paramw[2]`: a keyword glued to the name
      const glued = KEYWORDS.find((k) => first.text.startsWith(k) && first.text.length > k.length);
      if (glued && (!second || second.text === '[')) {
        const rest = first.text.slice(glued.length);
        this.error(stmt, first, `unknown statement \`${first.text}\`; did you mean \`${glued} ${rest}\` (with a space)?`);
        return { kind: 'invalid', stmt, name: rest, nameSpan: first };
      }
      if (second?.text === '[') {
        const eq = tokens.find((t) => t.text === '=');
        if (eq) {
          this.error(stmt, { start: first.start, end: eq.start }, `cannot assign to part of \`${first.text}\`: define a new name instead (\`name = expression\`)`);
          return invalid;
        }
      }
      if (second?.text === '(') {
        this.error(stmt, { start: first.start, end: tokens[tokens.length - 1]!.end }, 'an expression alone is not a statement: write `name = expression`, or `minimize expression` for the objective');
        return invalid;
      }
      if (second && second.kind === 'name' && tokens.length === 2) {
        this.error(stmt, first, `unknown statement \`${first.text}\`: expected \`=\` after \`${first.text}\`, or a declaration (${KEYWORDS.slice(0, 4).map((k) => `\`${k}\``).join(', ')})`);
        return invalid;
      }
    }
    if (first.text === '=') {
      this.error(stmt, first, 'a name is missing before `=`');
      return invalid;
    }
    const span = first.kind === 'name' && second ? second : first;
    const what = first.kind === 'name' && second ? `\`${second.text}\` after \`${first.text}\`` : `\`${first.text}\``;
    this.error(stmt, span, `unexpected ${what}: a statement is \`name = expression\`, \`f(a, b) = expression\`, a declaration (\`dim\`, \`const\`, \`data\`, \`param\`) or \`minimize expression\``);
    return invalid;
  }
}

/** `output NAME = …`: a definition marked as a model output. */
export function isOutputStatement(tokens: readonly Token[]): boolean {
  const [a, b, c] = tokens;
  return a?.kind === 'name' && a.text === 'output' && b?.kind === 'name' && c?.kind === 'op' && c.text === '=';
}
