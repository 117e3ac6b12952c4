// Tokens of a statement's text. The rules follow math.js's own tokenizer closely (so that each
// math.js node can be matched back to the token it came from) but only the language's alphabet
// is accepted: anything else is a lexical error with its exact position.

import { isKeyword } from './names.ts';

export type TokenKind = 'name' | 'number' | 'op' | 'string';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number; // offset in the statement text
  readonly end: number; // exclusive
}

export interface LexError {
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

const THREE_CHAR_OPS = ['>>>'];
const TWO_CHAR_OPS = ['.*', './', '.^', '^|', '==', '!=', '<=', '>=', '<<', '>>', '??', '?.'];
const ONE_CHAR_OPS = ",()[]{};+-*/%^~!&|=:?<>.";

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z_]$/.test(c);
const isNameChar = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
/** A `.` that is a decimal point, not the start of `.*`, `./` or `.^` (math.js's rule). */
const isDecimalMark = (c: string | undefined, next: string | undefined): boolean =>
  c === '.' && next !== '*' && next !== '/' && next !== '^';

/** Whether a `'` after this token is a transpose (otherwise it would start a string). */
function endsOperand(t: Token | undefined): boolean {
  if (!t) return false;
  if (t.kind === 'name') return !isKeyword(t.text);
  if (t.kind === 'number' || t.kind === 'string') return true;
  return t.text === ')' || t.text === ']' || t.text === "'" || t.text === '}';
}

function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  if (code < 32 || code === 127) return `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code === 0xa0) return 'non-breaking space';
  return `character \`${c}\``;
}

export function tokenize(text: string): { tokens: Token[]; errors: LexError[] } {
  const tokens: Token[] = [];
  const errors: LexError[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number): void => {
    tokens.push({ kind, text: text.slice(start, end), start, end });
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const start = i;
    // names
    if (isNameStart(c)) {
      while (isNameChar(text[i])) i++;
      // a letter math.js would accept but the language does not (é, α, $...) glued to the name
      push('name', start, i);
      continue;
    }
    // numbers
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      const radix = text.slice(i, i + 2);
      if (radix === '0x' || radix === '0b' || radix === '0o') {
        i += 2;
        while (isNameChar(text[i]) || text[i] === '.') i++;
        errors.push({ start, end: i, message: `\`${text.slice(start, i)}\`: only decimal numbers are allowed (like 3, 2.5, .5, 1e-3)` });
        push('number', start, i);
        continue;
      }
      if (c === '.') {
        i++;
      } else {
        while (isDigit(text[i])) i++;
        if (isDecimalMark(text[i], text[i + 1])) i++;
      }
      while (isDigit(text[i])) i++;
      if ((text[i] === 'e' || text[i] === 'E') && (isDigit(text[i + 1]) || text[i + 1] === '+' || text[i + 1] === '-')) {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (!isDigit(text[i])) {
          errors.push({ start, end: i, message: `\`${text.slice(start, i)}\` is not a number: the exponent needs digits (like 1e-3)` });
          push('number', start, i);
          continue;
        }
        while (isDigit(text[i])) i++;
        // `1e0.*x` is `1e0 .* x`: only a decimal mark after the exponent is an error.
        if (isDecimalMark(text[i], text[i + 1])) {
          while (isDigit(text[i + 1]) || text[i + 1] === '.') i++;
          i++;
          errors.push({ start, end: i, message: `\`${text.slice(start, i)}\` is not a number: the exponent must be a whole number` });
          push('number', start, i);
          continue;
        }
      }
      push('number', start, i);
      continue;
    }
    // strings (and the transpose quote)
    if (c === '"' || (c === "'" && !endsOperand(tokens[tokens.length - 1]))) {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i = Math.min(i + 1, text.length);
      push('string', start, i);
      continue;
    }
    if (c === "'") {
      i++;
      push('op', start, i);
      continue;
    }
    // operators and punctuation
    const three = text.slice(i, i + 3);
    const two = text.slice(i, i + 2);
    if (THREE_CHAR_OPS.includes(three)) {
      i += 3;
    } else if (TWO_CHAR_OPS.includes(two) && !(two === '?.' && isDigit(text[i + 2]))) {
      i += 2;
    } else if (ONE_CHAR_OPS.includes(c)) {
      i += 1;
    } else {
      // anything else: one (possibly astral) character
      const cp = text.codePointAt(i) ?? 0;
      i += cp > 0xffff ? 2 : 1;
      const ch = text.slice(start, i);
      const letter = /\p{L}/u.test(ch) || ch === '$';
      errors.push({
        start,
        end: i,
        message: letter
          ? `${describeChar(ch)} is not allowed: names use only A-Z, a-z, 0-9 and _`
          : `unexpected ${describeChar(ch)}`,
      });
      continue;
    }
    push('op', start, i);
  }
  return { tokens, errors };
}

/** Operators that continue a statement on the next line when a line ends with them. */
export const CONTINUATION_OPS: readonly string[] = ['+', '-', '*', '/', '^', '.*', './', '.^', ','];

export const OPENERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' };
export const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };
