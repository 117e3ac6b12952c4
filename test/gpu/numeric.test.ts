// The WGSL kernels, executed (Mesa's llvmpipe here and in CI), against float64 references:
// the reference fixtures' independent values, and the TypeScript target on every test model.
// float32 results must lie within 1e-4 of the reference, relative to its largest entry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFixtures, repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';
import { relativeError } from '../helpers/numeric.ts';

const TOL = 1e-4;

function expectSymmetric(H: Float32Array, n: number, label: string): void {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (H[i * n + j] !== H[j * n + i]) throw new Error(`${label}: H[${i},${j}] ≠ H[${j},${i}]`);
}

describe('GPU kernels on the reference fixtures (float32 vs independent float64)', () => {
  for (const f of loadFixtures()) {
    it(f.name, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const mod = await loadGpu(compileToGpu(f.source, f.path), f.name);
      const k = await mod.createKernels(device);
      k.setData(f.json.data as DataArg);
      const r = await k.evaluate(f.json.theta);
      const n = f.json.n;
      expect(mod.model.n).toBe(n);
      expect(Math.abs(r.value - f.json.value) / Math.max(1, Math.abs(f.json.value))).toBeLessThan(TOL);
      expect(relativeError(r.gradient, f.json.gradient)).toBeLessThan(TOL);
      expect(relativeError(r.hessian, f.json.hessian)).toBeLessThan(TOL);
      expectSymmetric(r.hessian, n, f.name);
      // hessian() agrees with evaluate() and fills `out`.
      const out = new Float32Array(n * n);
      expect(await k.hessian(f.json.theta, out)).toBe(out);
      expect(relativeError(out, r.hessian)).toBe(0);
      k.destroy();
    });
  }
});

describe('GPU kernels on our test models (float32 vs the float64 TypeScript target)', () => {
  for (const c of loadModelCases()) {
    it(c.name, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const { module: cpu } = await compileModel(c.source, c.path);
      const gpu = await loadGpu(compileToGpu(c.source, c.path), c.name);
      const k = await gpu.createKernels(device);
      const p = makePoint(c.name, c.source, c.spec);
      const ref = cpu.evaluate(p.theta, p.data);
      k.setData(p.data);
      const r = await k.evaluate(p.theta);
      const scale = Math.max(1, Math.abs(ref.value));
      expect(Math.abs(r.value - ref.value) / scale, 'value').toBeLessThan(TOL);
      expect(relativeError(r.gradient, ref.gradient), 'gradient').toBeLessThan(TOL);
      expect(relativeError(r.hessian, ref.hessian), 'Hessian').toBeLessThan(TOL);
      expectSymmetric(r.hessian, cpu.model.n, c.name);
      k.destroy();
    });
  }
});

describe('GPU kernels on the benchmark models at small sizes (float32 vs the float64 TypeScript target)', () => {
  // 784-32-10 is left out: its 2.6 GB Hessian is too much for the CPU adapter; it shares every
  // kernel shape with 64-32-10 (only the numbers differ).
  const sizes: Record<string, number> = { mlp_3_5_1: 7, mlp_64_32_10: 9, rosenbrock_1000: 0, softmax_64_128: 3 };
  for (const [name, N] of Object.entries(sizes)) {
    it(name, { timeout: 300_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const path = `bench/models/${name}.hess`;
      const source = readFileSync(join(repoRoot, path), 'utf8');
      const { module: cpu } = await compileModel(source, path);
      const gpu = await loadGpu(compileToGpu(source, path), name);
      const p = makePoint(name, source, {}, 0, { N });
      const ref = cpu.evaluate(p.theta, p.data);
      const k = await gpu.createKernels(device);
      k.setData(p.data);
      const r = await k.evaluate(p.theta);
      k.destroy();
      expect(Math.abs(r.value - ref.value) / Math.max(1, Math.abs(ref.value)), 'value').toBeLessThan(TOL);
      expect(relativeError(r.gradient, ref.gradient), 'gradient').toBeLessThan(TOL);
      expect(relativeError(r.hessian, ref.hessian), 'Hessian').toBeLessThan(TOL);
    });
  }
});
