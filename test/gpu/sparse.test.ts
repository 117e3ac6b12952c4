// hessianSparse on the GPU (float32), executed on Mesa's llvmpipe: its pattern is the CPU module's
// (the same CSR, entry for entry); its values lie within 1e-4 (relative to the largest entry) of
// the float64 CPU module's hessianSparse, and equal (to float32 rounding) the GPU's own dense
// Hessian at the pattern's entries; no nonzero of the GPU's dense Hessian falls outside the pattern. On the fixtures, every
// test model, the benchmark models at small sizes and random models; then the values spread over
// many windows (several passes), the API's errors, hessianSparseBuffer, and a Rosenbrock chain
// whose dense Hessian (6.4 GB) is never allocated.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { modelSeed } from '../fuzz/check.ts';
import { DEFAULT_MAX_N, generateModel } from '../fuzz/generate.ts';
import { loadFixtures, repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';

const TOL = 1e-4;

interface Pattern {
  readonly n: number;
  readonly nnz: number;
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
}
type Cpu = GeneratedModule & {
  readonly model: GeneratedModule['model'] & { readonly hessianPattern: Pattern };
  hessianSparse(theta: ArrayLike<number>, data?: DataArg, values?: Float64Array): Float64Array;
};
interface GpuSparse {
  setData(d: DataArg): void;
  hessian(theta: ArrayLike<number>): Promise<Float32Array>;
  hessianSparse(theta: ArrayLike<number>, values?: Float32Array): Promise<Float32Array>;
  hessianSparseBuffer(theta: ArrayLike<number>): Promise<GPUBuffer>;
  destroy(): void;
}

async function gpuKernels(source: string, label: string, device: GPUDevice, options?: { maxWindowBytes: number }) {
  const mod = await loadGpu(compileToGpu(source, `${label}.hess`), label);
  const k = (await mod.createKernels(device, options)) as unknown as GpuSparse;
  return { k, pattern: (mod.model as unknown as { hessianPattern: Pattern }).hessianPattern };
}

/** The GPU's sparse values against the CPU's and against the GPU's dense Hessian. */
async function check(label: string, source: string, theta: ArrayLike<number>, data: DataArg, device: GPUDevice, tol = TOL): Promise<void> {
  const cpu = (await compileModel(source, `${label}.hess`)).module as Cpu;
  const { k, pattern } = await gpuKernels(source, label, device);
  const P = cpu.model.hessianPattern;
  expect(pattern.nnz, `${label}: nnz`).toBe(P.nnz);
  expect(Array.from(pattern.rowPtr), `${label}: rowPtr`).toEqual(Array.from(P.rowPtr));
  expect(Array.from(pattern.colIdx), `${label}: colIdx`).toEqual(Array.from(P.colIdx));
  k.setData(data);
  const values = await k.hessianSparse(theta);
  expect(values).toBeInstanceOf(Float32Array);
  expect(relativeError(values, cpu.hessianSparse(theta, data)), `${label}: GPU vs CPU values`).toBeLessThan(tol);
  // The GPU's dense Hessian: no nonzero outside the pattern, and the pattern's entries equal.
  const n = P.n;
  const H = await k.hessian(theta);
  const inPattern = new Uint8Array(n * n);
  const atPattern = new Float32Array(P.nnz);
  for (let r = 0; r < n; r++) {
    for (let q = P.rowPtr[r]!; q < P.rowPtr[r + 1]!; q++) {
      inPattern[r * n + P.colIdx[q]!] = 1;
      atPattern[q] = H[r * n + P.colIdx[q]!]!;
    }
  }
  let missed = 0;
  for (let e = 0; e < n * n; e++) if (H[e] !== 0 && !inPattern[e]) missed++;
  expect(missed, `${label}: nonzeros of the GPU Hessian outside the pattern`).toBe(0);
  // (The same terms in the same order, but separately compiled shaders may contract a·b + c
  // differently: equal to float32 rounding, not bit for bit.)
  expect(relativeError(values, atPattern), `${label}: sparse values vs the dense Hessian's entries`).toBeLessThan(1e-6);
  k.destroy();
}

describe('GPU hessianSparse against the float64 CPU values and the GPU dense Hessian', () => {
  for (const f of loadFixtures()) {
    it(`fixture ${f.name}`, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      await check(f.name, f.source, f.json.theta, f.json.data as DataArg, device);
    });
  }
  it('every test model', { timeout: 600_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    for (const c of loadModelCases()) {
      const p = makePoint(c.name, c.source, c.spec);
      await check(c.name, c.source, p.theta, p.data, device);
    }
  });
  // (softmax_64_128 is left out: its Hessian is 69 M entries, all structurally nonzero, too much for
  // the CPU adapter twice over; its kernels have the shapes of 64-32-10's dense blocks.)
  const sizes: Record<string, number> = { mlp_3_5_1: 7, mlp_64_32_10: 5, rosenbrock_1000: 0 };
  for (const [name, N] of Object.entries(sizes)) {
    it(`bench model ${name}`, { timeout: 300_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const source = readFileSync(join(repoRoot, 'bench', 'models', `${name}.hess`), 'utf8');
      const p = makePoint(name, source, {}, 0, { N });
      await check(name, source, p.theta, p.data, device);
    });
  }
  // (A few: each runs the dense and the sparse Hessian on the CPU adapter; test/gpu/random-models
  // covers the kernels themselves on many more.)
  it('random models', { timeout: 900_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    for (let i = 0; i < 5; i++) {
      const m = generateModel(modelSeed(5, 3000 + i), DEFAULT_MAX_N, { float32: true });
      const dims = Object.fromEntries(m.symbolicDims.map((d) => [d.name, d.sizes[0]]));
      const p = makePoint(m.seed, m.source, { dims }, 0);
      // As the random-model test allows: more where float32 rounding of the inputs alone moves the float64 result.
      const { module: cpu } = await compileModel(m.source, `gpu_sparse_${i}.hess`);
      const f32 = (v: number | Float64Array) => (typeof v === 'number' ? Math.fround(v) : Float64Array.from(Float32Array.from(v)));
      const ref = cpu.hessian(p.theta, p.data);
      const rounded = cpu.hessian(f32(p.theta) as Float64Array, Object.fromEntries(Object.entries(p.data).map(([k, v]) => [k, f32(v)])));
      const tol = Math.max(TOL, 100 * relativeError(rounded, ref));
      await check(`gpu_sparse_${i}`, m.source, p.theta, p.data, device, tol);
    }
  });
});

describe('GPU hessianSparse: windows, buffers, errors, scale', () => {
  const chain = (n: number) => `param x[${n}]\nminimize sum(100 * (x[2:end] - x[1:${n - 1}] .^ 2) .^ 2 + (1 - x[1:${n - 1}]) .^ 2)\n`;
  const rosen = (n: number) => Float64Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(i));

  it('values over many windows (two per pass, the pattern in the third binding) equal one window', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const n = 1000;
    const one = await gpuKernels(chain(n), 'rosen_one', device);
    const many = await gpuKernels(chain(n), 'rosen_many', device, { maxWindowBytes: 256 });
    one.k.setData({});
    many.k.setData({});
    const a = await one.k.hessianSparse(rosen(n));
    const b = await many.k.hessianSparse(rosen(n));
    expect(b.length).toBe(3 * n - 2);
    expect(relativeError(b, a)).toBe(0);
    // Row 1 by hand: -400 x0, 200 + 1200 x1² - 400 x2 + 2, -400 x1 (float32).
    const x = rosen(n);
    const k = one.pattern.rowPtr[1]!;
    expect(Math.abs(a[k]! - -400 * x[0]!)).toBeLessThan(1e-4 * 400);
    expect(Math.abs(a[k + 1]! - (200 + 1200 * x[1]! ** 2 - 400 * x[2]! + 2))).toBeLessThan(1e-4 * 1200);
    one.k.destroy();
    many.k.destroy();
  });

  it('values and hessianSparseBuffer: the caller\'s array filled, the buffer holding the values', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const n = 50;
    const { k, pattern } = await gpuKernels(chain(n), 'rosen_api', device);
    k.setData({});
    const out = new Float32Array(pattern.nnz).fill(NaN);
    expect(await k.hessianSparse(rosen(n), out)).toBe(out);
    await expect(async () => k.hessianSparse(rosen(n), new Float32Array(pattern.nnz + 1))).rejects.toThrow(RangeError);
    await expect(async () => k.hessianSparse([1, 2])).rejects.toThrow(RangeError);
    const buffer = await k.hessianSparseBuffer(rosen(n));
    const staging = device.createBuffer({ size: pattern.nnz * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, pattern.nnz * 4);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    expect(Array.from(new Float32Array(staging.getMappedRange()))).toEqual(Array.from(out));
    staging.unmap();
    staging.destroy();
    k.destroy();
  });

  it('a module built without hessianSparse says so', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const r = compile(chain(10), 'rosen_no_sparse.hess', { targets: ['wgsl'], outputs: ['value', 'gradient', 'hessian'] });
    if (!r.ok) throw new Error('does not compile');
    const code = r.outputs[0]!.code;
    expect(code).not.toContain('hess_slot');
    const mod = await loadGpu(code, 'rosen_no_sparse');
    const k = (await mod.createKernels(device)) as unknown as GpuSparse;
    k.setData({});
    await expect(async () => k.hessianSparse(rosen(10))).rejects.toThrow(/built without hessianSparse/);
    k.destroy();
  });

  // (The GPU's shaders index a problem's Hessian entries in i32: n² < 2³¹, so n ≤ 46 340.)
  it('Rosenbrock n = 40 000: the values without the n × n Hessian (6.4 GB in float32)', { timeout: 300_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const n = 40_000;
    const source = chain(n);
    const { k, pattern } = await gpuKernels(source, 'rosen_4e4', device);
    const cpu = (await compileModel(source, 'rosen_4e4.hess')).module as Cpu;
    k.setData({});
    const x = rosen(n);
    expect(relativeError(await k.hessianSparse(x), cpu.hessianSparse(x))).toBeLessThan(TOL);
    expect(pattern.nnz).toBe(3 * n - 2);
    k.destroy();
  });
});
