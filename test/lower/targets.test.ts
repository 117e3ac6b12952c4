// The lowering takes a target capability record (compiler/5-lower/targets.ts): the target-neutral
// program, then the late CPU passes (compiler/5-lower/cpu/) that the record asks for, each exactly
// when its flag is on. The WGSL target's program carries none of them (no unrolled loop, no
// streamed batch, no derived tanh family), and the passes do not change what the module computes.
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import type { Model } from '../../compiler/2-ir/graph.ts';
import { CPU_TARGET, lowerModel, WGSL_TARGET, type TargetCapabilities } from '../../compiler/index.ts';
import { CPU_PASSES } from '../../compiler/5-lower/cpu/index.ts';
import type { Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { emitWgsl } from '../../compiler/6-emit/wgsl.ts';
import { loadTs } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';

// A batch (N), a tanh whose f, f′ and f″ all appear (the Hessian), and Hessian blocks whose entries
// are sums over the batch along output loops of length 8 (W1–W1 a dense matrix product with one
// factor per entry, Σ_a W2[j,a]·W2[l,a]): every CPU pass has something to do.
const SOURCE = `dim N
data X[N, 3]
data y[N, 2]
param W1[3, 8]
param b1[8]
param W2[8, 2]
param b2[2]
h = tanh(X * W1 + b1)
minimize mean((h * W2 + b2 - y) .^ 2)
`;

function parse(source: string): Model {
  const { model, diagnostics } = parseModel(source, 'targets.hess');
  expect(diagnostics).toEqual([]);
  return model!;
}

/** Every statement of the program, nested ones included. */
function statements(p: Program): Stmt[] {
  const out: Stmt[] = [];
  const visit = (sts: readonly Stmt[]) => {
    for (const st of sts) {
      out.push(st);
      if (st.k === 'for' || st.k === 'block') visit(st.body);
      if (st.k === 'forStep') {
        visit(st.body);
        visit(st.rest);
      }
    }
  };
  for (const k of p.kernels) visit(k.body);
  return out;
}

/** Which CPU rewrites a program shows. */
function features(p: Program): { unroll4: boolean; streamBatch: boolean; derivedFamilies: boolean; denseKernels: boolean } {
  const sts = statements(p);
  const streamed = p.batch !== null || Object.values(p.entries).some((s) => s.clear.length + s.stream.length + s.post.length > 0);
  // tanh′ and tanh″ from y = tanh(x): a `let y` and stores that are no longer calls of x.
  const derived = sts.some((st) => st.k === 'let' && st.name === 'y' && st.value.k === 'call' && st.value.fn.name === 'tanh');
  return { unroll4: sts.some((st) => st.k === 'forStep'), streamBatch: streamed, derivedFamilies: derived, denseKernels: sts.some((st) => st.k === 'denseBlock') };
}

const NONE: TargetCapabilities = { ...CPU_TARGET, name: 'none', derivedFamilies: false, streamBatch: false, unroll4: false, fuseSums: false, foldAdds: false, denseKernels: false, assignFirst: false, pairSymmetry: false, packProducts: false, gramProducts: false, packSmallBlocks: true, pairMinEntries: 1 };

/** Blocks of pair loops (pair symmetry, in the target-neutral lowering). */
const pairNests = (p: Program) => statements(p).filter((st) => st.k === 'block' && st.pair !== undefined).length;
const FLAGS = ['derivedFamilies', 'streamBatch', 'unroll4', 'denseKernels'] as const;
// (fuseSums has nothing to do in this model, whose blocks are large products: test/lower/fuse-sums.test.ts.)
// (assignFirst: test/lower/assign-first.test.ts.)
const PASS_FLAGS = [...FLAGS, 'fuseSums', 'foldAdds', 'assignFirst'] as const;

describe('target capability records', () => {
  const model = parse(SOURCE);

  it('the CPU lowering unrolls, streams the batch and derives the tanh family', () => {
    const p = lowerModel(model, { target: CPU_TARGET });
    expect(features(p)).toEqual({ unroll4: true, streamBatch: true, derivedFamilies: true, denseKernels: true });
    expect(p.batch?.dim).toBe('N');
    expect(p.notes.some((n) => n.includes('streamed in chunks'))).toBe(true);
  });

  it('the WGSL lowering has none of the CPU rewrites: every kernel in order in `pre`, no forStep', () => {
    const p = lowerModel(model, { target: WGSL_TARGET });
    expect(features(p)).toEqual({ unroll4: false, streamBatch: false, derivedFamilies: false, denseKernels: false });
    expect(p.batch).toBeNull();
    for (const s of Object.values(p.entries)) expect([s.clear, s.stream, s.post]).toEqual([[], [], []]);
    // (No gaussNewton: the model declares no `output`.)
    expect(p.outputs).toEqual(WGSL_TARGET.outputs.filter((o) => o !== 'gaussNewton'));
    // And the WGSL emitter takes it as it is.
    expect(Object.keys(emitWgsl(p).shaders).length).toBeGreaterThan(0);
  });

  it('the neutral record gives the same program as the WGSL one, up to outputs and precision', () => {
    const neutral = lowerModel(model, { target: NONE, outputs: WGSL_TARGET.outputs });
    const wgsl = lowerModel(model, { target: WGSL_TARGET });
    expect(JSON.stringify(neutral)).toBe(JSON.stringify(wgsl));
  });

  it('packs the sides of intermediates\' products over the batch exactly when the record asks for it (not for WGSL)', () => {
    // This model's intermediates are too small to be packed (hidden layer of 8): a wider one's are,
    // into workspaces of their own (more buffers), which the dense kernels then take.
    const wide = parse(SOURCE.replace(/\b8\b/g, '40'));
    const buffers = (t: TargetCapabilities) => lowerModel(wide, { target: t }).buffers.length;
    expect(buffers({ ...NONE, packProducts: true })).toBeGreaterThan(buffers(NONE));
    expect(features(lowerModel(wide, { target: { ...NONE, packProducts: true, denseKernels: true } })).denseKernels).toBe(true);
    expect(CPU_TARGET.packProducts).toBe(true);
    expect(WGSL_TARGET.packProducts).toBe(false);
  });

  it('sums pair-symmetric terms once per pair exactly when the record asks for it (both targets)', () => {
    expect(pairNests(lowerModel(model, { target: { ...NONE, pairSymmetry: true } }))).toBeGreaterThan(0);
    expect(pairNests(lowerModel(model, { target: NONE }))).toBe(0);
    // WGSL pairs them too (this model's blocks are below the default size, hence pairMinEntries),
    // each block with its pair form, which its kernel reads (test/gpu/pair-symmetry.test.ts runs them).
    const wgsl = lowerModel(model, { target: { ...WGSL_TARGET, pairMinEntries: 1 } });
    expect(pairNests(wgsl)).toBe(pairNests(lowerModel(model, { target: { ...NONE, pairSymmetry: true } })));
    expect(CPU_TARGET.pairSymmetry).toBe(true);
    expect(WGSL_TARGET.pairSymmetry).toBe(true);
    expect(WGSL_TARGET.pairNeedsForm).toBe(true);
  });

  for (const flag of FLAGS) {
    it(`runs the ${flag} pass exactly when the record asks for it`, () => {
      const only = lowerModel(model, { target: { ...NONE, [flag]: true } });
      const all = lowerModel(model, { target: { ...CPU_TARGET, [flag]: false } });
      expect(features(only)).toEqual({ ...features(lowerModel(model, { target: NONE })), [flag]: true });
      expect(features(all)).toEqual({ unroll4: true, streamBatch: true, derivedFamilies: true, denseKernels: true, [flag]: false });
    });
  }

  it('lists one pass per flag, each wanted by its own flag only', () => {
    expect(CPU_PASSES.map((p) => p.name)).toEqual(['families', 'stream-batch', 'fuse-sums', 'fold-adds', 'unroll4', 'dense-blocks', 'assign-first']);
    for (const pass of CPU_PASSES) {
      expect(pass.wanted(CPU_TARGET)).toBe(true);
      expect(pass.wanted(WGSL_TARGET)).toBe(false);
      expect(PASS_FLAGS.filter((f) => pass.wanted({ ...NONE, [f]: true }))).toHaveLength(1);
    }
  });

  it('lowers only the outputs a target implements', () => {
    // Both targets implement every output now (the sparse Hessian reached the GPU); a record
    // that leaves one out gets the rest, whatever was asked for.
    expect(lowerModel(model, { target: WGSL_TARGET, outputs: ['value', 'gradient', 'hessian', 'hessianSparse'] }).outputs).toEqual(['value', 'gradient', 'hessian', 'hessianSparse']);
    expect(lowerModel(model, { target: { ...WGSL_TARGET, outputs: ['value', 'gradient', 'hessian'] }, outputs: ['value', 'gradient', 'hessian', 'hessianSparse'] }).outputs).toEqual(['value', 'gradient', 'hessian']);
    expect(lowerModel(model, { target: CPU_TARGET }).outputs).toEqual(CPU_TARGET.outputs.filter((o) => o !== 'gaussNewton'));
    expect(lowerModel(model, { target: { ...CPU_TARGET, outputs: ['value', 'gradient', 'hessian'] } }).outputs).toEqual(['value', 'gradient', 'hessian']);
  });

  it('the WGSL emitter refuses what only a CPU pass produces', () => {
    expect(() => emitWgsl(lowerModel(model, { target: { ...WGSL_TARGET, streamBatch: true } }))).toThrow(/streamed batch/);
    expect(() => emitWgsl(lowerModel(model, { target: { ...WGSL_TARGET, unroll4: true } }))).toThrow(/forStep/);
    expect(() => emitWgsl(lowerModel(model, { target: { ...WGSL_TARGET, denseKernels: true } }))).toThrow(/denseBlock/);
  });

  it('every combination of passes computes the same value, gradient and Hessian (float64)', { timeout: 120_000 }, async () => {
    const rng = makeRng(8);
    const N = 2500; // several chunks of the streamed batch (at most 2048 rows each)
    const data = { X: Float64Array.from({ length: N * 3 }, () => rng.uniform(-1, 1)), y: Float64Array.from({ length: N * 2 }, () => rng.uniform(-1, 1)) };
    let reference: { value: number; gradient: Float64Array; hessian: Float64Array } | null = null;
    for (let mask = 0; mask < 64; mask++) {
      const target: TargetCapabilities = {
        ...NONE, derivedFamilies: (mask & 1) !== 0, streamBatch: (mask & 2) !== 0, unroll4: (mask & 4) !== 0, denseKernels: (mask & 8) !== 0, pairSymmetry: (mask & 16) !== 0,
        packProducts: (mask & 32) !== 0,
      };
      const p = lowerModel(model, { target });
      if (target.streamBatch) expect(p.batch!.chunk).toBeLessThan(N);
      const mod = await loadTs(emitTypeScript(p, { sourcePath: 'targets.hess' }), `targets_${mask}.ts`);
      const theta = Float64Array.from({ length: p.n }, (_, i) => Math.sin(i + 1));
      const r = mod.evaluate(theta, data);
      if (!reference) {
        reference = { value: r.value, gradient: Float64Array.from(r.gradient), hessian: Float64Array.from(r.hessian) };
        continue;
      }
      const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        const scale = Math.max(...Array.from(b, Math.abs));
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-12 * scale);
      };
      close([r.value], [reference.value]);
      close(r.gradient, reference.gradient);
      close(r.hessian, reference.hessian);
    }
  });
});
