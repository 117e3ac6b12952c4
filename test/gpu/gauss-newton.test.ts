// gaussNewton on the GPU (float32, in the Hessian's windows) against the float64 TypeScript
// target, within 1e-4 of the largest entry, on the Gauss-Newton test models and the examples
// that declare outputs; also through several windows of the Hessian binding, with the Hessian
// computed before and after it (the two share the buffer), and its errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { GGN_MODELS, ggnPoint, type GgnModel, type WithGgn } from '../numeric/gauss-newton-models.ts';

const TOL = 1e-4;
interface GpuGgn {
  setData(d: DataArg): void;
  hessian(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  gaussNewton(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  destroy(): void;
}

const EXAMPLES: GgnModel[] = [
  { name: 'mlp_classifier', convex: true, data: [['X', ['N', 4]], ['Y', ['N', 3]]], source: readFileSync(join(repoRoot, 'examples', 'mlp_classifier.hess'), 'utf8') },
  { name: 'logreg', convex: true, data: [['X', ['N', 3]], ['t', ['N']]], source: readFileSync(join(repoRoot, 'examples', 'logreg.hess'), 'utf8') },
];

async function check(m: GgnModel, N: number, ctx: { skip: (note?: string) => void }, options?: { maxWindowBytes: number }): Promise<void> {
  const device = await deviceOrSkip(ctx);
  const cpu = (await compileModel(m.source, `${m.name}.hess`)).module as WithGgn;
  const gpu = await loadGpu(compileToGpu(m.source, `${m.name}.hess`), m.name);
  const k = (await gpu.createKernels(device, options)) as unknown as GpuGgn;
  const n = cpu.model.n;
  const p = ggnPoint(m, n, N, 'gpu');
  k.setData(p.data);
  const G = cpu.gaussNewton(p.theta, p.data);
  const H = cpu.hessian(p.theta, p.data);
  expect(relativeError(await k.hessian(p.theta), H), `${m.name}: Hessian first`).toBeLessThan(TOL);
  const out = new Float32Array(n * n);
  expect(await k.gaussNewton(p.theta, out)).toBe(out);
  expect(relativeError(out, G), `${m.name}: gaussNewton`).toBeLessThan(TOL);
  // Exactly symmetric, as on the CPU (each value stored at its entry and its mirror).
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (out[i * n + j] !== out[j * n + i]) throw new Error(`${m.name}: G[${i},${j}] ≠ G[${j},${i}]`);
  // The Hessian again, after the GGN wrote the same buffer.
  expect(relativeError(await k.hessian(p.theta), H), `${m.name}: Hessian after`).toBeLessThan(TOL);
  await expect(async () => k.gaussNewton(p.theta, new Float32Array(3))).rejects.toThrow(RangeError);
  await expect(async () => k.gaussNewton([1])).rejects.toThrow(RangeError);
  k.destroy();
}

describe('GPU gaussNewton (float32 vs the float64 TypeScript target)', () => {
  for (const m of [...GGN_MODELS, ...EXAMPLES]) {
    it(m.name, { timeout: 120_000 }, async (ctx) => {
      await check(m, 37, ctx);
    });
  }
  it('through many small windows of the Hessian binding', { timeout: 120_000 }, async (ctx) => {
    await check(GGN_MODELS[1]!, 5, ctx, { maxWindowBytes: 256 });
  });
  it('a module without outputs has no gaussNewton: calling it is an error, not zeros', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const src = 'param x[2]\nminimize sum(exp(x))\n';
    const k = (await (await loadGpu(compileToGpu(src, 'plain.hess'), 'plain')).createKernels(device)) as unknown as GpuGgn;
    k.setData({});
    await expect(async () => k.gaussNewton([0, 0])).rejects.toThrow(/built without gaussNewton/);
    k.destroy();
  });
});
