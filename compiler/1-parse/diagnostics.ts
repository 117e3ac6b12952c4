// Compile errors (and warnings): located, readable, shown with the source line and a caret.

export interface Diagnostic {
  readonly file: string; // path as given by the user (relative to the working directory)
  readonly line: number; // 1-based
  readonly column: number; // 1-based
  readonly length: number; // characters to underline, at least 1
  readonly message: string;
  readonly sourceLine: string; // the text of the offending line, without its newline
  /** Absent: an error. A warning does not stop the build (e.g. an output asked for that the model cannot have). */
  readonly severity?: 'error' | 'warning';
}

/**
 * `file:line:column: error: message`, then the source line and carets under the culprit.
 * Tabs before the culprit are copied into the caret line so the carets line up in a terminal.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const gutter = `${d.line} | `;
  const before = d.sourceLine.slice(0, Math.max(0, d.column - 1)).replace(/[^\t]/g, ' ');
  const pad = before.padEnd(Math.max(0, d.column - 1), ' ');
  const caret = ' '.repeat(gutter.length) + pad + '^'.repeat(Math.max(1, d.length));
  return `${d.file}:${d.line}:${d.column}: ${d.severity ?? 'error'}: ${d.message}\n${gutter}${d.sourceLine}\n${caret}`;
}

/** All diagnostics, each formatted, separated by blank lines, with a count at the end. */
export function formatDiagnostics(ds: readonly Diagnostic[]): string {
  if (ds.length === 0) return '';
  const n = ds.length;
  return `${ds.map(formatDiagnostic).join('\n\n')}\n\n${n} error${n === 1 ? '' : 's'}`;
}
