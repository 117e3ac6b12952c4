// The math.js oracle against the fixtures' independently computed values (no compiler needed).
import { describe, it, expect } from 'vitest';
import { oracleValue, parseDecls, paramLayout } from '../oracle/mathjs.ts';
import { loadFixtures } from '../helpers/fixtures.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';

describe('math.js oracle reproduces the fixture values', () => {
  for (const fx of loadFixtures()) {
    it(fx.name, () => {
      const v = oracleValue(fx.source, fx.json.theta, fx.json.data);
      expect(Math.abs(v - fx.json.value)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(fx.json.value)));
      const layout = paramLayout(parseDecls(fx.source));
      expect(layout.n).toBe(fx.json.n);
      expect(layout.params.map((p) => ({ name: p.name, shape: p.shape }))).toEqual(fx.json.params);
    });
  }
});

describe('math.js oracle semantics (docs/language.md)', () => {
  // A = [[1, 2, 3], [4, 5, 6]] as a param, so every result below is checked by hand.
  const A = [1, 2, 3, 4, 5, 6];
  const val = (expr: string, extra = ''): number => oracleValue(`param A[2, 3]\n${extra}minimize ${expr}\n`, A);

  it('reduces along axis 1 (over rows) and axis 2 (over columns)', () => {
    expect(val('sum(A)')).toBe(21);
    expect(val('sum(A, 1) * [1, 10, 100]')).toBe(5 + 70 + 900); // [5, 7, 9]
    expect(val('sum(A, 2) * [1, 10]')).toBe(6 + 150); // [6, 15]
    expect(val('mean(A, 1) * [1, 10, 100]')).toBe(2.5 + 35 + 450);
    expect(val('mean(A, 2) * [1, 10]')).toBe(2 + 50);
    expect(val('mean(A)')).toBe(3.5);
  });

  it('logsumexp over all, along axis 1 and axis 2, without overflow', () => {
    const lse = (xs: number[]): number => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    expect(val('logsumexp(A)')).toBeCloseTo(lse(A), 14);
    expect(val('logsumexp(A, 1) * [1, 1, 1]')).toBeCloseTo(lse([1, 4]) + lse([2, 5]) + lse([3, 6]), 13);
    expect(val('logsumexp(A, 2) * [1, 1]')).toBeCloseTo(lse([1, 2, 3]) + lse([4, 5, 6]), 13);
    expect(val('logsumexp(1000 * A) - 6000')).toBeCloseTo(0, 10);
  });

  it('applies the functions element-wise and broadcasts from the last axis', () => {
    expect(val('sum(exp(A))')).toBeCloseTo(A.reduce((s, x) => s + Math.exp(x), 0), 12);
    expect(val('sum(sigmoid(A) + softplus(-A) + relu(A - 3))')).toBeCloseTo(
      A.reduce((s, x) => s + 1 / (1 + Math.exp(-x)) + Math.log(1 + Math.exp(-x)) + Math.max(x - 3, 0), 0),
      13,
    );
    expect(val('sum(A + [10, 20, 30])')).toBe(21 + 2 * 60);
    expect(val('sum(A .* [1, 0, 0])')).toBe(5); // [2, 3] .* [3]
    expect(val('sum(A .* [[1], [0]])')).toBe(6); // [2, 3] .* [2, 1]
    expect(val('sum(A .* [[0, 1, 0]])')).toBe(7); // [2, 3] .* [1, 3]
    expect(val('sum(A - 1)')).toBe(15); // scalar against a matrix
    expect(val('sum(A[2, :]) + sum(A[:, 3]) + A[1, end] + sum(A[1:2, 2:end])')).toBe(15 + 9 + 3 + 16);
    expect(val('sum(A .^ 2) - sum(square(A)) + sum(cube(A)) - sum(A .^ 3)')).toBe(0);
  });

  it('binds dims, consts and functions', () => {
    const src = `dim N\ndim H = 4\nconst c = 2 * H\ndata X[N, 2]\nparam w[2]\nf(a, b) = a .* b\nminimize sum(f(X * w, X * w)) / N + c + H\n`;
    const X = [1, 2, 3, 4, 5, 6];
    const w = [1, -1];
    // X * w = [-1, -1, -1]; sum of squares 3; / N (3) = 1; + 8 + 4
    expect(oracleValue(src, w, { X })).toBe(13);
  });
});

describe('math.js oracle on every test model', () => {
  it('gives a finite value at each model\'s test point', () => {
    for (const c of loadModelCases()) {
      const p = makePoint(c.name, c.source, c.spec);
      const v = oracleValue(c.source, p.theta, p.data);
      expect(Number.isFinite(v), c.name).toBe(true);
    }
  });
});
