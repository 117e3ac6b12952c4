// A plain-textarea code editor: line numbers in a gutter, and diagnostics drawn at their line and
// column by a mirror layer behind the (transparent) textarea that underlines the culprit's span.
// No editor library: the page must be self-contained and small.

export interface Mark {
  readonly line: number; // 1-based
  readonly column: number; // 1-based
  readonly length: number;
  readonly message: string;
}

export class Editor {
  readonly textarea: HTMLTextAreaElement;
  private readonly gutter: HTMLElement;
  private readonly mirror: HTMLElement;
  private marks: readonly Mark[] = [];

  constructor(root: HTMLElement, onChange: () => void) {
    root.classList.add('editor');
    this.gutter = el('div', 'gutter');
    this.gutter.setAttribute('aria-hidden', 'true');
    const body = el('div', 'editor-body');
    this.mirror = el('pre', 'mirror');
    this.mirror.setAttribute('aria-hidden', 'true');
    this.textarea = el('textarea', 'code') as HTMLTextAreaElement;
    this.textarea.spellcheck = false;
    this.textarea.wrap = 'off';
    this.textarea.setAttribute('autocapitalize', 'off');
    this.textarea.setAttribute('autocomplete', 'off');
    this.textarea.setAttribute('aria-label', '.hess model source');
    body.append(this.mirror, this.textarea);
    root.append(this.gutter, body);
    this.textarea.addEventListener('input', () => {
      // Redraw so that gutter and mirror follow the text; the marks stay where they were until
      // the next compile (a few hundred ms later) reports on the new text.
      this.render();
      onChange();
    });
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    this.textarea.addEventListener('keydown', (e) => {
      // Tab inserts two spaces instead of leaving the editor.
      if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        this.textarea.setRangeText('  ', this.textarea.selectionStart, this.textarea.selectionEnd, 'end');
        this.textarea.dispatchEvent(new Event('input'));
      }
    });
  }

  get value(): string {
    return this.textarea.value;
  }

  set value(text: string) {
    this.textarea.value = text;
    this.marks = [];
    this.render();
    this.textarea.scrollTop = 0;
    this.syncScroll();
  }

  setMarks(marks: readonly Mark[]): void {
    this.marks = marks;
    this.render();
  }

  /** Puts the caret on a diagnostic's span and scrolls it into view. */
  reveal(m: Mark): void {
    const lines = this.textarea.value.split('\n');
    let offset = 0;
    for (let i = 0; i < m.line - 1 && i < lines.length; i++) offset += lines[i]!.length + 1;
    const start = offset + m.column - 1;
    this.textarea.focus();
    this.textarea.setSelectionRange(start, start + Math.max(1, m.length));
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    this.textarea.scrollTop = Math.max(0, (m.line - 3) * lineHeight);
    this.syncScroll();
  }

  private syncScroll(): void {
    this.mirror.style.transform = `translate(${-this.textarea.scrollLeft}px, ${-this.textarea.scrollTop}px)`;
    this.gutter.style.transform = `translateY(${-this.textarea.scrollTop}px)`;
  }

  private render(): void {
    const text = this.textarea.value;
    const lines = text.split('\n');
    const byLine = new Map<number, Mark[]>();
    for (const m of this.marks) {
      if (m.line < 1 || m.line > lines.length) continue;
      byLine.set(m.line, [...(byLine.get(m.line) ?? []), m]);
    }
    // Gutter: one row per line; a marked line carries the messages as its tooltip.
    const rows: HTMLElement[] = [];
    for (let i = 1; i <= lines.length; i++) {
      const row = el('div', 'ln');
      row.dataset.line = String(i);
      row.textContent = String(i);
      const ms = byLine.get(i);
      if (ms) {
        row.classList.add('error');
        row.title = ms.map((m) => `${m.line}:${m.column}: ${m.message}`).join('\n');
      }
      rows.push(row);
    }
    this.gutter.replaceChildren(...rows);
    // Mirror: the same text, with each marked span wrapped (clipped to its line; at least one
    // character, so a mark at the end of a line still shows).
    const parts: Node[] = [];
    lines.forEach((line, k) => {
      const ms = [...(byLine.get(k + 1) ?? [])].sort((a, b) => a.column - b.column);
      let pos = 0;
      for (const m of ms) {
        const start = Math.max(pos, Math.min(line.length, m.column - 1));
        const end = Math.max(start + 1, Math.min(line.length, m.column - 1 + Math.max(1, m.length)));
        if (start > pos) parts.push(document.createTextNode(line.slice(pos, start)));
        const mark = el('mark', 'diag');
        mark.dataset.line = String(m.line);
        mark.dataset.column = String(m.column);
        mark.title = m.message;
        mark.textContent = start < line.length ? line.slice(start, end) : ' ';
        parts.push(mark);
        pos = Math.min(line.length, end);
      }
      parts.push(document.createTextNode(line.slice(pos) + (k < lines.length - 1 ? '\n' : '\n ')));
    });
    this.mirror.replaceChildren(...parts);
    this.syncScroll();
  }
}

function el(tag: string, cls: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}
