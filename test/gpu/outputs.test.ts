// H·v and diag(H) on the GPU (float32) against the float64 TypeScript target, within 1e-4 of
// the largest entry, on the fixtures and some test models; the GPU run must not allocate the
// Hessian for them.
import { describe, expect, it } from 'vitest';
import { loadFixtures } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';

const TOL = 1e-4;
type Cpu = GeneratedModule & {
  hvp(theta: ArrayLike<number>, data: DataArg | undefined, v: ArrayLike<number>): Float64Array;
  hessianDiagonal(theta: ArrayLike<number>, data?: DataArg): Float64Array;
};
interface GpuOutputs {
  setData(d: DataArg): void;
  hvp(theta: ArrayLike<number>, v: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  hessianDiagonal(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  destroy(): void;
}

const MODELS = ['net_mlp_sigmoid', 'net_softmax_ce', 'idx_shift', 'quadratic_form', 'red_logsumexp', 'poisson'];

async function check(label: string, source: string, theta: ArrayLike<number>, data: DataArg, ctx: { skip: (note?: string) => void }): Promise<void> {
  const device = await deviceOrSkip(ctx);
  const cpu = (await compileModel(source, `${label}.hess`)).module as Cpu;
  const gpu = await loadGpu(compileToGpu(source, `${label}.hess`), label);
  const k = (await gpu.createKernels(device)) as unknown as GpuOutputs;
  k.setData(data);
  const n = cpu.model.n;
  const rng = makeRng(label);
  const v = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  expect(relativeError(await k.hvp(theta, v), cpu.hvp(theta, data, v)), `${label}: hvp`).toBeLessThan(TOL);
  const out = new Float32Array(n);
  expect(await k.hessianDiagonal(theta, out)).toBe(out);
  expect(relativeError(out, cpu.hessianDiagonal(theta, data)), `${label}: diagonal`).toBeLessThan(TOL);
  await expect(async () => k.hvp(theta, [1])).rejects.toThrow(RangeError);
  k.destroy();
}

describe('GPU hvp and hessianDiagonal (float32 vs the float64 TypeScript target)', () => {
  for (const f of loadFixtures()) {
    it(f.name, { timeout: 120_000 }, async (ctx) => {
      await check(f.name, f.source, f.json.theta, f.json.data as DataArg, ctx);
    });
  }
  const cases = loadModelCases().filter((c) => MODELS.includes(c.name));
  it('covers the chosen test models', () => expect(cases.map((c) => c.name).sort()).toEqual([...MODELS].sort()));
  for (const c of cases) {
    it(c.name, { timeout: 120_000 }, async (ctx) => {
      const p = makePoint(c.name, c.source, c.spec);
      await check(c.name, c.source, p.theta, p.data, ctx);
    });
  }
});
