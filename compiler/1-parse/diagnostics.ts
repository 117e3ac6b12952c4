// Compile errors: located, readable, shown with the source line and a caret.

export interface Diagnostic {
  readonly file: string; // path as given by the user (relative to the working directory)
  readonly line: number; // 1-based
  readonly column: number; // 1-based
  readonly length: number; // characters to underline, at least 1
  readonly message: string;
  readonly sourceLine: string; // the text of the offending line, without its newline
}

/** `file:line:column: error: message`, then the source line and a caret under the culprit. */
export function formatDiagnostic(d: Diagnostic): string {
  const gutter = `${d.line} | `;
  const caret = ' '.repeat(gutter.length + d.column - 1) + '^'.repeat(Math.max(1, d.length));
  return `${d.file}:${d.line}:${d.column}: error: ${d.message}\n${gutter}${d.sourceLine}\n${caret}`;
}
