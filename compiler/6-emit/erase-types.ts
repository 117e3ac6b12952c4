// TypeScript module -> the same module as JavaScript (`--emit js`), by erasing its types.
//
// The emitters write TypeScript; rather than teach each of them a second dialect, this pass
// removes exactly the type syntax from their output and leaves every other character where it
// was, so the JavaScript keeps the header, the comments and the layout of the loops. It runs in
// the compiler itself (also in a browser page: no esbuild or TypeScript at run time) and covers
// the TypeScript the emitters write: interfaces and type aliases, type-only imports and exports,
// annotations on parameters, return types and variables, `as` / `satisfies`, non-null `!` and
// explicit type arguments of calls (`f<T>(...)`). Anything it cannot place throws instead of
// guessing. test/cli/emit-js.test.ts checks it against esbuild's own TypeScript loader on every
// test model, both targets.

export interface Token {
  readonly kind: 'id' | 'num' | 'str' | 'tpl' | 'punct' | 'comment' | 'ws';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const PUNCTUATORS = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<',
];

/** Tokens of a module, whitespace and comments included, so that start/end index the source. `>` is always one token. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const templateDepths: number[] = []; // brace depth at each open `${`
  let depth = 0;
  let i = 0;
  const push = (kind: Token['kind'], start: number, end: number): void => {
    tokens.push({ kind, text: src.slice(start, end), start, end });
  };
  const templateChunk = (start: number): void => {
    // From just after "`" or "}" up to and including "`" or "${".
    let j = start;
    for (;;) {
      if (j >= src.length) throw new EraseError('unterminated template literal', src, start);
      const c = src[j]!;
      if (c === '\\') j += 2;
      else if (c === '`') {
        j++;
        break;
      } else if (c === '$' && src[j + 1] === '{') {
        j += 2;
        templateDepths.push(depth);
        depth++;
        break;
      } else j++;
    }
    return void push('tpl', i, (i = j));
  };
  while (i < src.length) {
    const c = src[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      push('ws', start, i);
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      push('comment', start, i);
    } else if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) throw new EraseError('unterminated comment', src, i);
      i = close + 2;
      push('comment', start, i);
    } else if (c === '"' || c === "'") {
      i++;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) throw new EraseError('unterminated string', src, start);
      i++;
      push('str', start, i);
    } else if (c === '`') {
      templateChunk(i + 1);
    } else if (c === '}' && templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === depth - 1) {
      templateDepths.pop();
      depth--;
      templateChunk(i + 1);
    } else if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      while (i < src.length && /[\w$\u0080-\uffff]/.test(src[i]!)) i++;
      push('id', start, i);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      while (i < src.length && /[\w.]/.test(src[i]!)) {
        if ((src[i] === 'e' || src[i] === 'E') && (src[i + 1] === '+' || src[i + 1] === '-')) i++;
        i++;
      }
      push('num', start, i);
    } else {
      const p = PUNCTUATORS.find((s) => src.startsWith(s, i)) ?? c;
      if (p === '{' || p === '(' || p === '[') depth++;
      else if (p === '}' || p === ')' || p === ']') depth--;
      i += p.length;
      push('punct', start, i);
    }
  }
  return tokens;
}

export class EraseError extends Error {
  constructor(what: string, src: string, at: number) {
    const before = src.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    super(`internal: cannot erase the types of the generated module at ${line}:${column}: ${what}`);
  }
}

const KEYWORDS = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'export', 'extends',
  'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'let', 'new', 'return', 'super', 'switch', 'throw',
  'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'await', 'of',
]);

/** The significant tokens (no whitespace, no comments) with their bracket partners. */
export class TokenView {
  readonly all: Token[];
  readonly toks: Token[];
  readonly partner: number[];
  constructor(readonly src: string) {
    this.all = tokenize(src);
    this.toks = this.all.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
    this.partner = new Array<number>(this.toks.length).fill(-1);
    const stack: number[] = [];
    this.toks.forEach((t, k) => {
      if (t.kind !== 'punct') return;
      if (t.text === '(' || t.text === '[' || t.text === '{') stack.push(k);
      else if (t.text === ')' || t.text === ']' || t.text === '}') {
        const open = stack.pop();
        if (open === undefined) throw new EraseError(`unbalanced '${t.text}'`, src, t.start);
        this.partner[open] = k;
        this.partner[k] = open;
      }
    });
    if (stack.length > 0) throw new EraseError('unclosed bracket', src, this.toks[stack[0]!]!.start);
  }
  is(k: number, text: string): boolean {
    const t = this.toks[k];
    return t !== undefined && t.text === text && (t.kind === 'punct' || t.kind === 'id');
  }
  text(k: number): string {
    return this.toks[k]?.text ?? '';
  }
  fail(k: number, what: string): never {
    throw new EraseError(what, this.src, this.toks[k]?.start ?? this.src.length);
  }
  /** Closing partner of the bracket at k. */
  close(k: number): number {
    const p = this.partner[k]!;
    if (p < 0) this.fail(k, 'expected a bracket');
    return p;
  }

  /** Index just past the type that starts at k. */
  skipType(k: number): number {
    if (this.is(k, '|') || this.is(k, '&')) k++;
    k = this.skipTypeOperand(k);
    while (this.is(k, '|') || this.is(k, '&')) k = this.skipTypeOperand(k + 1);
    if (this.is(k, 'extends')) {
      k = this.skipType(k + 1);
      if (!this.is(k, '?')) this.fail(k, "expected '?' in a conditional type");
      k = this.skipType(k + 1);
      if (!this.is(k, ':')) this.fail(k, "expected ':' in a conditional type");
      k = this.skipType(k + 1);
    }
    return k;
  }
  private skipTypeOperand(k: number): number {
    while (['readonly', 'keyof', 'unique', 'infer'].includes(this.text(k)) && this.toks[k]!.kind === 'id') k++;
    const t = this.toks[k];
    if (t === undefined) this.fail(k, 'expected a type');
    if (t.text === 'new' && this.is(k + 1, '(')) k++;
    if (this.is(k, '(')) {
      k = this.close(k) + 1;
      if (this.is(k, '=>')) return this.skipType(k + 1);
    } else if (this.is(k, '{') || this.is(k, '[')) {
      k = this.close(k) + 1;
    } else if (t.kind === 'str' || t.kind === 'num' || (t.kind === 'tpl' && t.text.endsWith('`'))) {
      k++;
    } else if (t.text === '-' && this.toks[k + 1]?.kind === 'num') {
      k += 2;
    } else if (t.text === 'typeof') {
      k = this.skipDotted(k + 1);
    } else if (t.kind === 'id') {
      k = this.skipDotted(k);
      if (this.is(k, '<')) k = this.skipTypeArguments(k);
    } else this.fail(k, 'expected a type');
    while (this.is(k, '[') && this.toks[k - 1]!.end === this.toks[k]!.start) k = this.close(k) + 1;
    return k;
  }
  private skipDotted(k: number): number {
    if (this.toks[k]?.kind !== 'id') this.fail(k, 'expected a name');
    k++;
    while (this.is(k, '.') && this.toks[k + 1]?.kind === 'id') k += 2;
    return k;
  }
  /** `<A, B>` at k: the index past `>`. */
  skipTypeArguments(k: number): number {
    k++;
    for (;;) {
      k = this.skipType(k);
      if (this.is(k, ',')) k++;
      else if (this.is(k, '>')) return k + 1;
      else this.fail(k, "expected '>' after type arguments");
    }
  }
  /** skipTypeArguments, or -1 when k does not start type arguments. */
  tryTypeArguments(k: number): number {
    try {
      return this.skipTypeArguments(k);
    } catch (err) {
      if (err instanceof EraseError) return -1;
      throw err;
    }
  }
  /** Does the previous token end an expression (so that `as`, `!` or `<` after it are TypeScript's)? */
  endsExpression(k: number): boolean {
    const t = this.toks[k];
    if (t === undefined) return false;
    if (t.kind === 'id') return !KEYWORDS.has(t.text) || t.text === 'this' || t.text === 'super';
    if (t.kind === 'num' || t.kind === 'str') return true;
    if (t.kind === 'tpl') return t.text.endsWith('`');
    return t.text === ')' || t.text === ']';
  }
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The module with its types erased. */
export function eraseTypes(src: string): string {
  const v: TokenView = new TokenView(src);
  const { toks } = v;
  const edits: Edit[] = [];
  const skipTo = new Map<number, number>(); // token index -> first token after an erased range
  const cutTokens = (from: number, to: number, opts: { wholeLines?: boolean; fromPrevEnd?: boolean } = {}): void => {
    // Tokens [from, to); with fromPrevEnd the space before them goes too (` as T`).
    let start = opts.fromPrevEnd ? toks[from - 1]!.end : toks[from]!.start;
    let end = toks[to - 1]!.end;
    if (opts.wholeLines) [start, end] = wholeLines(src, start, end);
    edits.push({ start, end, text: '' });
    skipTo.set(from, to);
  };

  /** Annotations in the parameter list that opens at k. */
  const params = (k: number): void => {
    const close = v.close(k);
    let at = k + 1;
    while (at < close) {
      if (v.is(at, '...')) at++;
      if (toks[at]!.kind === 'id' && ['public', 'private', 'protected', 'readonly', 'override'].includes(toks[at]!.text) && toks[at + 1]?.kind === 'id') {
        v.fail(at, 'parameter properties are not erasable');
      }
      let after = v.is(at, '{') || v.is(at, '[') ? v.close(at) + 1 : at + 1;
      if (v.is(after, '?') && (v.is(after + 1, ':') || v.is(after + 1, ',') || after + 1 === close)) {
        cutTokens(after, after + 1);
        after++;
      }
      if (v.is(after, ':')) {
        const end = v.skipType(after + 1);
        cutTokens(after, end);
        after = end;
      }
      // Skip a default value to the next parameter (the main loop still erases inside it).
      let next = after;
      while (next < close && !v.is(next, ',')) next = v.is(next, '(') || v.is(next, '[') || v.is(next, '{') ? v.close(next) + 1 : next + 1;
      at = next + 1;
    }
    // Return type.
    if (v.is(close + 1, ':')) cutTokens(close + 1, v.skipType(close + 2));
  };

  /** The end (exclusive) of the statement starting at k: past `;` at its depth, or past a closing brace block. */
  const statementEnd = (k: number): number => {
    let at = k;
    while (at < toks.length) {
      if (v.is(at, ';')) return at + 1;
      if (v.is(at, '(') || v.is(at, '[')) at = v.close(at) + 1;
      else if (v.is(at, '{')) {
        at = v.close(at) + 1;
        // An interface or declare block ends at its brace unless `;` follows.
        if (!v.is(at, ';') && toks[at] !== undefined && toks[at - 1]!.end < toks[at]!.start && /\n/.test(src.slice(toks[at - 1]!.end, toks[at]!.start))) return at;
      } else at++;
    }
    return at;
  };

  let k = 0;
  while (k < toks.length) {
    const jump = skipTo.get(k);
    if (jump !== undefined) {
      k = jump;
      continue;
    }
    const t = toks[k]!;
    const prev = toks[k - 1];
    const atStatement = prev === undefined || prev.text === ';' || prev.text === '}' || prev.text === '{';

    if (atStatement && t.kind === 'id') {
      const declAt = t.text === 'export' ? k + 1 : k;
      const word = v.text(declAt);
      const isTypeAlias = word === 'type' && toks[declAt + 1]?.kind === 'id' && (v.is(declAt + 2, '=') || v.is(declAt + 2, '<'));
      const isTypeExport = t.text === 'export' && word === 'type' && v.is(declAt + 1, '{');
      const isInterface = word === 'interface' && toks[declAt + 1]?.kind === 'id';
      if (isTypeAlias || isTypeExport || isInterface || word === 'declare' || (t.text === 'import' && v.is(k + 1, 'type') && !v.is(k + 2, ','))) {
        const end = isInterface ? v.close(statementBrace(v, declAt)) + 1 + (v.is(v.close(statementBrace(v, declAt)) + 1, ';') ? 1 : 0) : statementEnd(declAt);
        cutTokens(k, end, { wholeLines: true });
        k = end;
        continue;
      }
      if (word === 'enum' || word === 'namespace' || word === 'module' || word === 'abstract') v.fail(declAt, `'${word}' is not erasable`);
      if (t.text === 'import' && v.is(k + 1, '{')) {
        const close = v.close(k + 1);
        const kept: string[] = [];
        let dropped = false;
        let at = k + 2;
        while (at < close) {
          let end = at;
          while (end < close && !v.is(end, ',')) end++;
          if (v.is(at, 'type') && end > at + 1) dropped = true;
          else kept.push(src.slice(toks[at]!.start, toks[end - 1]!.end));
          at = end + 1;
        }
        if (dropped) {
          edits.push({ start: toks[k + 1]!.start, end: toks[close]!.end, text: kept.length > 0 ? `{ ${kept.join(', ')} }` : '{}' });
          skipTo.set(k + 1, close + 1);
        }
        k++;
        continue;
      }
    }

    if (t.kind === 'id' && t.text === 'function') {
      let at = k + 1;
      if (v.is(at, '*')) at++;
      if (toks[at]?.kind === 'id') at++;
      if (v.is(at, '<')) {
        const end = v.skipTypeArguments(at);
        cutTokens(at, end);
        at = end;
      }
      if (!v.is(at, '(')) v.fail(at, "expected '(' after function");
      params(at);
      // An overload signature (no body) goes entirely.
      const close = v.close(at);
      const afterReturn = v.is(close + 1, ':') ? v.skipType(close + 2) : close + 1;
      if (v.is(afterReturn, ';')) v.fail(k, 'function overloads are not supported');
      k = at;
      continue;
    }

    if (t.kind === 'id' && (t.text === 'const' || t.text === 'let' || t.text === 'var') && !v.is(k + 1, 'enum')) {
      declarator(k + 1);
      k++;
      continue;
    }
    if (v.is(k, ',') && toks[k + 1]?.kind === 'id' && (v.is(k + 2, ':') || (v.is(k + 2, '!') && v.is(k + 3, ':'))) && inDeclarationList(k)) {
      declarator(k + 1);
      k++;
      continue;
    }

    if (v.is(k, '(') && !(prev?.kind === 'id' && ['if', 'while', 'for', 'switch', 'with', 'function'].includes(prev.text))) {
      const close = v.close(k);
      if (prev?.text === 'catch') {
        if (v.is(k + 2, ':')) cutTokens(k + 2, v.skipType(k + 3));
      } else if (v.is(close + 1, '=>') || (v.is(close + 1, ':') && arrowAfterType(close + 2))) {
        params(k);
      } else if (prev?.kind === 'id' && !KEYWORDS.has(prev.text) && (v.is(close + 1, '{') || v.is(close + 1, ':')) && isMember(k - 1)) {
        params(k);
      }
      k++;
      continue;
    }

    if (t.kind === 'id' && (t.text === 'as' || t.text === 'satisfies') && v.endsExpression(k - 1)) {
      const end = v.is(k + 1, 'const') ? k + 2 : v.skipType(k + 1);
      cutTokens(k, end, { fromPrevEnd: true });
      k = end;
      continue;
    }
    if (v.is(k, '!') && prev !== undefined && prev.end === t.start && v.endsExpression(k - 1)) {
      cutTokens(k, k + 1);
      k++;
      continue;
    }
    if (v.is(k, '<') && prev?.kind === 'id' && prev.end === t.start && !KEYWORDS.has(prev.text)) {
      const end = v.tryTypeArguments(k);
      if (end > 0 && v.is(end, '(')) {
        cutTokens(k, end);
        k = end;
        continue;
      }
    }
    k++;
  }

  function declarator(at: number): void {
    let after = v.is(at, '{') || v.is(at, '[') ? v.close(at) + 1 : at + 1;
    if (v.is(after, '!') && v.is(after + 1, ':')) {
      cutTokens(after, after + 1);
      after++;
    }
    if (v.is(after, ':')) cutTokens(after, v.skipType(after + 1));
  }
  function inDeclarationList(comma: number): boolean {
    // Walk back at the comma's depth to the statement start: a const/let/var there means a declarator.
    let at = comma - 1;
    while (at >= 0) {
      const t = toks[at]!;
      if (t.text === ')' || t.text === ']' || t.text === '}') {
        at = v.partner[at]! - 1;
        continue;
      }
      if (t.text === '(' || t.text === '[' || t.text === '{' || t.text === ';') return false;
      if (t.kind === 'id' && (t.text === 'const' || t.text === 'let' || t.text === 'var')) return true;
      at--;
    }
    return false;
  }
  function arrowAfterType(at: number): boolean {
    try {
      return v.is(v.skipType(at), '=>');
    } catch (err) {
      if (err instanceof EraseError) return false;
      throw err;
    }
  }
  function isMember(nameAt: number): boolean {
    // `name(...) {` is a method only inside an object literal or class body.
    const before = toks[nameAt - 1];
    return before !== undefined && (before.text === '{' || before.text === ',' || before.text === '}' || before.text === ';');
  }

  return applyEdits(src, edits);
}

/** The `{` that opens the body of the interface declared at k. */
function statementBrace(v: TokenView, k: number): number {
  let at = k;
  while (at < v.toks.length && !v.is(at, '{')) at = v.is(at, '<') ? v.skipTypeArguments(at) : at + 1;
  if (at >= v.toks.length) v.fail(k, 'expected an interface body');
  return at;
}

/**
 * [start, end) widened to whole lines when only whitespace shares them, plus the comment lines
 * right above (the doc comment of what is erased) and one blank line when the cut leaves two.
 */
function wholeLines(src: string, start: number, end: number): [number, number] {
  const lineStart = src.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = src.indexOf('\n', end);
  if (lineEnd < 0) lineEnd = src.length;
  if (src.slice(lineStart, start).trim() !== '' || src.slice(end, lineEnd).trim() !== '') return [start, end];
  let s = lineStart;
  let e = Math.min(lineEnd + 1, src.length);
  // Attached comments: lines directly above that are comments (a `/** ... */` block or `//` lines).
  for (;;) {
    if (s === 0) break;
    const prevStart = src.lastIndexOf('\n', s - 2) + 1;
    const prevLine = src.slice(prevStart, s - 1).trim();
    if (prevLine.startsWith('//') || prevLine.startsWith('/*') || prevLine.startsWith('*')) {
      if (prevLine.startsWith('*') && !prevLine.startsWith('*/') && !prevLine.startsWith('* ') && prevLine !== '*') break;
      s = prevStart;
      if (prevLine.startsWith('/*') || prevLine.startsWith('//')) {
        if (prevLine.startsWith('/*')) break;
        continue;
      }
      continue;
    }
    break;
  }
  // Do not take the file's header comment: it is followed by a blank line, so it never attaches.
  const blankBefore = s >= 2 && src[s - 1] === '\n' && src[s - 2] === '\n';
  const blankAfter = src[e] === '\n';
  if ((blankBefore || s === 0) && blankAfter) e++;
  return [s, e];
}

function applyEdits(src: string, edits: Edit[]): string {
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    if (e.start < at) {
      if (e.end <= at) continue; // inside a wider cut
      throw new EraseError('overlapping edits', src, e.start);
    }
    out += src.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + src.slice(at);
}
