// The bench's floor kernels (bench/floors.ts) compute the product they are timed on: a wrong GEMM
// would make "the fraction of the floor" meaningless.
import { describe, expect, it } from 'vitest';
import { floorKernels, floorShape, gemmScalar, scalarFloor, timeFloor } from '../../bench/floors.ts';

function naive(m: number, n: number, k: number, A: Float64Array, B: Float64Array): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) C[i * n + j] += A[i * k + p]! * B[p * n + j]!;
  return C;
}

describe('bench floor kernels', () => {
  it('gemmScalar matches the triple loop, edges and k-blocks included, and accumulates into C', () => {
    for (const [m, n, k] of [[1, 1, 1], [4, 4, 4], [5, 7, 3], [9, 6, 300], [13, 17, 129]] as const) {
      const A = Float64Array.from({ length: m * k }, (_, i) => Math.sin(3 * i + 1));
      const B = Float64Array.from({ length: k * n }, (_, i) => Math.cos(5 * i + 2));
      const C = new Float64Array(m * n).fill(1);
      gemmScalar(m, n, k, A, B, C);
      const R = naive(m, n, k, A, B);
      for (let i = 0; i < R.length; i++) expect(C[i]).toBeCloseTo(R[i]! + 1, 10);
    }
  });

  it('the scalar floor computes sin/cos operands as documented', () => {
    const { run, result } = scalarFloor.setup(5, 3, 2);
    run();
    run(); // C is recomputed, not accumulated across calls
    const A = Float64Array.from({ length: 10 }, (_, i) => Math.sin(i + 1));
    const B = Float64Array.from({ length: 6 }, (_, i) => Math.cos(i + 1));
    const R = naive(5, 3, 2, A, B);
    result().forEach((x, i) => expect(x).toBeCloseTo(R[i]!, 12));
  });

  it('floorShape keeps the count near the request, up to the cap', () => {
    for (const madds of [100, 5000, 1e6, 1e8]) {
      const s = floorShape(madds);
      expect(s.m % 4).toBe(0);
      expect(s.madds).toBe(s.m * s.n * s.k);
      expect(s.madds / Math.max(64, madds)).toBeGreaterThan(0.5);
      expect(s.madds / Math.max(64, madds)).toBeLessThan(2);
    }
    expect(floorShape(1e12).madds).toBeLessThanOrEqual(8e8);
  });

  it('every floor kernel agrees with the scalar one', async () => {
    const { kernels } = await floorKernels();
    for (const k of kernels) {
      const t = timeFloor(k, 2e5, { warmupMs: 5, targetMs: 5, budgetMs: 2000, clock: 'wall' });
      expect(t.check).toBeLessThan(1e-12);
      expect(t.rate).toBeGreaterThan(0);
    }
  });
});
