// Source text -> logical statements: comments removed, continuation lines joined, and a map from
// every character of a statement back to its line and column in the file.
import { CONTINUATION_OPS, OPENERS, CLOSERS, tokenize } from './lexer.ts';
import { isKeyword } from './names.ts';

export interface Statement {
  /** The statement's text: its physical lines without comments, joined by single spaces. */
  readonly text: string;
  /** 1-based line of each character of `text` (one more entry for the end of the text). */
  readonly lineOf: readonly number[];
  /** 1-based column of each character of `text` (one more entry for the end of the text). */
  readonly columnOf: readonly number[];
  readonly firstLine: number;
}

export interface SourceFile {
  readonly lines: readonly string[]; // physical lines, without line terminators
  readonly statements: readonly Statement[];
}

/** The part of a physical line before its comment. */
function codeOf(line: string): string {
  const hash = line.indexOf('#');
  return hash < 0 ? line : line.slice(0, hash);
}

const isBlank = (code: string): boolean => code.trim() === '';

/** Bracket depth change and last token of one line of code. */
function scanLine(code: string): { depth: number; last: string | undefined; lastKind: string | undefined } {
  const { tokens } = tokenize(code);
  let depth = 0;
  for (const t of tokens) {
    if (t.kind !== 'op') continue;
    if (OPENERS[t.text] !== undefined) depth++;
    else if (CLOSERS[t.text] !== undefined) depth--;
  }
  const last = tokens[tokens.length - 1];
  return { depth, last: last?.text, lastKind: last?.kind };
}

/**
 * Whether a line clearly starts a new statement (a keyword, `name =` or `output name =`), so that an unclosed
 * bracket or a dangling operator on the lines before it does not swallow it.
 */
function startsStatement(code: string): boolean {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(\s*)(=?)(=?)/.exec(code);
  if (!m) return false;
  const word = m[1]!;
  if (isKeyword(word) && (m[2] !== '' || code.trim() === word)) return true;
  if (word === 'output' && /^\s*output\s+[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)/.test(code)) return true;
  return m[3] === '=' && m[4] === '';
}

export function splitSource(source: string): SourceFile {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const lines = text.split(/\r\n|\r|\n/);
  const statements: Statement[] = [];
  let k = 0;
  while (k < lines.length) {
    const code = codeOf(lines[k]!);
    if (isBlank(code)) {
      k++;
      continue;
    }
    const parts: { line: number; code: string }[] = [{ line: k + 1, code }];
    let { depth, last, lastKind } = scanLine(code);
    k++;
    for (;;) {
      const open = depth > 0 || (lastKind === 'op' && last !== undefined && CONTINUATION_OPS.includes(last));
      if (!open) break;
      // skip blank and comment-only lines inside a continued statement
      let next = k;
      while (next < lines.length && isBlank(codeOf(lines[next]!))) next++;
      if (next >= lines.length) break;
      const nextCode = codeOf(lines[next]!);
      if (startsStatement(nextCode)) break;
      parts.push({ line: next + 1, code: nextCode });
      const scan = scanLine(nextCode);
      depth += scan.depth;
      last = scan.last;
      lastKind = scan.lastKind;
      k = next + 1;
    }
    let joined = '';
    const lineOf: number[] = [];
    const columnOf: number[] = [];
    parts.forEach((part, n) => {
      if (n > 0) {
        // the joining space stands for the end of the previous line
        const prev = parts[n - 1]!;
        joined += ' ';
        lineOf.push(prev.line);
        columnOf.push(prev.code.length + 1);
      }
      for (let c = 0; c < part.code.length; c++) {
        lineOf.push(part.line);
        columnOf.push(c + 1);
      }
      joined += part.code;
    });
    const lastPart = parts[parts.length - 1]!;
    lineOf.push(lastPart.line);
    columnOf.push(lastPart.code.trimEnd().length + 1);
    statements.push({ text: joined, lineOf, columnOf, firstLine: parts[0]!.line });
  }
  return { lines, statements };
}
