// The sparse Cholesky factorization (runtime/sparse-cholesky.ts) against the dense one of
// runtime/newton.ts: the same factor entry by entry (a Cholesky factor is unique), solutions with
// small residuals, the same verdict on indefinite matrices, on random sparse SPD matrices and on the
// hessianSparse patterns of real models (a chain, a band, a dense MLP).
import { describe, expect, it } from 'vitest';
import { analyzeCholesky, SparseCholesky } from '../../runtime/sparse-cholesky.ts';
import { choleskyShifted, choleskySolve } from '../../runtime/newton.ts';
import type { OrderingMethod, SymmetricPattern } from '../../runtime/sparse-ordering.ts';
import { compileModel } from '../helpers/load.ts';
import * as mlp from '../../generated/mlp_classifier.ts';
import { denseMatVec, makeRandom, maxAbs, patternFromEdges, spdValues, toDense } from './sparse-helpers.ts';

const orderings: OrderingMethod[] = ['minimum-degree', 'rcm', 'natural'];

/** A random symmetric pattern: each off-diagonal pair present with probability `density`. */
function randomPattern(n: number, density: number, rand: () => number): SymmetricPattern {
  const edges: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rand() < density) edges.push([i, j]);
  return patternFromEdges(n, edges);
}

/**
 * Factors `values` + shift·I sparsely and densely and checks: the same success verdict; on success
 * the sparse L equals the dense factor of P (A + shift I) Pᵀ entry by entry and has every one of its
 * nonzeros in the predicted structure; the solve's residual is at rounding level.
 */
function compareWithDense(p: SymmetricPattern, values: Float64Array, shift: number, ordering: OrderingMethod, rand: () => number): boolean {
  const n = p.n;
  const chol = new SparseCholesky(analyzeCholesky(p, { ordering }));
  const ok = chol.factor(values, shift);
  const a = toDense(p, values);
  const { perm } = chol.analysis;
  const pa = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pa[i * n + j] = a[perm[i]! * n + perm[j]!]!;
  const l = new Float64Array(n * n);
  expect(ok).toBe(choleskyShifted(pa, shift, l, n));
  if (!ok) return false;
  // Entry by entry.
  const sparseL = new Float64Array(n * n);
  const { colPtr } = chol.analysis;
  for (let j = 0; j < n; j++) {
    expect(chol.rowIdx[colPtr[j]!]).toBe(j);
    for (let q = colPtr[j]!; q < colPtr[j + 1]!; q++) sparseL[chol.rowIdx[q]! * n + j] = chol.values[q]!;
  }
  let scale = 0;
  let err = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      scale = Math.max(scale, Math.abs(l[i * n + j]!));
      err = Math.max(err, Math.abs(l[i * n + j]! - sparseL[i * n + j]!));
    }
  expect(err / scale).toBeLessThan(1e-12);
  // Solve against a random right-hand side; compare with the dense solve too.
  const x = Float64Array.from({ length: n }, () => 2 * rand() - 1);
  const b = denseMatVec(a, x, n);
  for (let i = 0; i < n; i++) b[i] += shift * x[i]!;
  const bDense = Float64Array.from(perm, (pi) => b[pi]!);
  chol.solve(b);
  choleskySolve(l, bDense, n);
  const residual = denseMatVec(a, b, n);
  for (let i = 0; i < n; i++) residual[i] += shift * b[i]! - (denseMatVec(a, x, n)[i]! + shift * x[i]!);
  const scaleB = maxAbs(denseMatVec(a, x, n)) + Math.abs(shift) * maxAbs(x);
  expect(maxAbs(residual) / scaleB).toBeLessThan(1e-11);
  for (let k = 0; k < n; k++) expect(Math.abs(b[perm[k]!]! - bDense[k]!)).toBeLessThan(1e-9 * (1 + maxAbs(x)));
  return true;
}

describe('SparseCholesky against the dense Cholesky', () => {
  it('random sparse SPD matrices (n = 20 … 120, densities 2–20%), every ordering', () => {
    const rand = makeRandom(11);
    for (const [n, density] of [
      [20, 0.2],
      [60, 0.05],
      [120, 0.02],
    ] as const) {
      const p = randomPattern(n, density, rand);
      const v = spdValues(p, rand, 0.1);
      for (const o of orderings) expect(compareWithDense(p, v, 0, o, rand)).toBe(true);
    }
  });

  it('indefinite matrices: fails without a shift, agrees with the dense verdict at every shift, succeeds once shifted past −λ_min', () => {
    const rand = makeRandom(5);
    const p = randomPattern(40, 0.1, rand);
    const v = spdValues(p, rand, 0.5);
    // Make it indefinite: subtract a lot from one diagonal entry.
    for (let k = p.rowPtr[7]!; k < p.rowPtr[8]!; k++) if (p.colIdx[k] === 7) v[k] -= 50;
    let firstOk = -1;
    for (const shift of [0, 1, 10, 30, 45, 60, 100]) {
      const ok = compareWithDense(p, v, shift, 'minimum-degree', rand);
      if (ok && firstOk < 0) firstOk = shift;
    }
    expect(new SparseCholesky(analyzeCholesky(p)).factor(v, 0)).toBe(false);
    expect(firstOk).toBeGreaterThan(0);
  });

  it('a per-unknown shift λ·d equals the dense factorization of A + λ diag(d)', () => {
    const rand = makeRandom(8);
    const p = randomPattern(30, 0.15, rand);
    const v = spdValues(p, rand, 0);
    const d = Float64Array.from({ length: 30 }, () => 0.5 + rand());
    const chol = SparseCholesky.fromPattern(p);
    expect(chol.factor(v, d, 2)).toBe(true);
    const shifted = Float64Array.from(v);
    for (let i = 0; i < 30; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) if (p.colIdx[k] === i) shifted[k] += 2 * d[i]!;
    const x = Float64Array.from({ length: 30 }, () => rand());
    const b = denseMatVec(toDense(p, shifted), x, 30);
    chol.solve(b);
    expect(maxAbs(b.map((bi, i) => bi - x[i]!))).toBeLessThan(1e-12);
  });

  it('a NaN entry fails the factorization; solve without a factorization and wrong lengths are RangeErrors', () => {
    const p = patternFromEdges(3, [[0, 1]]);
    const chol = SparseCholesky.fromPattern(p);
    expect(() => chol.solve(new Float64Array(3))).toThrow(RangeError);
    const v = new Float64Array(p.colIdx.length).fill(1);
    v[0] = NaN;
    expect(chol.factor(v)).toBe(false);
    expect(() => chol.solve(new Float64Array(3))).toThrow(/no successful factorization/);
    expect(() => chol.factor(new Float64Array(2))).toThrow(/values has length 2/);
    expect(() => chol.factor(new Float64Array(p.colIdx.length), new Float64Array(2))).toThrow(/shift has length 2/);
    v[0] = 4;
    expect(chol.factor(v, 1)).toBe(true);
    expect(() => chol.solve(new Float64Array(4))).toThrow(/b has length 4/);
  });
});

describe('SparseCholesky on hessianSparse patterns of real models', () => {
  /** Shift H until the dense Cholesky succeeds, then compare sparse and dense. */
  function checkModel(p: SymmetricPattern, values: Float64Array, rand: () => number): void {
    const a = toDense(p, values);
    const l = new Float64Array(p.n * p.n);
    let shift = 0;
    while (!choleskyShifted(a, shift, l, p.n)) shift = shift === 0 ? 1e-6 * (1 + maxAbs(values)) : shift * 4;
    for (const o of orderings) expect(compareWithDense(p, values, shift, o, rand)).toBe(true);
  }

  it('extended Rosenbrock (a chain, n = 300): no fill with minimum degree', async () => {
    const src = 'param x[300]\nminimize sum(100 * (x[2:end] - x[1:299] .^ 2) .^ 2 + (1 - x[1:299]) .^ 2)\n';
    const mod = (await compileModel(src, 'rosen300.hess')).module as never as RosenbrockLike;
    const rand = makeRandom(1);
    const theta = Float64Array.from({ length: 300 }, () => 2 * rand() - 1);
    const p = mod.model.hessianPattern;
    checkModel(p, mod.hessianSparse(theta), rand);
    expect(analyzeCholesky(p).nnzL).toBe((p.colIdx.length + p.n) / 2);
  });

  it('a banded model (second differences: pentadiagonal, n = 200)', async () => {
    const src =
      'param x[200]\nd2 = x[3:end] - 2 * x[2:end-1] + x[1:end-2]\nminimize sum(d2 .^ 2) + sum(cos(x)) + 0.1 * sum(x .^ 4)\n';
    const mod = (await compileModel(src, 'band200.hess')).module as never as RosenbrockLike;
    const rand = makeRandom(2);
    const theta = Float64Array.from({ length: 200 }, () => 3 * rand() - 1.5);
    const p = mod.model.hessianPattern;
    // Bandwidth 2 in the pattern.
    for (let i = 0; i < p.n; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) expect(Math.abs(p.colIdx[k]! - i)).toBeLessThanOrEqual(2);
    checkModel(p, mod.hessianSparse(theta), rand);
    expect(analyzeCholesky(p).nnzL).toBe((p.colIdx.length + p.n) / 2);
  });

  it('the 4-8-3 MLP classifier (a dense pattern, n = 67) with data', () => {
    const rand = makeRandom(3);
    const N = 30;
    const X = Float64Array.from({ length: N * 4 }, () => 2 * rand() - 1);
    const Y = new Float64Array(N * 3);
    for (let s = 0; s < N; s++) Y[3 * s + (s % 3)] = 1;
    const theta = Float64Array.from({ length: mlp.model.n }, () => rand() - 0.5);
    const p = mlp.model.hessianPattern;
    const values = mlp.hessianSparse(theta, { X, Y });
    // The pattern's values are the dense Hessian's entries.
    const H = mlp.hessian(theta, { X, Y });
    expect(maxAbs(toDense(p, values).map((v, i) => v - H[i]!))).toBeLessThan(1e-12 * (1 + maxAbs(H)));
    checkModel(p, values, rand);
  });
});

interface RosenbrockLike {
  readonly model: { readonly n: number; readonly hessianPattern: SymmetricPattern };
  hessianSparse(theta: ArrayLike<number>, data?: object, values?: Float64Array): Float64Array;
}
