// Fill-reducing orderings (runtime/sparse-ordering.ts): valid permutations, and less fill than the
// natural order on cases whose fill is known in closed form.
import { describe, expect, it } from 'vitest';
import { fillReducingOrder, type OrderingMethod } from '../../runtime/sparse-ordering.ts';
import { analyzeCholesky } from '../../runtime/sparse-cholesky.ts';
import { makeRandom, patternFromEdges, relabel, shuffled } from './sparse-helpers.ts';

const nnzL = (p: Parameters<typeof analyzeCholesky>[0], ordering: OrderingMethod): number => analyzeCholesky(p, { ordering }).nnzL;

function isPermutation(perm: Int32Array, n: number): boolean {
  const seen = new Uint8Array(n);
  for (const v of perm) {
    if (v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return perm.length === n;
}

describe('fill-reducing orderings', () => {
  it('arrowhead with the hub first: the natural order fills L completely, minimum degree and RCM leave no fill', () => {
    const n = 200;
    const p = patternFromEdges(n, Array.from({ length: n - 1 }, (_, i) => [0, i + 1] as [number, number]));
    expect(nnzL(p, 'natural')).toBe((n * (n + 1)) / 2);
    // No fill: L has exactly the lower triangle of A, 2n − 1 entries.
    expect(nnzL(p, 'minimum-degree')).toBe(2 * n - 1);
    expect(nnzL(p, 'rcm')).toBe(2 * n - 1);
  });

  it('a randomly numbered chain (a tridiagonal matrix in disguise): both orderings recover zero fill', () => {
    const n = 2000;
    const chain = patternFromEdges(n, Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]));
    const p = relabel(chain, shuffled(n, makeRandom(7)));
    expect(nnzL(p, 'minimum-degree')).toBe(2 * n - 1);
    expect(nnzL(p, 'rcm')).toBe(2 * n - 1);
    expect(nnzL(p, 'natural')).toBeGreaterThan(1.4 * (2 * n - 1));
  });

  it('a k × k mesh (5-point stencil): minimum degree leaves less fill than the band of RCM, which beats a random order', () => {
    const k = 30;
    const edges: [number, number][] = [];
    for (let r = 0; r < k; r++)
      for (let c = 0; c < k; c++) {
        if (c + 1 < k) edges.push([r * k + c, r * k + c + 1]);
        if (r + 1 < k) edges.push([r * k + c, (r + 1) * k + c]);
      }
    const p = relabel(patternFromEdges(k * k, edges), shuffled(k * k, makeRandom(3)));
    const md = nnzL(p, 'minimum-degree');
    const rcm = nnzL(p, 'rcm');
    const natural = nnzL(p, 'natural');
    console.log(`30 × 30 mesh, nnz(L): minimum degree ${md}, RCM ${rcm}, random order ${natural}`);
    // RCM's band is about k wide: ≈ k · k² entries at most.
    expect(rcm).toBeLessThanOrEqual(k * k * (k + 2));
    expect(md).toBeLessThan(rcm);
    expect(rcm).toBeLessThan(natural);
  });

  it('returns a permutation for disconnected patterns and isolated vertices, deterministically', () => {
    const p = patternFromEdges(9, [
      [0, 5],
      [5, 7],
      [2, 3],
    ]);
    for (const m of ['minimum-degree', 'rcm', 'natural'] as const) {
      const perm = fillReducingOrder(p, m);
      expect(isPermutation(perm, 9)).toBe(true);
      expect(Array.from(fillReducingOrder(p, m))).toEqual(Array.from(perm));
    }
  });

  it('orders dense rows last and still returns a permutation (a dense pattern)', () => {
    const n = 40;
    const edges: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j]);
    const perm = fillReducingOrder(patternFromEdges(n, edges), 'minimum-degree');
    expect(isPermutation(perm, n)).toBe(true);
  });

  it('rejects an unknown ordering and malformed patterns with RangeErrors', () => {
    const p = patternFromEdges(3, [[0, 1]]);
    expect(() => fillReducingOrder(p, 'amd' as OrderingMethod)).toThrow(RangeError);
    expect(() => analyzeCholesky({ n: 2, rowPtr: new Int32Array([0, 2, 3]), colIdx: new Int32Array([0, 1, 1]) })).toThrow(/not symmetric/);
    expect(() => analyzeCholesky({ n: 2, rowPtr: new Int32Array([0, 1]), colIdx: new Int32Array([0]) })).toThrow(/rowPtr/);
    expect(() => analyzeCholesky({ n: 2, rowPtr: new Int32Array([0, 1, 2]), colIdx: new Int32Array([0, 2]) })).toThrow(/outside/);
    expect(() => analyzeCholesky({ n: 2, rowPtr: new Int32Array([0, 2, 3]), colIdx: new Int32Array([1, 0, 1]) })).toThrow(/increasing/);
    expect(() => analyzeCholesky({ n: 0, rowPtr: new Int32Array([0]), colIdx: new Int32Array(0) })).toThrow(/positive integer/);
  });
});
