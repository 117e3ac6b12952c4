// Two builds of one model compared output by output (a pass must not change what a module computes):
// the 3-5-1 MLP's random points, and value, gradient, Hessian, sparse Hessian (and shards) of both builds.
import { expect } from 'vitest';
import type { GeneratedModule } from './load.ts';
import { makeRng } from './rng.ts';

/** θ and data for the 3-5-1 MLP (bench/models/mlp_3_5_1.hess) with N samples. */
export function mlpPoint(rng: ReturnType<typeof makeRng>, N: number): { theta: Float64Array; data: { X: Float64Array; y: Float64Array } } {
  const theta = Float64Array.from({ length: 26 }, () => rng.uniform(-1, 1));
  const data = { X: Float64Array.from({ length: 3 * N }, () => rng.uniform(-2, 2)), y: Float64Array.from({ length: N }, () => rng.uniform(-1, 1)) };
  return { theta, data };
}

/** |x[i] − y[i]| ≤ tol · max |y|, entry by entry. */
export function expectClose(x: ArrayLike<number>, y: ArrayLike<number>, tol = 1e-13): void {
  expect(x.length).toBe(y.length);
  const scale = Math.max(1e-300, ...Array.from(y, Math.abs));
  for (let i = 0; i < y.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(tol * scale);
}

type Sparse = { hessianSparse(t: ArrayLike<number>, d: object): Float64Array };

/** a and b agree at (θ, data) on every output named here; a's evaluation, for further checks. */
export function expectSameOutputs(a: GeneratedModule, b: GeneratedModule, theta: Float64Array, data: object): { value: number; gradient: Float64Array; hessian: Float64Array } {
  const ra = a.evaluate(theta, data as never);
  const rb = b.evaluate(theta, data as never);
  expectClose([ra.value], [rb.value]);
  expectClose(ra.gradient, rb.gradient);
  expectClose(ra.hessian, rb.hessian);
  expectClose(a.hessian(theta, data as never), rb.hessian);
  const sa = (a as unknown as Sparse).hessianSparse(theta, data);
  expectClose(sa, (b as unknown as Sparse).hessianSparse(theta, data));
  // The sparse values are the dense Hessian's nonzeros (one that is not there fails).
  expect(sa.length).toBeGreaterThan(0);
  const sum = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + Math.abs(v), 0);
  expect(Math.abs(sum(sa) - sum(ra.hessian))).toBeLessThanOrEqual(1e-12 * sum(ra.hessian));
  return ra;
}

type Shards = { createShardEvaluator(): { hessian(t: ArrayLike<number>, d: object, r: object): Float64Array } };

/**
 * Two builds of the 3-5-1 MLP agree (expectSameOutputs) at N = 1, 7 and 2500 (two chunks of the
 * batch), and a's shards over two halves of the batch sum to its Hessian; its evaluations, for
 * further checks.
 */
export function expectSameMlpOutputs(a: GeneratedModule, b: GeneratedModule, seed: string): { value: number; gradient: Float64Array; hessian: Float64Array }[] {
  const rng = makeRng(seed);
  return [1, 7, 2500].map((N) => {
    const { theta, data } = mlpPoint(rng, N);
    const r = expectSameOutputs(a, b, theta, data);
    const half = Math.floor(N / 2);
    const shard = (start: number, end: number) =>
      (a as unknown as Shards).createShardEvaluator().hessian(theta, { X: data.X.subarray(3 * start, 3 * end), y: data.y.subarray(start, end) }, { start, end, total: N });
    const upper = shard(half, N);
    expectClose(shard(0, half).map((v, i) => v + upper[i]!), r.hessian);
    return r;
  });
}
