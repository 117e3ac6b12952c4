// Pair symmetry on the GPU (6-emit/wgsl.ts, "pair-symmetric blocks"): a pair block runs as a tiled
// product over its row pairs × column pairs, stored at every entry each sum stands for. Executed on
// Mesa's llvmpipe against the float64 TypeScript target (1e-4 of the largest entry, as the other
// GPU tests): every test model, example and small bench-shaped model with pair blocks (lowered with
// every block paired, however small), also through many Hessian windows and as hessianSparse; the
// pair loops as plain units where a block has no pair form; the fold of a triangle into a
// rectangle; and the tiles the pair dispatches save on the bench models.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import type { Model } from '../../compiler/2-ir/graph.ts';
import { lowerModel, WGSL_TARGET, type TargetCapabilities } from '../../compiler/index.ts';
import type { PairBlock, Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitGpuModule } from '../../compiler/6-emit/gpu-module.ts';
import { emitWgsl, pairAt, pairFold, TILE, type GpuProgram } from '../../compiler/6-emit/wgsl.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { CASES, loadModelCases, makePoint, type ModelCase } from '../models/cases.ts';

const TOL = 1e-4;
// Every pair-symmetric block, however small (the default pairs only blocks of 256 pairs or more).
const PAIRED: TargetCapabilities = { ...WGSL_TARGET, pairMinEntries: 1 };
const UNPAIRED: TargetCapabilities = { ...WGSL_TARGET, pairSymmetry: false };

interface GpuKernels {
  setData(d: DataArg): void;
  hessian(theta: ArrayLike<number>): Promise<Float32Array>;
  hessianSparse(theta: ArrayLike<number>): Promise<Float32Array>;
  destroy(): void;
}

function parse(source: string, path: string): Model {
  const { model } = parseModel(source, path);
  if (!model) throw new Error(`${path} does not parse`);
  return model;
}

/** The pair blocks of a lowered program. */
function pairBlocks(p: Program): PairBlock[] {
  const out: PairBlock[] = [];
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      if (st.k === 'block' && st.pair) out.push(st.pair);
      if (st.k === 'block' || st.k === 'for') visit(st.body);
    }
  };
  for (const k of p.kernels) visit(k.body);
  return out;
}

/** Pair blocks without their pair form (as when an operand is not contiguous along the sum). */
function withoutPairInfo(p: Program): Program {
  const strip = (st: Stmt): Stmt => (st.k === 'block' ? { k: 'block', body: st.body.map(strip), ...(st.comment ? { comment: st.comment } : {}) } : st);
  return { ...p, kernels: p.kernels.map((k) => ({ ...k, body: k.body.map(strip) })) };
}

async function gpuModule(model: Model, program: Program, path: string, device: GPUDevice, options?: { maxWindowBytes: number }): Promise<{ g: GpuProgram; k: GpuKernels }> {
  const g = emitWgsl(program);
  const code = emitGpuModule(g, { sourcePath: path });
  const mod = await loadGpu(code, path);
  return { g, k: (await mod.createKernels(device, options)) as unknown as GpuKernels };
}

/** The pair dispatches of the Hessian entry point (tiled, their shaders decoding pairs). */
const pairDispatches = (g: GpuProgram) => {
  const hessian = new Set(g.entries.hessian.flatMap((s) => ('unit' in s ? [s.unit] : [])));
  return g.units.filter((u) => hessian.has(u.name) && u.tiled && g.shaders[u.name]!.includes('fn pair_of_')).map((u) => u.name);
};

const bench = (name: string) => readFileSync(join(repoRoot, 'bench/models', `${name}.hess`), 'utf8');
/** Softmax regression with an m-input, m2-class weight: a Σ p p block and a δ block in pairs. */
const softmax = (m: number, m2: number) =>
  [`dim N`, `data X[N, ${m}]`, `data Y[N, ${m2}]`, `param W[${m}, ${m2}]`, `param b[${m2}]`, 'Z = X * W + b', 'minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.01 * sum(W .^ 2)'].join('\n');

interface Case {
  readonly name: string;
  readonly source: string;
  readonly spec: ModelCase;
  readonly dims: Record<string, number>;
}

const CASES_WITH_PAIRS: Case[] = [
  ...loadModelCases().map((c) => ({ name: c.name, source: c.source, spec: c.spec, dims: {} })),
  ...readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.hess')).map((f) => ({ name: f.slice(0, -5), source: readFileSync(join(repoRoot, 'examples', f), 'utf8'), spec: CASES[f.slice(0, -5)] ?? {}, dims: {} })),
  { name: 'mlp_64_32_10', source: bench('mlp_64_32_10'), spec: {}, dims: { N: 9 } },
  // Odd and even m and m2, and a block larger than one tile each way (with a sum over 70 rows).
  { name: 'softmax_7_5', source: softmax(7, 5), spec: {}, dims: { N: 40 } },
  { name: 'softmax_8_6', source: softmax(8, 6), spec: {}, dims: { N: 33 } },
  { name: 'softmax_12_11', source: softmax(12, 11), spec: {}, dims: { N: 70 } },
  // W's rows scaled by data D: the factor D[a]·D[c] without the batch is the blocks' K[a, c].
  { name: 'softmax_scaled_9_6', source: softmax(9, 6).replace('param W', 'data D[9, 1]\nparam W').replace('X * W', 'X * (W .* D)'), spec: {}, dims: { N: 30 } },
].filter((c) => pairBlocks(lowerModel(parse(c.source, `${c.name}.hess`), { target: PAIRED })).length > 0);

describe('the folded triangle', () => {
  it('holds each pair x ≤ y < m exactly once, m(m + 1)/2 in all', () => {
    for (let m = 1; m <= 40; m++) {
      const { width, count } = pairFold(m);
      expect(count % width).toBe(0);
      const seen = new Set<number>();
      for (let r = 0; r < count; r++) {
        const [x, y] = pairAt(m, r);
        expect(0 <= x && x <= y && y < m, `m = ${m}, r = ${r}: (${x}, ${y})`).toBe(true);
        seen.add(x * m + y);
      }
      expect(seen.size).toBe(count);
    }
  });
});

describe('GPU pair blocks against the float64 TypeScript target', () => {
  it('covers every kind of pair block', () => {
    // Odd and even extents, with and without w, G and K, and the diagonal form: a suite that
    // lacked one would not test it.
    const blocks = CASES_WITH_PAIRS.flatMap((c) => pairBlocks(lowerModel(parse(c.source, `${c.name}.hess`), { target: PAIRED })));
    expect(CASES_WITH_PAIRS.length).toBeGreaterThanOrEqual(8);
    for (const [what, has] of [
      ['odd m', (p: PairBlock) => p.m % 2 === 1], ['even m', (p: PairBlock) => p.m % 2 === 0],
      ['odd m2', (p: PairBlock) => p.m2 % 2 === 1], ['even m2', (p: PairBlock) => p.m2 % 2 === 0],
      ['w', (p: PairBlock) => p.w !== null], ['G', (p: PairBlock) => p.G !== null], ['K', (p: PairBlock) => p.K !== null],
      ['diagonal', (p: PairBlock) => p.diagonal],
    ] as const) {
      expect(blocks.some(has), `a block with ${what}`).toBe(true);
      expect(blocks.some((p) => !has(p)), `a block without ${what}`).toBe(true);
    }
  });

  for (const c of CASES_WITH_PAIRS) {
    it(c.name, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const path = `${c.name}.hess`;
      const model = parse(c.source, path);
      const { module: cpu } = await compileModel(c.source, path);
      const { g, k } = await gpuModule(model, lowerModel(model, { target: PAIRED }), path, device);
      // (The Hessian's pair blocks; the Gauss-Newton matrix's run in its own entry point.)
      expect(pairDispatches(g).length, 'pair dispatches').toBe(pairBlocks(lowerModel(model, { target: PAIRED })).filter((b) => b.out.buf === 'hessian').length);
      const p = makePoint(c.name, c.source, c.spec, 0, c.dims);
      k.setData(p.data);
      const H = await k.hessian(p.theta);
      expect(relativeError(H, cpu.hessian(p.theta, p.data)), 'Hessian').toBeLessThan(TOL);
      const n = cpu.model.n;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (H[i * n + j] !== H[j * n + i]) expect.fail(`H[${i},${j}] ≠ H[${j},${i}]`);
      k.destroy();
    });
  }
});

describe('GPU pair blocks in windows, as hessianSparse, and without their pair form', () => {
  const sources = [
    { name: 'softmax_12_11', source: softmax(12, 11), N: 70 },
    { name: 'mlp_64_32_10', source: bench('mlp_64_32_10'), N: 9 },
  ];
  for (const s of sources) {
    it(`${s.name}: many Hessian windows and hessianSparse`, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const path = `${s.name}.hess`;
      const model = parse(s.source, path);
      const { module: cpu } = await compileModel(s.source, path);
      const p = makePoint(s.name, s.source, {}, 1, { N: s.N });
      const program = lowerModel(model, { target: PAIRED });
      // Windows of a tenth of the Hessian (256-byte multiples): four passes of three windows (five
      // of two for the sparse values), each pair dispatch run once per pass.
      const n = cpu.model.n;
      const maxWindowBytes = 256 * Math.ceil((n * n * 4) / 10 / 256);
      const { k } = await gpuModule(model, program, path, device, { maxWindowBytes });
      k.setData(p.data);
      expect(relativeError(await k.hessian(p.theta), cpu.hessian(p.theta, p.data)), 'windowed Hessian').toBeLessThan(TOL);
      const sparseCpu = (cpu as unknown as { hessianSparse(t: ArrayLike<number>, d: DataArg): Float64Array }).hessianSparse(p.theta, p.data);
      expect(relativeError(await k.hessianSparse(p.theta), sparseCpu), 'windowed hessianSparse').toBeLessThan(TOL);
      k.destroy();
      const whole = await gpuModule(model, program, path, device);
      whole.k.setData(p.data);
      expect(relativeError(await whole.k.hessianSparse(p.theta), sparseCpu), 'hessianSparse').toBeLessThan(TOL);
      whole.k.destroy();
    });

  }

  // The lowering for WGSL pairs only terms whose block carries its pair form (pairNeedsForm); a
  // block without it would run its pair loops as plain units. Correct, but each thread then sums a
  // whole row's pairs: on llvmpipe a thread that long (the 64-32-10 model's W1 block, hessianSparse)
  // stops short, so only the smaller model runs here.
  for (const s of sources.slice(0, 1)) {
    it(`${s.name}: pair loops as plain units where a block has no pair form`, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const path = `${s.name}.hess`;
      const model = parse(s.source, path);
      const { module: cpu } = await compileModel(s.source, path);
      const p = makePoint(s.name, s.source, {}, 2, { N: s.N });
      const program = withoutPairInfo(lowerModel(model, { target: PAIRED }));
      const { g, k } = await gpuModule(model, program, path, device);
      expect(pairDispatches(g)).toEqual([]);
      // (The pair loops themselves: their thread loops start at i0 (i2 ≥ i0), their inner ones at i1 + 1.)
      expect(Object.values(g.shaders).some((code) => /if \(i2 < i0\) \{ return; \}|for \(var i3: i32 = i1 \+ 1;/.test(code))).toBe(true);
      k.setData(p.data);
      expect(relativeError(await k.hessian(p.theta), cpu.hessian(p.theta, p.data)), 'Hessian').toBeLessThan(TOL);
      const sparseCpu = (cpu as unknown as { hessianSparse(t: ArrayLike<number>, d: DataArg): Float64Array }).hessianSparse(p.theta, p.data);
      expect(relativeError(await k.hessianSparse(p.theta), sparseCpu), 'hessianSparse').toBeLessThan(TOL);
      k.destroy();
    });
  }
});

describe('pair dispatches on the bench models', () => {
  it('keeps the upper triangle where the pairs would take more tiles', () => {
    // W[3, 100]: 6 row pairs × 5 050 column pairs are 79 tiles, its upper triangle 15 (300 rows).
    // The δ term's pairs (its upper triangle is no matrix product) are kept; the CPU pairs both.
    const model = parse(softmax(3, 100), 'softmax_3_100.hess');
    const blocks = pairBlocks(lowerModel(model, { target: WGSL_TARGET }));
    expect(blocks.map((b) => b.diagonal)).toEqual([true]);
    expect(pairBlocks(lowerModel(model, { target: { ...WGSL_TARGET, pairTile: undefined } })).length).toBe(2);
    // Square enough, both are paired.
    expect(pairBlocks(lowerModel(parse(softmax(40, 30), 'softmax_40_30.hess'), { target: WGSL_TARGET })).length).toBe(2);
  });

  /**
   * Multiply-adds of the Hessian's tiled dispatches at batch N: tiles × 64 × 64 × N, counting of a
   * square non-pair dispatch only the tiles on or above the diagonal (the others stop at once).
   */
  const tileWork = (g: GpuProgram, N: number) => {
    const pairs = new Set(pairDispatches(g));
    let tiles = 0;
    for (const u of g.units) {
      if (!u.tiled || !u.hessian || !g.entries.hessian.some((s) => 'unit' in s && s.unit === u.name)) continue;
      const size = (ds: readonly (number | string)[]) => ds.reduce<number>((a, d) => a * (typeof d === 'number' ? d : N), 1);
      const R = Math.ceil(size(u.tiled.rows) / TILE);
      const C = Math.ceil(size(u.tiled.cols) / TILE);
      tiles += !pairs.has(u.name) && R === C ? (R * (R + 1)) / 2 : R * C;
    }
    return tiles * TILE * TILE * N;
  };

  for (const [name, N] of [['softmax_64_128', 1000], ['mlp_64_32_10', 256]] as const) {
    it(`${name}: the Hessian's dense blocks as pair dispatches, near half the tile work`, () => {
      const model = parse(bench(name), `${name}.hess`);
      // (The default threshold: the blocks of the bench models are paired as compiled.)
      const paired = emitWgsl(lowerModel(model, { target: WGSL_TARGET }));
      const plain = emitWgsl(lowerModel(model, { target: UNPAIRED }));
      expect(pairDispatches(paired).length).toBeGreaterThan(0);
      expect(pairDispatches(plain)).toEqual([]);
      const ratio = tileWork(paired, N) / tileWork(plain, N);
      expect(ratio).toBeGreaterThan(0.3);
      expect(ratio).toBeLessThan(0.7);
    });
  }
});
