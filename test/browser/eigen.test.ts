// The playground's symmetric eigenvalue routine against matrices whose spectra are known exactly.
import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../../playground/src/eigen.ts';
import { makeRng, type Rng } from '../helpers/rng.ts';

/** Q·diag(λ)·Qᵀ with Q a product of `reflections` random Householder reflections (orthogonal). */
function withSpectrum(lambda: readonly number[], rng: Rng, reflections = 3): Float64Array {
  const n = lambda.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = lambda[i]!;
  const v = new Float64Array(n);
  const t = new Float64Array(n);
  for (let r = 0; r < reflections; r++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      v[i] = rng.uniform(-1, 1);
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i] = v[i]! / norm;
    // A ← H A H, H = I − 2vvᵀ: apply from the left, then from the right.
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i]! * a[i * n + j]!;
      t[j] = s;
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! - 2 * v[i]! * t[j]!;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
      t[i] = s;
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! - 2 * t[i]! * v[j]!;
  }
  // Exactly symmetric, as a Hessian from hessgen is.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
  return a;
}

function expectSpectrum(got: Float64Array, want: readonly number[], tol: number): void {
  const sorted = [...want].sort((x, y) => x - y);
  expect(got.length).toBe(sorted.length);
  const scale = Math.max(1, ...sorted.map(Math.abs));
  let err = 0;
  for (let i = 0; i < sorted.length; i++) err = Math.max(err, Math.abs(got[i]! - sorted[i]!));
  expect(err / scale).toBeLessThanOrEqual(tol);
}

describe('symmetricEigenvalues', () => {
  it('handles the empty, 1 × 1, zero and diagonal matrices', () => {
    expect([...symmetricEigenvalues([], 0)]).toEqual([]);
    expect([...symmetricEigenvalues([-3.5], 1)]).toEqual([-3.5]);
    expect([...symmetricEigenvalues(new Float64Array(16), 4)]).toEqual([0, 0, 0, 0]);
    expect([...symmetricEigenvalues([4, 0, 0, 0, -1, 0, 0, 0, 2], 3)]).toEqual([-1, 2, 4]);
  });

  it('2 × 2: [[a, b], [b, c]] has (a + c)/2 ± √(((a − c)/2)² + b²)', () => {
    const [a, b, c] = [1.5, -2.25, 0.5];
    const m = (a + c) / 2;
    const r = Math.hypot((a - c) / 2, b);
    expectSpectrum(symmetricEigenvalues([a, b, b, c], 2), [m - r, m + r], 1e-15);
  });

  it('the 1-D Laplacian tridiag(−1, 2, −1) has 2 − 2cos(kπ/(n+1))', { timeout: 30_000 }, () => {
    for (const n of [3, 10, 57, 200]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        a[i * n + i] = 2;
        if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
      }
      const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
      expectSpectrum(symmetricEigenvalues(a, n), want, 1e-13);
    }
  });

  it('recovers prescribed spectra (indefinite, repeated, clustered, widely scaled) under random rotations', { timeout: 30_000 }, () => {
    const rng = makeRng('eigen');
    const cases: number[][] = [
      [1, 2, 3],
      [-5, -5, -5, 2, 2, 7, 0, 0],
      Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? -1 : 1) * (i + 1)),
      Array.from({ length: 64 }, () => rng.uniform(-1, 1)),
      Array.from({ length: 30 }, (_, i) => 10 ** (i / 5 - 3)), // 1e-3 .. ~8e2
      Array.from({ length: 25 }, (_, i) => 1 + i * 1e-9), // a tight cluster
      Array.from({ length: 150 }, () => rng.uniform(-100, 100)),
      // Rank-deficient, as the Hessian of a model with fewer samples than parameters: many
      // eigenvalues are zero, and after rotation only rounding noise is left of them.
      Array.from({ length: 300 }, (_, i) => (i % 4 === 0 ? rng.uniform(-2, 9) : 0)),
      Array.from({ length: 60 }, (_, i) => (i < 3 ? 1 : 0)),
    ];
    for (const lambda of cases) {
      const a = withSpectrum(lambda, rng, 4);
      expectSpectrum(symmetricEigenvalues(a, lambda.length), lambda, 1e-12);
    }
  });

  it('reads only the lower triangle and leaves its input alone', () => {
    const rng = makeRng('lower');
    const lambda = [3, -1, 0.5, 8, 2];
    const a = withSpectrum(lambda, rng);
    const copy = Float64Array.from(a);
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) a[i * 5 + j] = 1e6; // garbage above
    const before = Float64Array.from(a);
    expectSpectrum(symmetricEigenvalues(a, 5), lambda, 1e-13);
    expect([...a]).toEqual([...before]);
    expect(copy.length).toBe(25);
  });

  it('rejects a wrong length and does not loop forever on NaN', () => {
    expect(() => symmetricEigenvalues([1, 2, 3], 2)).toThrow(RangeError);
    expect(() => symmetricEigenvalues([1, NaN, NaN, 2], 2)).toThrow(/did not converge/);
  });
});
