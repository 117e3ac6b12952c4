// Dense Hessian blocks on the CPU, side by side in one process (issue 9, items 1 and 3):
//   node bin/run-ts.mjs bench/dense.ts [--quick] [--only=softmax_64_128,...]
//
// For each model with dense blocks (softmax 64→128 at N = 1000, the 64-32-10 MLP at N = 256; the
// 3-5-1 MLP has none: its code is the same either way, and bench/cpu.ts times it), one thread:
//   - the whole Hessian by today's loops (compile option denseKernels: false) and by the dense
//     kernels (the default), on the same θ and data, checked against each other;
//   - the dense blocks alone: every denseBlock and pairBlock call of the model's Hessian replayed on the
//     kernels at its shapes (mirrors, upper triangle and per-entry factors included);
//   - the floors at the same multiply-add count: a scalar-JavaScript and a WebAssembly-SIMD GEMM
//     (T = A·Bᵀ, A and B [~√(M/K) × K], K the batch), the same kernels with nothing around them;
//     the blocks and the WebAssembly floor run in back-to-back pairs, and the fraction of the floor
//     is the median of the pairs' ratios;
//   - evaluate(θ, data, out) against hessian(θ, data, out), both into the same n² array, in
//     back-to-back pairs (the median of the pairs' ratios).
// Times are CPU time of this process (user + system), medians. Rates are in G multiply-adds per second (GMAC/s, one core), multiply-adds counted on the lowered
// loops (compiler/inspect/cost.ts). `benchDense()` returns the rows for other benches to print.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, CPU_TARGET, lowerModel } from '../compiler/index.ts';
import { parseModel } from '../compiler/1-parse/index.ts';
import { programCost } from '../compiler/inspect/cost.ts';
import type { Expr, Program, Stmt } from '../compiler/5-lower/loops.ts';
import { createDenseKernels, DENSE_ADD, DENSE_ADD_MIRROR, DENSE_ASSIGN, type DenseKernels } from '../runtime/wasm/dense.ts';
import { cpuTimeCalls, loadGenerated, median, Rng, timePairs, type GeneratedData } from './support.ts';

// Run from the repository root (bin/run-ts.mjs bundles this file elsewhere: no import.meta.url).
const root = process.cwd();

export interface DenseCase {
  readonly name: string;
  readonly N: number;
  /** Targets of issue 9: the whole Hessian against today's code. */
  readonly minSpeedup: number | null;
}

export const DENSE_CASES: readonly DenseCase[] = [
  { name: 'softmax_64_128', N: 1000, minSpeedup: 10 },
  { name: 'mlp_64_32_10', N: 256, minSpeedup: 3.5 },
];

export interface DenseRow {
  readonly name: string;
  readonly N: number;
  readonly n: number;
  /** Multiply-adds of one Hessian (as lowered: pair blocks by their product), by today's loops, and of its dense blocks. */
  readonly hessianMacs: number;
  readonly loopsMacs: number;
  readonly blockMacs: number;
  /** Median ms of one Hessian: today's loops, the dense kernels. */
  readonly loopsMs: number | null;
  readonly kernelsMs: number;
  /** Worst |difference| between both Hessians over the largest entry. */
  readonly agreement: number | null;
  /** GMAC/s of the dense blocks alone, and of the floors at the same multiply-add count. */
  readonly blockRate: number;
  readonly wasmFloorRate: number;
  readonly jsFloorRate: number;
  /** The blocks' rate over the Wasm floor's: the median of back-to-back pairs' ratios. */
  readonly floorFraction: number;
  /** evaluate(θ, data, out) over hessian(θ, data, out), medians. */
  readonly evaluateRatio: number;
  readonly simd: boolean;
}

interface Options {
  readonly only?: readonly string[];
  readonly quick?: boolean;
  readonly log?: (s: string) => void;
}

const timing = (quick: boolean, slowMs: number) => ({ warmup: 2, warmupMs: 1000, reps: quick ? 3 : 5, slowMs });

/** Value of an integer expression of a dense block at run-time size N of the batch. */
function evalInt(e: Expr, N: number): number {
  switch (e.k) {
    case 'num': return e.v;
    case 'extent': case 'dim': return N;
    case 'offset': return 0;
    case 'bin': {
      const a = evalInt(e.a, N);
      const b = evalInt(e.b, N);
      return e.op === '+' ? a + b : e.op === '-' ? a - b : a * b;
    }
    default: throw new Error(`bench: cannot evaluate ${e.k} in a dense block`);
  }
}

type DenseBlockStmt = Extract<Stmt, { k: 'denseBlock' }>;
type PairBlockStmt = Extract<Stmt, { k: 'pairBlock' }>;

/** Every denseBlock and pairBlock of the Hessian entry's kernels. */
function hessianBlocks(p: Program): (DenseBlockStmt | PairBlockStmt)[] {
  const sch = p.entries.hessian;
  const out: (DenseBlockStmt | PairBlockStmt)[] = [];
  const visit = (sts: readonly Stmt[]) => sts.forEach((st) => (st.k === 'denseBlock' || st.k === 'pairBlock' ? out.push(st) : st.k === 'block' ? visit(st.body) : undefined));
  for (const id of new Set([...sch.pre, ...sch.stream, ...sch.post])) visit(p.kernels[id]!.body);
  return out;
}

const blockMacsOf = (R: number, C: number, K: number, upper: boolean) => (upper ? (R * (R + 1)) / 2 : R * C) * K;
const pairsOf = (m: number) => (m * (m + 1)) / 2;

/** The dense blocks replayed on the kernels: the same calls a Hessian makes, on random operands. */
function blockReplay(kern: DenseKernels, blocks: ReturnType<typeof hessianBlocks>, N: number, chunk: number, n: number): { run: () => void; macs: number } {
  const rng = new Rng(7);
  const K = Math.min(N, chunk);
  const dense = blocks.filter((b): b is DenseBlockStmt => b.k === 'denseBlock');
  const pairs = blocks.filter((b): b is PairBlockStmt => b.k === 'pairBlock');
  // (A block inside loops kept around it is called once per iteration of them.)
  const times = (b: DenseBlockStmt) => b.outer.reduce((t, l) => t * (evalInt(l.to, N) - evalInt(l.from, N)), 1);
  const shapes = dense.map((b) => ({ b, R: evalInt(b.rows, N), C: evalInt(b.cols, N), lda: evalInt(b.a.ld, K), ldb: evalInt(b.b.ld, K), times: times(b) }));
  // A pair block's operands A, B and the workspaces U, V it packs them into.
  const columns = (q: PairBlockStmt['pair']) => (q.diagonal ? q.m2 : pairsOf(q.m2));
  const pairShapes = pairs.map((b) => ({ q: b.pair, assign: b.assign, lengths: [b.pair.m * K, b.pair.m2 * K, pairsOf(b.pair.m) * K, columns(b.pair) * K] }));
  const arrays = kern.alloc([...shapes.flatMap((s) => [s.R * s.lda, s.C * s.ldb]), ...pairShapes.flatMap((s) => s.lengths)]);
  for (const a of arrays) for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  const out = new Float64Array(n * n);
  const factor = new Float64Array(n * n).fill(0.5);
  let macs = 0;
  const chunks = Math.ceil(N / chunk);
  for (const s of shapes) macs += blockMacsOf(s.R, s.C, K, s.b.upper) * s.times * chunks;
  for (const { q } of pairShapes) macs += (pairsOf(q.m) * columns(q) + pairsOf(q.m) + columns(q)) * K * chunks;
  const mode = { assign: DENSE_ASSIGN, add: DENSE_ADD, addMirror: DENSE_ADD_MIRROR };
  const run = () => {
    for (let c = 0; c < chunks; c++) {
      shapes.forEach((s, k) => {
        // Outputs land in one n × n array: row-major with the block's own strides (at most n²).
        const ors = Math.min(s.C, n);
        for (let t = 0; t < s.times; t++) {
          kern.block(arrays[2 * k]!, 0, s.lda, arrays[2 * k + 1]!, 0, s.ldb, s.R, s.C, K, out, 0, ors, 1, 0, 1, ors, 1, mode[s.b.mode], s.b.upper,
            s.b.factor ? factor : null, 0, s.C, 0, 1, s.C, 0, 1);
        }
      });
      pairShapes.forEach(({ q, assign }, k) => {
        const [A, B, U, V] = arrays.slice(2 * shapes.length + 4 * k, 2 * shapes.length + 4 * k + 4) as [Float64Array, Float64Array, Float64Array, Float64Array];
        // The block's own positions in the Hessian (constant strides), and its factors.
        const at = (e: Expr) => evalInt(e, K);
        kern.pairs(A, 0, K, B, 0, K, q.m, q.m2, q.diagonal, K, null, 0, U, V, out, at(q.out.base), ...(q.out.strides.map(at) as [number, number, number, number]),
          at(q.mirror.base), ...(q.mirror.strides.map(at) as [number, number, number, number]), 0.5,
          q.G ? factor : null, 0, q.m2, 1, q.K ? factor : null, 0, q.m, 1, assign === 'always' || (assign !== undefined && c === 0));
      });
    }
  };
  return { run, macs };
}

/** A GEMM floor: T = A·Bᵀ with R = C ≈ √(macs / K), assigned into a compact R × C array. */
function floor(kern: DenseKernels, macs: number, K: number): () => void {
  const side = Math.max(1, Math.round(Math.sqrt(macs / K)));
  const [A, B] = kern.alloc([side * K, side * K]);
  const rng = new Rng(3);
  for (const a of [A!, B!]) for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  const out = new Float64Array(side * side);
  return () => kern.block(A!, 0, K, B!, 0, K, side, side, K, out, 0, side, 1, 0, 0, 0, 1, DENSE_ASSIGN, false, null, 0, 1, 0, 0, 1, 0, 0);
}

function makeData(model: { data: readonly { name: string; shape: readonly (number | string)[] }[] }, N: number, rng: Rng): GeneratedData {
  const data: GeneratedData = {};
  for (const d of model.data) {
    const size = d.shape.reduce<number>((s, x) => s * (typeof x === 'number' ? x : N), 1);
    const a = new Float64Array(size);
    if (d.name === 'Y' && d.shape.length === 2 && typeof d.shape[1] === 'number' && d.shape[1] > 10) {
      // Softmax labels: one-hot rows.
      const cols = d.shape[1];
      for (let r = 0; r < N; r++) a[r * cols + rng.int(cols)] = 1;
    } else for (let i = 0; i < size; i++) a[i] = rng.normal();
    data[d.name] = a;
  }
  return data;
}

export async function benchDense(options: Options = {}): Promise<DenseRow[]> {
  const log = options.log ?? (() => {});
  const quick = options.quick ?? false;
  const dir = mkdtempSync(join(tmpdir(), 'hessgen-dense-'));
  const rows: DenseRow[] = [];
  const kern = createDenseKernels();
  const jsKern = createDenseKernels({ simd: false });
  try {
    for (const c of DENSE_CASES) {
      if (options.only && !options.only.includes(c.name)) continue;
      const source = readFileSync(join(root, 'bench/models', `${c.name}.hess`), 'utf8');
      const build = (denseKernels: boolean) => {
        const r = compile(source, `bench/models/${c.name}.hess`, { denseKernels });
        if (!r.ok) throw new Error(`${c.name} does not compile`);
        return r.outputs[0]!.code;
      };
      const { model } = parseModel(source, `${c.name}.hess`);
      // Multiply-adds counted on the lowered program (a pair block's: its product and packing),
      // and on today's loops (the upper triangle, no pair symmetry) for their rate.
      const macsOf = (p: Program) => programCost(p, new Map([['N', c.N]])).entries.find((e) => e.entry === 'hessian')!.madds;
      const loopsMacs = macsOf(lowerModel(model!, { target: { ...CPU_TARGET, denseKernels: false, pairSymmetry: false, packProducts: false, gramProducts: false } }));
      const program = lowerModel(model!);
      const hessianMacs = macsOf(program);
      const chunk = program.batch?.chunk ?? c.N;
      const blocks = hessianBlocks(program);
      const withKernels = await loadGenerated(build(true), dir, `${c.name}_kernels`);
      const n = withKernels.model.n;
      const rng = new Rng(11);
      const theta = new Float64Array(n).map(() => 0.1 * rng.normal());
      const data = makeData(withKernels.model, c.N, rng);
      const H = new Float64Array(n * n);
      // The softmax Hessian takes seconds: one warm-up call (the first touches 554 MB of output
      // and workspaces, and V8 has not optimized anything yet), then few samples.
      const slow = c.name === 'softmax_64_128';
      const budget = slow ? 2_000 : 20_000;
      log(`${c.name}: n = ${n}, N = ${c.N}, ${(hessianMacs / 1e6).toFixed(1)} M multiply-adds per Hessian (today's loops: ${(loopsMacs / 1e6).toFixed(1)} M), ${blocks.length} dense and pair block(s)`);
      const kernelsT = cpuTimeCalls(() => withKernels.hessian(theta, data, H), slow ? { warmup: 1, reps: quick ? 1 : 3, slowMs: Infinity } : timing(quick, budget));
      log(`  kernels: ${kernelsT.medianMs.toFixed(2)} ms`);
      let loopsMs: number | null = null;
      let agreement: number | null = null;
      // Today's loops take ~30 s for the softmax Hessian: one sample, skipped with --quick.
      if (!(quick && c.name === 'softmax_64_128')) {
        const withLoops = await loadGenerated(build(false), dir, `${c.name}_loops`);
        const H0 = new Float64Array(n * n);
        // (Today's softmax loops take ~40 s a call: one warm-up, one sample.)
        const loopsT = cpuTimeCalls(() => withLoops.hessian(theta, data, H0), slow ? { warmup: 1, reps: 1, slowMs: Infinity } : timing(quick, budget));
        loopsMs = loopsT.medianMs;
        let scale = 0;
        let err = 0;
        for (let i = 0; i < H.length; i++) scale = Math.max(scale, Math.abs(H0[i]!));
        for (let i = 0; i < H.length; i++) err = Math.max(err, Math.abs(H[i]! - H0[i]!));
        agreement = err / (scale || 1);
        log(`  loops:   ${loopsMs.toFixed(2)} ms (${(loopsMs / kernelsT.medianMs).toFixed(2)}×), agreement ${agreement.toExponential(1)}`);
      }
      // evaluate with out against hessian alone, in back-to-back pairs. Both write the same n²
      // array: two different 46 MB (or 550 MB) arrays differ in speed by a few percent on their own
      // (where their pages lie), which this ratio must not measure.
      const out = { value: 0, gradient: new Float64Array(n), hessian: H };
      const evaluate = withKernels.evaluate as (t: Float64Array, d: GeneratedData, o: typeof out) => typeof out;
      const [ev, he] = timePairs(() => evaluate(theta, data, out), () => withKernels.hessian(theta, data, H), quick || slow ? 3 : 9, budget);
      // The median of each pair's ratio: a pair's two calls run back to back, under the same load.
      const evaluateRatio = median(ev.map((e, k) => e / he[k]!));
      log(`  evaluate(out) / hessian(out): ${evaluateRatio.toFixed(3)} (medians ${median(ev).toFixed(2)} and ${median(he).toFixed(2)} ms)`);
      let blockRate = 0;
      let blockMacs = 0;
      let wasmFloorRate = 0;
      let jsFloorRate = 0;
      let floorFraction = 0;
      if (blocks.length > 0) {
        const replay = blockReplay(kern, blocks, c.N, chunk, n);
        blockMacs = replay.macs;
        const K = Math.min(c.N, chunk);
        const wasmFloor = floor(kern, blockMacs, K);
        // The blocks and the Wasm floor in back-to-back pairs, like evaluate and hessian above: a
        // fraction of two medians timed minutes apart moved with the machine's speed (63–72% in
        // three runs of 64-32-10 alone).
        const [bs, fs] = timePairs(replay.run, wasmFloor, quick ? 3 : 9, 20_000);
        blockRate = blockMacs / median(bs) / 1e6;
        wasmFloorRate = blockMacs / median(fs) / 1e6;
        floorFraction = median(fs.map((f, k) => f / bs[k]!));
        const jf = cpuTimeCalls(floor(jsKern, blockMacs, K), timing(quick, 20_000));
        jsFloorRate = blockMacs / jf.medianMs / 1e6;
        log(`  dense blocks ${blockRate.toFixed(2)} GMAC/s; floors: Wasm SIMD ${wasmFloorRate.toFixed(2)}, scalar JS ${jsFloorRate.toFixed(2)} GMAC/s (${(100 * floorFraction).toFixed(0)}% of the Wasm floor: the median of ${bs.length} back-to-back pairs)`);
      }
      rows.push({ name: c.name, N: c.N, n, hessianMacs, loopsMacs, blockMacs, loopsMs, kernelsMs: kernelsT.medianMs, agreement, blockRate, wasmFloorRate, jsFloorRate, floorFraction, evaluateRatio, simd: kern.simd });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** A markdown table of the rows. */
export function denseTable(rows: readonly DenseRow[]): string {
  const g = (macs: number, ms: number | null) => (ms === null ? '–' : (macs / ms / 1e6).toFixed(2));
  const lines = [
    '| model | N | Hessian M MAC (loops) | loops ms (GMAC/s) | kernels ms (GMAC/s) | speedup | target | dense blocks GMAC/s | Wasm floor | JS floor | blocks / Wasm floor | evaluate(out) / hessian |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const c = DENSE_CASES.find((x) => x.name === r.name)!;
    const speed = r.loopsMs === null ? null : r.loopsMs / r.kernelsMs;
    lines.push(
      `| ${r.name} | ${r.N} | ${(r.hessianMacs / 1e6).toFixed(1)} (${(r.loopsMacs / 1e6).toFixed(1)}) | ${r.loopsMs === null ? 'skipped' : `${r.loopsMs.toFixed(1)} (${g(r.loopsMacs, r.loopsMs)})`} | ${r.kernelsMs.toFixed(1)} (${g(r.hessianMacs, r.kernelsMs)}) | ${speed === null ? '–' : `${speed.toFixed(2)}×`} | ${c.minSpeedup === null ? '–' : `≥ ${c.minSpeedup}×`} | ${r.blockMacs ? r.blockRate.toFixed(2) : '–'} | ${r.blockMacs ? r.wasmFloorRate.toFixed(2) : '–'} | ${r.blockMacs ? r.jsFloorRate.toFixed(2) : '–'} | ${r.blockMacs ? `${(100 * r.floorFraction).toFixed(0)}%` : '–'} | ${r.evaluateRatio.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

// Run directly (node bin/run-ts.mjs bench/dense.ts), not when imported by another bench.
if (process.argv.some((a) => /(^|[\\/])bench[\\/]dense\.ts$/.test(a))) {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const rows = await benchDense({ quick: process.argv.includes('--quick'), ...(only ? { only } : {}), log: (s) => console.log(s) });
  console.log();
  console.log(denseTable(rows));
  console.log(`\nWebAssembly SIMD: ${rows[0]?.simd ? 'yes' : 'no'}; one thread; Node ${process.version}.`);
}
