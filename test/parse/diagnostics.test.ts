import { describe, expect, it } from 'vitest';
import { formatDiagnostic, formatDiagnostics } from '../../compiler/1-parse/diagnostics.ts';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { errors, oneError } from './helpers.ts';

describe('diagnostic format', () => {
  it('is file:line:column: error: message, the line, and carets under the culprit', () => {
    const d = oneError('param W1[3, 8]\nparam x[8]\nminimize sum(W1 * x) + sum(w1)', 'models/net.hess');
    expect(formatDiagnostic(d)).toBe(
      [
        'models/net.hess:3:28: error: unknown name `w1`; did you mean `W1`?',
        '3 | minimize sum(W1 * x) + sum(w1)',
        '                               ^^',
      ].join('\n'),
    );
  });

  it('lines the carets up under tabs', () => {
    const d = oneError('param x\n\tminimize\tx + yy');
    expect(d.column).toBe(15);
    const [, source, caret] = formatDiagnostic(d).split('\n');
    expect(source).toBe('2 | \tminimize\tx + yy');
    expect(caret).toBe('    \t        \t    ^^');
  });

  it('underlines a whole subexpression where that is the culprit', () => {
    const d = oneError('param A[2, 2]\nparam v[3]\nminimize dot(v, v) + sum(A) + sum(exp(v, v))');
    expect(d.sourceLine.slice(d.column - 1, d.column - 1 + d.length)).toBe('exp(v, v)');
  });

  it('formats several diagnostics with a count', () => {
    const ds = errors('param x\ny = x +* 2\nz = q\nminimize x');
    const text = formatDiagnostics(ds);
    expect(text).toContain('m.hess:2:');
    expect(text).toContain('m.hess:3:5: error: unknown name `q`');
    expect(text.endsWith(`\n\n${ds.length} errors`)).toBe(true);
  });

  it('orders diagnostics by position, body errors included', () => {
    const ds = errors('param a[2]\nparam b[3]\nf(u) = u + b\ny = zz\nminimize sum(f(a))');
    expect(ds.map((d) => [d.line, d.column])).toEqual([[3, 10], [4, 5]]);
  });

  it('every diagnostic of a long broken file points at its own line', () => {
    const src = ['param x[3]', 'a = x ^ 2', 'b = x[4]', 'c = foo(x)', 'd = 2x', 'e1 = x % 2', 'f = sum(x, 3)', 'minimize sum(x) + q'].join('\n');
    const { model, diagnostics } = parseModel(src, 'm.hess');
    expect(model).toBeNull();
    expect(diagnostics.map((d) => d.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    for (const d of diagnostics) expect(d.sourceLine).toBe(src.split('\n')[d.line - 1]);
  });
});
