// The GPU runtime's promises beyond single evaluations: tiled matrix-product kernels with
// ragged edges, Hessians larger than one storage binding (written window by window), batches of
// problems (many θ, batched data, both), read-back and GPU-resident results, and the errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type GpuPlan } from '../../runtime/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu, type GpuModule } from '../helpers/gpu.ts';
import { compileModel, type GeneratedModule } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';
import { relativeError } from '../helpers/numeric.ts';

const TOL = 1e-4;
const SLOW = 300_000;

const draw = (seed: string, length: number, lo = -1, hi = 1) => {
  const rng = makeRng(seed);
  return Float64Array.from({ length }, () => rng.uniform(lo, hi));
};

async function both(source: string, label: string): Promise<{ cpu: GeneratedModule; gpu: GpuModule }> {
  const { module: cpu } = await compileModel(source, `${label}.hess`);
  return { cpu, gpu: await loadGpu(compileToGpu(source, `${label}.hess`), label) };
}

// Sizes that fill no tile exactly: 37·29 rows and columns of the (W1, W1) block, 45 samples.
const RAGGED = `dim N
data X[N, 37]
data Y[N, 3]
param W1[37, 29]
param b1[29]
param W2[29, 3]
h = tanh(X * W1 + b1)
minimize mean((h * W2 - Y) .^ 2)
`;

const LOGREG = readFileSync(join(repoRoot, 'examples', 'logreg.hess'), 'utf8');
const SAMPLE = readFileSync(join(repoRoot, 'bench', 'models', 'mlp_3_5_1_sample.hess'), 'utf8');

describe('tiled matrix-product kernels', () => {
  it('a dense MLP block with ragged tiles matches the float64 target', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { cpu, gpu } = await both(RAGGED, 'ragged');
    expect(Object.values(gpu.wgsl).filter((w) => w.includes('tile_a')).length).toBeGreaterThan(0);
    const N = 45;
    const data = { X: draw('X', N * 37), Y: draw('Y', N * 3) };
    const theta = draw('theta', cpu.model.n, -0.3, 0.3);
    const k = await gpu.createKernels(device);
    k.setData(data);
    const ref = cpu.evaluate(theta, data);
    const r = await k.evaluate(theta);
    expect(relativeError(r.hessian, ref.hessian)).toBeLessThan(TOL);
    expect(relativeError(r.gradient, ref.gradient)).toBeLessThan(TOL);
    // A second data set of another size reuses the kernels.
    const N2 = 70;
    const data2 = { X: draw('X2', N2 * 37), Y: draw('Y2', N2 * 3) };
    k.setData(data2);
    expect(relativeError(await k.hessian(theta), cpu.hessian(theta, data2))).toBeLessThan(TOL);
    k.destroy();
  });
});

describe('saturated units', () => {
  it('tanh and σ far in their tails keep their curvature in float32', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const src = `dim N\ndata X[N, 3]\nparam w[3]\nparam v[3]\nminimize sum(tanh(X * w)) + sum(sigmoid(X * v))\n`;
    const { cpu, gpu } = await both(src, 'saturated');
    const N = 20;
    // |z| between 6 and 9: tanh′ ≈ 1e-5..1e-7, where 1 − tanh² in float32 is mostly rounding.
    const X = Float64Array.from({ length: N * 3 }, (_, i) => (i % 3 === 0 ? (i % 2 ? 1 : -1) * (6 + (i % 7) / 2) : 0.01 * (i % 5)));
    const theta = [1, 0.5, -0.5, 1.2, 0.3, 0.2];
    const k = await gpu.createKernels(device);
    k.setData({ X });
    const r = await k.evaluate(theta);
    const ref = cpu.evaluate(theta, { X });
    expect(relativeError(r.hessian, ref.hessian)).toBeLessThan(TOL);
    expect(relativeError(r.gradient, ref.gradient)).toBeLessThan(TOL);
    k.destroy();
  });
});

describe('Hessians larger than one storage binding', () => {
  it('a dense 6000 × 6000 Hessian (144 MB) is written in windows', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const n = 6000;
    expect(n * n * 4).toBeGreaterThan(device.limits.maxStorageBufferBindingSize);
    const src = `param w[${n}]\nminimize sum(w .^ 4) / 4 + sum(w) ^ 2 / 2\n`;
    const { cpu, gpu } = await both(src, 'wide');
    const theta = draw('wide', n);
    const k = await gpu.createKernels(device);
    const H = await k.hessian(theta);
    const ref = cpu.hessian(theta);
    expect(relativeError(H, ref)).toBeLessThan(TOL);
    k.destroy();
  });

  it('many small windows, three per pass: every kernel writing the Hessian runs once per pass', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { cpu, gpu } = await both(RAGGED, 'ragged');
    const N = 33;
    const data = { X: draw('wX', N * 37), Y: draw('wY', N * 3) };
    const theta = draw('wtheta', cpu.model.n, -0.3, 0.3);
    // 1189² floats in windows of 64 KiB: 87 windows, 29 passes; odd sizes leave a short last one.
    const k = await gpu.createKernels(device, { maxWindowBytes: 65536 });
    k.setData(data);
    const ref = cpu.evaluate(theta, data);
    const r = await k.evaluate(theta);
    expect(relativeError(r.hessian, ref.hessian)).toBeLessThan(TOL);
    expect(relativeError(r.gradient, ref.gradient)).toBeLessThan(TOL);
    expect(Math.abs(r.value - ref.value) / Math.abs(ref.value)).toBeLessThan(TOL);
    const B = 2;
    const thetas = draw('wthetas', B * cpu.model.n, -0.3, 0.3);
    const Hs = await k.hessianBatch(thetas);
    const n = cpu.model.n;
    for (let b = 0; b < B; b++) expect(relativeError(Hs.subarray(b * n * n, (b + 1) * n * n), cpu.hessian(thetas.subarray(b * n, (b + 1) * n), data))).toBeLessThan(TOL);
    k.destroy();
  });

  it('softmax regression 64 → 128 (n = 8320, 277 MB): tiled kernels across windows', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const src = readFileSync(join(repoRoot, 'bench', 'models', 'softmax_64_128.hess'), 'utf8');
    const { cpu, gpu } = await both(src, 'softmax');
    const N = 6;
    const rng = makeRng('softmax');
    const Y = new Float64Array(N * 128);
    for (let i = 0; i < N; i++) Y[i * 128 + rng.int(0, 127)] = 1;
    const data = { X: draw('sX', N * 64), Y };
    const theta = draw('stheta', cpu.model.n, -0.1, 0.1);
    const k = await gpu.createKernels(device);
    k.setData(data);
    const H = await k.hessian(theta);
    const ref = cpu.hessian(theta, data);
    expect(relativeError(H, ref)).toBeLessThan(TOL);
    k.destroy();

    // On a device with WebGPU's default limits (256 MiB per buffer) the same Hessian needs two
    // buffers: hessian() still reads it all, hessianBuffer() says to use hessianBuffers().
    const adapter = await (globalThis as { __hessgenGpu?: GPU }).__hessgenGpu!.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    const small = await adapter!.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: 6, maxComputeInvocationsPerWorkgroup: 256 } });
    expect(small.limits.maxBufferSize).toBeLessThan(H.length * 4);
    const k2 = await gpu.createKernels(small);
    k2.setData(data);
    expect(relativeError(await k2.hessian(theta), ref)).toBeLessThan(TOL);
    await expect(k2.hessianBuffer(theta)).rejects.toThrow(/use hessianBuffers\(\), which returns it in 2 parts/);
    const { buffers, elementsPerBuffer } = await k2.hessianBuffers(theta);
    expect(buffers.length).toBe(2);
    const tail = H.length - elementsPerBuffer;
    const staging = small.createBuffer({ size: tail * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = small.createCommandEncoder();
    enc.copyBufferToBuffer(buffers[1]!, 0, staging, 0, tail * 4);
    small.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    expect(relativeError(new Float32Array(staging.getMappedRange()), ref.subarray(elementsPerBuffer))).toBeLessThan(TOL);
    k2.destroy();
    small.destroy();
  });
});

describe('batches of problems', () => {
  it('hessianBatch and evaluateBatch over many θ with shared data', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { cpu, gpu } = await both(LOGREG, 'logreg');
    const n = cpu.model.n;
    const N = 40;
    const data = { X: draw('lX', N * 3), t: Float64Array.from(draw('lt', N), (v) => (v > 0 ? 1 : 0)) };
    const B = 9;
    const thetas = draw('lthetas', B * n);
    const k = await gpu.createKernels(device);
    k.setData(data);
    const H = await k.hessianBatch(thetas);
    const all = await k.evaluateBatch(thetas);
    expect(H.length).toBe(B * n * n);
    for (let b = 0; b < B; b++) {
      const th = thetas.subarray(b * n, (b + 1) * n);
      const ref = cpu.evaluate(th, data);
      expect(relativeError(H.subarray(b * n * n, (b + 1) * n * n), ref.hessian)).toBeLessThan(TOL);
      expect(relativeError(all.hessians.subarray(b * n * n, (b + 1) * n * n), ref.hessian)).toBeLessThan(TOL);
      expect(relativeError(all.gradients.subarray(b * n, (b + 1) * n), ref.gradient)).toBeLessThan(TOL);
      expect(Math.abs(all.values[b]! - ref.value) / Math.max(1, Math.abs(ref.value))).toBeLessThan(TOL);
    }
    k.destroy();
  });

  it('per-sample Hessians: batched data with one θ shared, and with one θ per problem', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { cpu, gpu } = await both(SAMPLE, 'sample');
    const n = cpu.model.n;
    const B = 500;
    const x = draw('sx', B * 3);
    const y = draw('sy', B);
    const theta = draw('stheta', n);
    const k = await gpu.createKernels(device);
    k.setData({ x, y }, { batched: ['x', 'y'] });
    const shared = await k.hessianBatch(theta);
    const thetas = draw('sthetas', B * n);
    const own = await k.hessianBatch(thetas);
    const buffer = await k.hessianBatchBuffer(thetas);
    expect(buffer.size).toBeGreaterThanOrEqual(B * n * n * 4);
    for (let b = 0; b < B; b += 37) {
      const d = { x: x.subarray(b * 3, b * 3 + 3), y: y[b]! };
      expect(relativeError(shared.subarray(b * n * n, (b + 1) * n * n), cpu.hessian(theta, d))).toBeLessThan(TOL);
      expect(relativeError(own.subarray(b * n * n, (b + 1) * n * n), cpu.hessian(thetas.subarray(b * n, (b + 1) * n), d))).toBeLessThan(TOL);
    }
    await expect(k.hessian(theta)).rejects.toThrow(RangeError);
    await expect(k.hessianBatch(draw('bad', 3 * n))).rejects.toThrow(/thetas has length 78, expected 26 \(one θ for all\) or 500 × 26/);
    k.destroy();
  });
});

describe('calls made without awaiting each other', () => {
  it('each get their own results, for the θ they were called with', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { cpu, gpu } = await both(LOGREG, 'logreg');
    const n = cpu.model.n;
    const data = { X: draw('cX', 30 * 3), t: Float64Array.from(draw('ct', 30), (v) => (v > 0 ? 1 : 0)) };
    const k = await gpu.createKernels(device);
    k.setData(data);
    const thetas = [0, 1, 2, 3].map((i) => Array.from(draw(`ctheta${i}`, n)));
    const first = thetas[0]!.slice();
    const pending = [k.hessian(thetas[0]!), k.evaluate(thetas[1]!), k.hessianBatch([...thetas[2]!, ...thetas[3]!])];
    thetas[0]![0] = 42; // changed after the call: the call keeps the θ it was given
    const [h0, e1, h23] = await Promise.all(pending);
    expect(relativeError(h0 as Float32Array, cpu.hessian(first, data))).toBeLessThan(TOL);
    expect(relativeError((e1 as { hessian: Float32Array }).hessian, cpu.hessian(thetas[1]!, data))).toBeLessThan(TOL);
    expect(relativeError((h23 as Float32Array).subarray(n * n), cpu.hessian(thetas[3]!, data))).toBeLessThan(TOL);
    k.destroy();
  });
});

describe('results left on the GPU', () => {
  it('hessianBuffer holds what hessian() reads back', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { gpu } = await both(RAGGED, 'ragged');
    const n = gpu.model.n;
    const N = 20;
    const k = await gpu.createKernels(device);
    k.setData({ X: draw('bX', N * 37), Y: draw('bY', N * 3) });
    const theta = draw('btheta', n, -0.3, 0.3);
    const buf = await k.hessianBuffer(theta);
    const staging = device.createBuffer({ size: n * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, 0, staging, 0, n * n * 4);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const onGpu = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    expect(relativeError(onGpu, await k.hessian(theta))).toBe(0);
    k.destroy();
  });
});

describe('errors', () => {
  it('bad θ, data, outputs and calls are RangeErrors or Errors that say what is wrong', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const { gpu } = await both(LOGREG, 'logreg');
    const k = await gpu.createKernels(device);
    await expect(k.hessian([1, 2, 3, 4])).rejects.toThrow(/no data: call setData first/);
    expect(() => k.setData({ X: [1, 2, 3] } as never)).toThrow(/data\.t: expected an array of numbers/);
    expect(() => k.setData({ X: [1, 2, 3, 4], t: [1] })).toThrow(RangeError);
    expect(() => k.setData({ X: [1, 2, 3, 4, 5, 6], t: [1, 0, 1] })).toThrow(/data\.t has length 3, expected 2 \(\[N\], N = 2 from data\.X\)/);
    expect(() => k.setData({ X: [1, 2, 3], t: [1] }, { batched: ['Z'] })).toThrow(/batched: "Z" is not a data array/);
    k.setData({ X: [1, 2, 3, 4, 5, 6], t: [1, 0] });
    await expect(k.hessian([1, 2, 3])).rejects.toThrow(/theta has length 3, expected 4/);
    await expect(k.hessian([1, 2, 3, 4], new Float32Array(3))).rejects.toThrow(/expected a Float32Array of length 16/);
    await expect(k.hessianBatch([1, 2, 3, 4, 5])).rejects.toThrow(/positive multiple of 4/);
    expect((await k.hessian([1, 2, 3, 4])).length).toBe(16);
    k.destroy();
    await expect(k.hessian([1, 2, 3, 4])).rejects.toThrow(/destroyed/);
    await expect(gpu.createKernels({} as GPUDevice)).rejects.toThrow(/needs a GPUDevice/);
  });

  it('a shader that does not compile is an Error naming the kernel', { timeout: SLOW }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const plan: GpuPlan = { n: 1, hessianWindows: 3, dims: [], data: [], temps: [], units: [{ name: 'broken', parts: [[1]], hessian: false, fields: ['total'] }], entries: { value: [], gradient: [], hessian: [{ unit: 'broken' }], evaluate: [] } };
    await expect(createEngine(device, { name: 'm', n: 1 }, plan, { broken: 'fn main( {' })).rejects.toThrow(/hessgen m: WGSL of kernel broken does not compile: \d+:\d+/);
  });
});
