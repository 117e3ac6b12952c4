import { describe, expect, it } from 'vitest';
import { culprit, ok, oneError, valueOf } from './helpers.ts';

const A = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // A[3, 4], row-major
const src = (expr: string): string => `param A[3, 4]\nparam x[5]\nminimize ${expr}`;
const val = (expr: string): number => valueOf(src(expr), [...A, 10, 20, 30, 40, 50]);

describe('indexing', () => {
  it('a scalar index removes the axis', () => {
    expect(val('A[2, 3]')).toBe(7);
    expect(val('x[1] + x[5]')).toBe(60);
    expect(ok(src('sum(A[2, :])')).objective).toMatchObject({ arg: { kind: 'slice', shape: [4], index: [{ at: 1 }, { start: 0, stop: 4 }] } });
    expect(ok(src('sum(A[:, 3])')).objective).toMatchObject({ arg: { kind: 'slice', shape: [3], index: [{ start: 0, stop: 3 }, { at: 2 }] } });
  });

  it('ranges are inclusive and keep the axis', () => {
    expect(val('sum(x[2:4])')).toBe(90);
    expect(ok(src('sum(x[2:4])')).objective).toMatchObject({ arg: { kind: 'slice', shape: [3], index: [{ start: 1, stop: 4 }] } });
    expect(ok(src('sum(A[1:2, 2:3])')).objective).toMatchObject({ arg: { shape: [2, 2], index: [{ start: 0, stop: 2 }, { start: 1, stop: 3 }] } });
    expect(val('sum(A[1:2, 2:3])')).toBe(2 + 3 + 6 + 7);
    expect(ok(src('sum(x[3:3])')).objective).toMatchObject({ arg: { shape: [1] } });
  });

  it('end is the last index, also in arithmetic', () => {
    expect(val('x[end]')).toBe(50);
    expect(val('x[end - 1]')).toBe(40);
    expect(val('sum(x[2:end])')).toBe(140);
    expect(val('A[end, end]')).toBe(12);
    expect(val('sum(A[end-1:end, 1])')).toBe(5 + 9);
    expect(val('x[(end + 1) / 2]')).toBe(30);
  });

  it('indices may use consts and fixed dims', () => {
    expect(valueOf('dim H = 3\nconst k = 2\nparam x[H]\nminimize x[k] + x[H] + x[k - 1]', [1, 2, 3])).toBe(6);
  });

  it('a whole-axis index returns the argument itself', () => {
    expect(ok(src('sum(A[:, :])')).objective).toMatchObject({ kind: 'sum', arg: { kind: 'param', name: 'A' } });
    expect(ok(src('sum(x[1:end])')).objective).toMatchObject({ kind: 'sum', arg: { kind: 'param', name: 'x' } });
    expect(ok(src('sum(x[1:5])')).objective).toMatchObject({ kind: 'sum', arg: { kind: 'param', name: 'x' } });
  });

  it('a symbolic axis takes only `:`', () => {
    const m = ok('dim N\ndata X[N, 3]\nminimize sum(X[:, 2]) + sum(X[1:end, 1])');
    expect(m.objective).toMatchObject({ a: { arg: { kind: 'slice', shape: ['N'], index: [{ start: 0, stop: 'N' }, { at: 1 }] } } });
    const d = oneError('dim N\ndata X[N, 3]\nminimize sum(X[2, :])');
    expect(d.message).toContain('`X` has N rows, a size known only at run time: only `:`');
    expect(culprit(d)).toBe('2');
    expect(oneError('dim N\ndata y[N]\nminimize sum(y[2:end])').message).toContain('`y` has N elements');
    expect(oneError('dim N\ndata y[N]\nminimize y[end]').message).toContain('only `:`');
  });

  it('indexes expressions, not only names', () => {
    expect(val('(x + 1)[2]')).toBe(21);
    expect(val("sum((A')[2, :])")).toBe(2 + 6 + 10);
  });

  it('reports out-of-bounds indices with the valid range', () => {
    const d = oneError(src('x[6]'));
    expect(d.message).toBe('index 6 is out of bounds: `x` has 5 elements (indices are 1 to 5)');
    expect([d.line, d.column, d.length]).toEqual([3, 12, 1]);
    expect(oneError(src('x[0]')).message).toContain('index 0 is out of bounds');
    expect(oneError(src('A[4, 1]')).message).toContain('`A` has 3 rows');
    expect(oneError(src('A[1, 5]')).message).toContain('`A` has 4 columns');
    expect(oneError(src('sum(x[2:end+1])')).message).toContain('index 6 is out of bounds');
    expect(culprit(oneError(src('sum(x[2:end+1])')))).toBe('end+1');
  });

  it('rejects bad indices', () => {
    expect(oneError(src('x[1.5]')).message).toContain('must be a whole number');
    expect(oneError(src('sum(x[4:2])')).message).toContain('the range 4:2 is empty');
    expect(oneError(src('x[1, 1]')).message).toContain('`x` is a vector [5]: it takes 1 index');
    expect(oneError(src('sum(A[1])')).message).toContain('`A` is a matrix [3, 4]: it takes 2 indices');
    expect(oneError('param s\nminimize s[1]').message).toContain('`s` is a scalar and cannot be indexed');
    expect(oneError(src('sum(x[1:2:5])')).message).toContain('ranges with a step');
    expect(oneError(src('x[x[1]]')).message).toContain('indexing cannot be used here: indices must be constants');
    expect(oneError(src('x[2 * A]')).message).toContain('`A` is a param: indices must be constants');
    expect(oneError('dim N\ndata y[N]\nparam x[3]\nminimize x[N]').message).toContain('`N` is known only at run time');
    expect(oneError(src('x[]')).message).toContain('an index is missing');
    expect(oneError(src('x[[1, 2]]')).message).toContain('matrix literals');
  });
});
