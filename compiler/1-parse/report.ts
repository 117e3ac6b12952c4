// Collects located diagnostics: maps an offset range inside a statement to file:line:column.
import type { Diagnostic } from './diagnostics.ts';
import type { Statement } from './source.ts';

export interface Span {
  readonly start: number; // offset in the statement text
  readonly end: number; // exclusive
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly lines: readonly string[],
  ) {}

  /**
   * Reports `message` at `span` of `stmt`. `note` is appended to the message but not used to
   * detect duplicates (the same error reached again through another call is reported once).
   */
  error(stmt: Statement, span: Span, message: string, note?: string): void {
    const len = stmt.text.length;
    const start = Math.max(0, Math.min(span.start, len));
    const end = Math.max(start, Math.min(span.end, len));
    const line = stmt.lineOf[start] ?? stmt.firstLine;
    const column = stmt.columnOf[start] ?? 1;
    // underline up to the span's end, but never past the end of the first line
    let length = 1;
    if (end > start) {
      const lastChar = end - 1;
      if (stmt.lineOf[lastChar] === line) length = (stmt.columnOf[lastChar] ?? column) - column + 1;
      else length = Math.max(1, (this.lines[line - 1] ?? '').length - column + 1);
    }
    this.at(line, column, length, message, note);
  }

  /** Reports at an explicit line and column (1-based). */
  at(line: number, column: number, length: number, message: string, note?: string): void {
    const key = `${line}:${column}:${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push({
      file: this.file,
      line,
      column,
      length: Math.max(1, length),
      message: note ? `${message} (${note})` : message,
      sourceLine: this.lines[line - 1] ?? '',
    });
  }

  get count(): number {
    return this.diagnostics.length;
  }

  /** The diagnostics ordered by position (stable for equal positions). */
  sorted(): Diagnostic[] {
    return this.diagnostics
      .map((d, k) => ({ d, k }))
      .sort((x, y) => x.d.line - y.d.line || x.d.column - y.d.column || x.k - y.k)
      .map(({ d }) => d);
  }
}
