// Every element-wise function (and derivative) the WGSL target emits, evaluated on the GPU over
// its domain and compared with float64: WGSL's builtins are loose (exp 3 + 2|x| ULP, tanh may
// overflow), so the generated code writes several of them out, and this holds them to account.
import { describe, expect, it } from 'vitest';
import { MAP_FUNCTIONS } from '../../compiler/3-differentiate/functions.ts';
import type { MapFn } from '../../compiler/2-ir/index-form.ts';
import { wgslFnDefinition, wgslFnDeps, wgslFnName } from '../../compiler/6-emit/wgsl-functions.ts';
import { deviceOrSkip } from '../helpers/gpu.ts';

const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REF: Record<string, (x: number) => number> = {
  exp: Math.exp, log: Math.log, log0: (x) => (x === 0 ? -1e15 : Math.log(x)), log1p: Math.log1p, log1p_d1: (x) => 1 / (1 + x), log1p_d2: (x) => -1 / ((1 + x) * (1 + x)),
  expm1: Math.expm1, abs: Math.abs, sign: Math.sign, sin: Math.sin, cos: Math.cos, tan: Math.tan,
  tan_d1: (x) => 1 / Math.cos(x) ** 2, tan_d2: (x) => (2 * Math.sin(x)) / Math.cos(x) ** 3,
  atan: Math.atan, atan_d1: (x) => 1 / (1 + x * x), atan_d2: (x) => (-2 * x) / (1 + x * x) ** 2,
  sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh, tanh_d1: (x) => 1 - Math.tanh(x) ** 2, tanh_d2: (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2),
  sigmoid: sig, sigmoid_d1: (x) => sig(x) * (1 - sig(x)), sigmoid_d2: (x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), relu: (x) => Math.max(x, 0), step: (x) => (x > 0 ? 1 : 0),
};

/** Sample points of a function's domain (kept where float32 can represent the result). */
function domain(name: string): number[] {
  const grid = (lo: number, hi: number, k = 401) => Array.from({ length: k }, (_, i) => lo + ((hi - lo) * i) / (k - 1));
  const small = [1e-8, -1e-8, 1e-5, -1e-5, 3e-4, -3e-4, 0.01, -0.01];
  if (name.startsWith('log1p')) return [...grid(-0.9, 20), ...small];
  if (name === 'log') return grid(0.01, 50);
  // A power's log (a .^ b): finite at 0.
  if (name === 'log0') return [0, ...grid(0.01, 50)];
  if (name.startsWith('tan')) return name.startsWith('tanh') ? [...grid(-30, 30), ...small] : grid(-1.4, 1.4);
  if (name === 'exp' || name === 'sinh' || name === 'cosh' || name === 'expm1') return [...grid(-20, 20), ...small];
  return [...grid(-30, 30), ...small];
}

const POWERS = [2, 3, -1, -2, 0.5, -0.5, 4, 5, -3, 1.5, -2.5, 0.25];

async function run(device: GPUDevice, fn: MapFn, xs: number[]): Promise<Float32Array> {
  const defs = new Map<string, MapFn>();
  const add = (f: MapFn) => {
    if (defs.has(wgslFnName(f))) return;
    defs.set(wgslFnName(f), f);
    wgslFnDeps(f).forEach(add);
  };
  add(fn);
  const code = `${[...defs.values()].map(wgslFnDefinition).join('\n')}
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&xs)) { ys[g.x] = ${wgslFnName(fn)}(xs[g.x]); }
}`;
  const module = device.createShaderModule({ code });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bytes = xs.length * 4;
  const input = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const output = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(input, 0, Float32Array.from(xs));
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: input } }, { binding: 1, resource: { buffer: output } }] });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(xs.length / 64));
  pass.end();
  enc.copyBufferToBuffer(output, 0, read, 0, bytes);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const ys = new Float32Array(read.getMappedRange().slice(0));
  for (const b of [input, output, read]) b.destroy();
  return ys;
}

const cases: { fn: MapFn; ref: (x: number) => number }[] = [
  ...MAP_FUNCTIONS.filter((n) => n !== 'pow').map((name) => ({ fn: { name, p: 0 }, ref: REF[name]! })),
  ...POWERS.map((p) => ({ fn: { name: 'pow', p }, ref: (x: number) => Math.pow(x, p) })),
];

describe('WGSL element-wise functions against float64', () => {
  it('has a reference for every function the compiler may emit', () => {
    for (const name of MAP_FUNCTIONS) if (name !== 'pow') expect(REF[name], name).toBeTypeOf('function');
  });
  for (const { fn, ref } of cases) {
    const label = fn.name === 'pow' ? `pow ${fn.p}` : fn.name;
    it(label, { timeout: 60_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      let xs = fn.name === 'pow' ? [...domain('pow'), 0.37, 2.5] : domain(fn.name);
      // Integer powers take any sign; others need x > 0 (and no 0 for negative powers).
      if (fn.name === 'pow' && !Number.isInteger(fn.p)) xs = xs.filter((x) => x > 0);
      if (fn.name === 'pow' && fn.p < 0) xs = xs.filter((x) => Math.abs(x) > 0.05);
      xs = xs.map(Math.fround).filter((x) => Math.abs(ref(x)) < 1e30);
      const ys = await run(device, fn, xs);
      let worst = 0;
      let at = 0;
      xs.forEach((x, i) => {
        const want = ref(x);
        // Relative error, with an absolute floor scaled to the function's size nearby.
        const err = Math.abs(ys[i]! - want) / Math.max(Math.abs(want), 1e-6);
        if (err > worst) [worst, at] = [err, x];
      });
      expect(worst, `${label}: worst relative error ${worst.toExponential(2)} at x = ${at}`).toBeLessThan(2e-5);
    });
  }
});
