// Differential fuzzing of the WGSL target: random valid models (test/fuzz/generate.ts) run on the
// GPU (Mesa here and in CI) against the float64 TypeScript target at the same point; models with
// `output` declarations, their Gauss-Newton matrix too.
//
//   HESSGEN_GPU_FUZZ_COUNT=1000 npx vitest run test/gpu/random-models   more models (default 40)
//   HESSGEN_GPU_FUZZ_SEED=7 / HESSGEN_GPU_FUZZ_ONLY=12                  another stream / one model
import { describe, expect, it } from 'vitest';
import { modelSeed } from '../fuzz/check.ts';
import { DEFAULT_MAX_N, generateModel } from '../fuzz/generate.ts';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, compileToTs } from '../helpers/load.ts';
import { compile, OUTPUT_KINDS } from '../../compiler/index.ts';
import { typeCheck, type SourceFile } from '../helpers/typecheck.ts';
import { makePoint } from '../models/cases.ts';
import { relativeError } from '../helpers/numeric.ts';

// The bound, relative to the largest entry, as for the fixtures and our models.
const TOL_BASE = 1e-4;
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const COUNT = env('HESSGEN_GPU_FUZZ_COUNT', 40);
const SEED = env('HESSGEN_GPU_FUZZ_SEED', 1);
const ONLY = process.env.HESSGEN_GPU_FUZZ_ONLY;
const indices = ONLY ? [Number(ONLY)] : Array.from({ length: COUNT }, (_, i) => i);
/**
 * A model whose GPU module has more shaders than this is run without gaussNewton (its kernels
 * would add a quarter to pipeline creation, which already takes minutes on llvmpipe for these).
 */
const GGN_MAX_SHADERS = 400;

/** The GPU module, and whether it has gaussNewton (models with outputs, unless too many shaders). */
function gpuModule(source: string, path: string, outputs: boolean): { code: string; ggn: boolean } {
  const code = compileToGpu(source, path);
  if (!outputs || (code.match(/@compute/g) ?? []).length <= GGN_MAX_SHADERS) return { code, ggn: outputs };
  const r = compile(source, path, { targets: ['wgsl'], outputs: OUTPUT_KINDS.filter((o) => o !== 'gaussNewton') });
  if (!r.ok) throw new Error(`${path} does not compile`);
  return { code: r.outputs[0]!.code, ggn: false };
}

describe(`random models on the GPU (seed ${SEED})`, () => {
  for (const index of indices) {
    it(`model #${index}`, { timeout: 300_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      // Tail terms float32 represents (σ at ±30, not ±700).
      const m = generateModel(modelSeed(SEED, 1000 + index), DEFAULT_MAX_N, { float32: true });
      const label = `gpu_fuzz_${SEED}_${index}`;
      const why = `model #${index} (rerun: HESSGEN_GPU_FUZZ_SEED=${SEED} HESSGEN_GPU_FUZZ_ONLY=${index})\n${m.source}`;
      const { module: cpu } = await compileModel(m.source, `${label}.hess`);
      const gpuCode = gpuModule(m.source, `${label}.hess`, m.gaussNewton !== undefined);
      const gpu = await loadGpu(gpuCode.code, label);
      const dims = Object.fromEntries(m.symbolicDims.map((d) => [d.name, d.sizes[0]]));
      const p = makePoint(m.seed, m.source, { dims }, 0);
      const ref = cpu.evaluate(p.theta, p.data);
      // How much float32 rounding of the inputs alone moves the float64 results: random models
      // nest many functions, and an ill-conditioned one is allowed that much more.
      const f32 = (v: number | Float64Array) => (typeof v === 'number' ? Math.fround(v) : Float64Array.from(Float32Array.from(v)));
      const rounded = cpu.evaluate(f32(p.theta) as Float64Array, Object.fromEntries(Object.entries(p.data).map(([k, v]) => [k, f32(v)])));
      const ggnOf = (theta: ArrayLike<number>, data: typeof p.data) => (cpu as unknown as { gaussNewton(t: ArrayLike<number>, d: typeof p.data): Float64Array }).gaussNewton(theta, data);
      const ggn = gpuCode.ggn ? ggnOf(p.theta, p.data) : null;
      const ggnRounded = gpuCode.ggn ? ggnOf(f32(p.theta) as Float64Array, Object.fromEntries(Object.entries(p.data).map(([k, v]) => [k, f32(v)]))) : null;
      const sensitivity = Math.max(
        relativeError([rounded.value], [ref.value]), relativeError(rounded.gradient, ref.gradient), relativeError(rounded.hessian, ref.hessian),
        ggn && ggnRounded ? relativeError(ggnRounded, ggn) : 0,
      );
      const TOL = Math.max(TOL_BASE, 100 * sensitivity);
      const k = await gpu.createKernels(device);
      k.setData(p.data);
      const r = await k.evaluate(p.theta);
      const G = ggn ? await (k as unknown as { gaussNewton(t: ArrayLike<number>): Promise<Float32Array> }).gaussNewton(p.theta) : null;
      k.destroy();
      if (ggn) expect(relativeError(G!, ggn), `Gauss-Newton matrix of ${why}`).toBeLessThan(TOL);
      expect(Math.abs(r.value - ref.value) / Math.max(1, Math.abs(ref.value)), `value of ${why}`).toBeLessThan(TOL);
      expect(relativeError(r.gradient, ref.gradient), `gradient of ${why}`).toBeLessThan(TOL);
      expect(relativeError(r.hessian, ref.hessian), `Hessian of ${why} (float32 input sensitivity ${sensitivity.toExponential(1)})`).toBeLessThan(TOL);
    });
  }
  // Every model's GPU module (with the runtime it imports) and TypeScript module, in one tsc
  // program under the flags the README promises; needs no adapter.
  it('every generated module type-checks under the promised flags', { timeout: 300_000 }, () => {
    const files: SourceFile[] = [];
    for (const index of indices) {
      const m = generateModel(modelSeed(SEED, 1000 + index), DEFAULT_MAX_N, { float32: true });
      const label = `gpu_fuzz_${SEED}_${index}`;
      files.push({ name: `${label}.gpu.ts`, code: gpuModule(m.source, `${label}.hess`, m.gaussNewton !== undefined).code }, { name: `${label}.ts`, code: compileToTs(m.source, `${label}.hess`) });
    }
    const errors = typeCheck(files, {
      runtime: join(repoRoot, 'runtime', 'index.ts'),
      webgpuTypes: join(repoRoot, 'node_modules', '@webgpu', 'types', 'dist', 'index.d.ts'),
    });
    expect(errors).toEqual([]);
  });
});
