// `npm run bench`: hessgen's CPU Hessian against floor kernels and two peers, side by side in one run.
//
// For every model in bench/models/ it measures, on the same θ and data:
//   - compile(): its time and the size of the generated TypeScript;
//   - ours: the median time of `hessian(theta, data, out)`, and its rate in multiply-adds per second
//     (GMAC/s, one core), the multiply-adds counted by the cost model (compiler/inspect/cost.ts)
//     on the lowered loops;
//   - floor kernels in this process (bench/floors.ts): a register-blocked scalar JavaScript GEMM and
//     the runtime's WebAssembly-SIMD GEMM at the same multiply-add count; ours over theirs is the
//     fraction of the floor;
//   - by hand, where a model has one (HAND_WRITTEN: the 3-5-1 MLP): its Hessian written by hand for
//     that model, each variant checked against ours and timed in back-to-back pairs with it (CPU time);
//   - PyTorch: torch.autograd.functional.hessian (bench/torch_hessian.py; float64, one thread);
//   - jax-js: `hessian` and `jit(hessian)` of @jax-js/jax on its Wasm backend (bench/jaxjs.ts;
//     float64, one thread).
// Each peer runs in a process of its own, stopped at a time budget. Each peer's Hessian is checked
// against ours: one that disagrees is reported as wrong, not as a time. Ours is checked for exact
// symmetry and finite entries.
//
// Options (also as environment variables):
//   --quick                 HESSGEN_BENCH_QUICK=1        fewer repetitions; skip slow models' timings
//   --only=NAME[,NAME...]   HESSGEN_BENCH_ONLY           only these models (file names without .hess)
//   --peers=LIST            HESSGEN_BENCH_PEERS          of floors,torch,jaxjs (default all three)
//   --clock=cpu|wall        HESSGEN_BENCH_CLOCK          what a sample measures (default cpu: each process's CPU
//                                                        time, which other work on a shared machine does not
//                                                        inflate by descheduling it; budgets are wall time)
//   --peer-budget=SECONDS   HESSGEN_BENCH_PEER_BUDGET    wall-time limit of one peer variant (default 60)
//   --our-budget=SECONDS    HESSGEN_BENCH_OUR_BUDGET     time limit for timing our Hessian (default 60)
//   --python=PATH           HESSGEN_BENCH_PYTHON         the Python with torch (default /usr/bin/python3)
//   --keep                                               keep the temporary folder (θ, data, Hessians)
//   --all-variants                                       both PyTorch variants on every model (see TORCH_VARIANTS)
// Exit status: 0 when every evaluated row passes its targets, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compiler/index.ts';
import { inspect } from '../compiler/inspect/index.ts';
import { makeData, makeTheta, MODEL_CASES, type ModelCase } from './cases.ts';
import { layoutProblems } from './common.ts';
import { handHessian } from './hand_mlp_3_5_1.ts';
import { floorKernels, timeFloor, type FloorKernel, type FloorTiming } from './floors.ts';
import {
  loadGenerated,
  median,
  readF64,
  Rng,
  runPeer,
  timeCalls,
  timePairs,
  writeF64,
  type GeneratedData,
  type GeneratedModule,
  type Timing,
  type Clock,
  type TorchRun,
} from './support.ts';

// ---- The models (bench/cases.ts) and their targets -----------------------------------------

type Target =
  | { readonly kind: 'speedup'; readonly peer: PeerName; readonly variant?: string; readonly min: number }
  | { readonly kind: 'floor'; readonly min: number }
  | { readonly kind: 'bytes'; readonly relativeTo: string; readonly max: number };

interface BenchCase extends ModelCase {
  readonly targets: readonly Target[];
}

const COMPILE_LIMIT_MS = 2000;
/** max |ΔH| / max |H| up to which two float64 Hessians agree. */
const AGREEMENT_LIMIT = 1e-9;
/** Beyond this a peer's Hessian is wrong (between the two: it agrees only to the precision shown). */
const WRONG_LIMIT = 1e-6;

const TARGETS: Record<string, readonly Target[]> = {
  mlp_3_5_1: [
    { kind: 'speedup', peer: 'torch', min: 300 },
    { kind: 'speedup', peer: 'jaxjs', variant: 'hessian', min: 100 },
  ],
  mlp_64_32_10: [
    { kind: 'speedup', peer: 'torch', min: 2 },
    { kind: 'floor', min: 0.7 },
  ],
  rosenbrock_1000: [{ kind: 'speedup', peer: 'torch', min: 50 }],
  mlp_784_32_10: [{ kind: 'bytes', relativeTo: 'mlp_64_32_10', max: 1.5 }],
  softmax_64_128: [
    { kind: 'speedup', peer: 'torch', min: 20 },
    { kind: 'floor', min: 0.7 },
  ],
};

/** PyTorch variants timed per model, where not both: on the large models `vectorize=True` is the
 *  slower one and its first call alone takes minutes on a loaded machine (64-32-10: 14.2 s of CPU
 *  time against 4.0 s for the loop in the run of 29 Nov 22:44; softmax: it tries to allocate
 *  8.5 GB). `--all-variants` times both everywhere. */
const TORCH_VARIANTS: Record<string, readonly string[]> = {
  mlp_64_32_10: ['vectorize=False'],
  softmax_64_128: ['vectorize=False'],
};

/** Hessians written by hand for one model, each way it can run: what a lowering that sees the
 *  model's structure could reach there. */
interface HandWritten {
  readonly file: string;
  readonly variants: readonly { readonly name: string; readonly hessian: (theta: Float64Array, data: GeneratedData, out: Float64Array) => Float64Array }[];
}
const HAND_WRITTEN: Record<string, HandWritten> = {
  mlp_3_5_1: {
    file: 'bench/hand_mlp_3_5_1.ts',
    variants: (['wasm', 'js'] as const).map((gram) => ({
      name: gram === 'wasm' ? 'J·Jᵀ on the Wasm micro-kernel' : 'J·Jᵀ in JavaScript',
      hessian: (theta: Float64Array, data: GeneratedData, out: Float64Array) => handHessian(theta, data as { X: Float64Array; y: Float64Array }, out, gram),
    })),
  },
};

const CASES: readonly BenchCase[] = MODEL_CASES.map((m) => ({ ...m, targets: TARGETS[m.name] ?? [] }));

function variantsFor(c: BenchCase, peer: PeerName, o: Options): readonly string[] {
  return peer === 'torch' && !o.allVariants ? (TORCH_VARIANTS[c.name] ?? PEER_VARIANTS.torch) : PEER_VARIANTS[peer];
}

// ---- Options ------------------------------------------------------------------------------

type PeerName = 'torch' | 'jaxjs';
const PEER_TITLE: Record<PeerName, string> = { torch: 'PyTorch', jaxjs: 'jax-js' };
const PEER_VARIANTS: Record<PeerName, readonly string[]> = {
  torch: ['vectorize=False', 'vectorize=True'],
  jaxjs: ['hessian', 'jit(hessian)'],
};

interface Options {
  quick: boolean;
  clock: Clock;
  peerBudgetMs: number;
  ourBudgetMs: number;
  only: Set<string> | undefined;
  floors: boolean;
  peers: Set<PeerName>;
  python: string;
  keep: boolean;
  allVariants: boolean;
}

const USAGE = 'usage: npm run bench -- [--quick] [--only=a,b] [--peers=floors,torch,jaxjs] [--clock=cpu|wall] [--peer-budget=S] [--our-budget=S] [--python=PATH] [--keep] [--all-variants]';

function parseOptions(argv: readonly string[]): Options {
  const env = process.env;
  let peers = env.HESSGEN_BENCH_PEERS ?? 'floors,torch,jaxjs';
  const o: Options = {
    quick: env.HESSGEN_BENCH_QUICK === '1' || env.HESSGEN_BENCH_QUICK === 'true',
    clock: env.HESSGEN_BENCH_CLOCK === 'wall' ? 'wall' : 'cpu',
    peerBudgetMs: 1000 * Number(env.HESSGEN_BENCH_PEER_BUDGET ?? 60),
    ourBudgetMs: 1000 * Number(env.HESSGEN_BENCH_OUR_BUDGET ?? 60),
    only: env.HESSGEN_BENCH_ONLY ? new Set(env.HESSGEN_BENCH_ONLY.split(',')) : undefined,
    floors: true,
    peers: new Set(),
    python: env.HESSGEN_BENCH_PYTHON ?? '/usr/bin/python3',
    keep: false,
    allVariants: false,
  };
  const fail = (message: string): never => {
    console.error(`bench: ${message}\n${USAGE}`);
    process.exit(2);
  };
  for (const arg of argv) {
    const [key, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, ''];
    if (key === '--quick') o.quick = true;
    else if (key === '--keep') o.keep = true;
    else if (key === '--all-variants') o.allVariants = true;
    else if (key === '--peer-budget') o.peerBudgetMs = 1000 * Number(value);
    else if (key === '--our-budget') o.ourBudgetMs = 1000 * Number(value);
    else if (key === '--only') o.only = new Set(value.split(','));
    else if (key === '--peers') peers = value;
    else if (key === '--python') o.python = value;
    else if (key === '--clock' && (value === 'cpu' || value === 'wall')) o.clock = value;
    else fail(`unknown option ${arg}`);
  }
  for (const p of peers.split(',').filter(Boolean)) {
    if (p === 'floors') o.floors = true;
    else if (p === 'torch' || p === 'jaxjs') o.peers.add(p);
    else fail(`--peers: unknown peer ${p} (floors, torch, jaxjs)`);
  }
  if (!peers.split(',').includes('floors')) o.floors = false;
  for (const [k, v] of [['--peer-budget', o.peerBudgetMs], ['--our-budget', o.ourBudgetMs]] as const) if (!(v > 0)) fail(`${k} must be a positive number of seconds`);
  if (o.only) for (const name of o.only) if (!CASES.some((c) => c.name === name)) fail(`--only: no model ${name} (${CASES.map((c) => c.name).join(', ')})`);
  return o;
}

// ---- One row --------------------------------------------------------------------------------

interface PeerResult {
  times: { variant: string; medianMs: number; reps: number; warmupOnly: boolean }[];
  /** Variants stopped at the budget before a call finished, with how long the unfinished call had
   *  run by then (ms on the bench's clock; a lower bound on its time), when it is known. */
  timedOut: { variant: string; lowerBoundMs?: number }[];
  /** max |H_ours − H_peer| / max |H_peer| per variant whose Hessian was read. */
  agreement: Map<string, number>;
  /** The same over a few rows (PyTorch's double backward), when no full Hessian finished. */
  rowAgreement?: { value: number; rows: number };
  valueDiff?: number;
  version?: string;
  skipped?: string;
  notes: string[];
}

interface Row {
  readonly c: BenchCase;
  compileMs?: number;
  compileWarmMs?: number;
  bytes?: number;
  compileError?: string;
  /** Multiply-adds of `hessian` by the cost model, at the case's dims. */
  madds?: number;
  ours?: Timing;
  floors: FloorTiming[];
  peers: Partial<Record<PeerName, PeerResult>>;
  /** The model's Hessian written by hand (HAND_WRITTEN), each variant timed in back-to-back pairs with ours. */
  hand: { readonly name: string; readonly ms: number; readonly overOurs: number }[];
  notes: string[];
}

// bin/run-ts.mjs runs a bundle from node_modules/.cache and sets argv[1] to the .ts entry:
// find bench/ from there (or from this module when run some other way).
const here = process.argv[1]?.endsWith('.ts') ? dirname(resolve(process.argv[1])) : dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : ms >= 0.1 ? `${ms.toFixed(3)} ms` : `${(ms * 1000).toFixed(2)} µs`;
const fmtCount = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : String(x));
const fmtRatio = (x: number): string => (x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);

function symmetryProblems(h: Float64Array, n: number): string | undefined {
  let asym = 0;
  let nonFinite = 0;
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < n; j++) {
      const v = h[ri + j];
      if (!Number.isFinite(v)) nonFinite++;
      if (j > i && v !== h[j * n + i]) asym++;
    }
  }
  const out: string[] = [];
  if (asym) out.push(`${asym} pairs with H[i,j] !== H[j,i]`);
  if (nonFinite) out.push(`${nonFinite} non-finite entries`);
  return out.length ? `our Hessian: ${out.join(', ')}` : undefined;
}

function relativeMaxDiff(ours: Float64Array, theirs: Float64Array): number {
  if (ours.length !== theirs.length) return Number.NaN;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    if (d > diff || d !== d) diff = d;
    scale = Math.max(scale, Math.abs(theirs[i]));
  }
  return diff / (scale || 1);
}

/** What a peer run needs from the case: θ and data files, our Hessian and value. */
interface PeerInput {
  readonly dir: string;
  readonly theta: string;
  readonly files: Record<string, { path: string; shape: readonly number[] }>;
  readonly ourH: Float64Array;
  readonly ourValue: number;
  readonly rows: readonly number[];
}

/** Runs one peer's variants, one process each within the budget, and checks their Hessians. */
async function runPeerVariants(peer: PeerName, c: BenchCase, o: Options, input: PeerInput): Promise<PeerResult> {
  const r: PeerResult = { times: [], timedOut: [], agreement: new Map(), notes: [] };
  const title = PEER_TITLE[peer];
  for (const variant of variantsFor(c, peer, o)) {
    const tag = `${c.name}.${peer}.${variant.replace(/[^a-z]+/gi, '-')}`;
    const hPath = join(input.dir, `${tag}.H.bin`);
    const rowsPath = join(input.dir, `${tag}.rows.bin`);
    const job = {
      model: c.name,
      n: c.n,
      theta: input.theta,
      data: input.files,
      hessian_out: hPath,
      variants: [variant],
      warmup: 1,
      warmup_seconds: 1,
      min_reps: 3,
      max_reps: 100,
      slow_seconds: 2,
      target_seconds: o.quick ? 0.3 : 1.0,
      threads: 1,
      clock: o.clock,
      memory_limit_gb: 16,
      // Rows by double backward, once: cheap even where the full Hessian does not finish.
      ...(peer === 'torch' && variant === PEER_VARIANTS.torch[0] ? { check_rows: input.rows, rows_out: rowsPath } : {}),
    };
    const jobPath = join(input.dir, `${tag}.json`);
    writeFileSync(jobPath, JSON.stringify(job));
    const run: TorchRun =
      peer === 'torch'
        ? await runPeer(o.python, [join(here, 'torch_hessian.py'), jobPath], o.peerBudgetMs, o.clock)
        : await runPeer(process.execPath, ['--max-old-space-size=8192', join(root, 'bin', 'run-ts.mjs'), join(here, 'jaxjs.ts'), jobPath], o.peerBudgetMs, o.clock);
    const reps = run.events.flatMap((e) => (e.event === 'call' && e.phase === 'rep' ? [e.seconds * 1000] : []));
    for (const e of run.events) {
      if (e.event === 'ready') r.version = e.torch;
      if (e.event === 'error') r.notes.push(`${title} ${variant}: ${e.message}`);
      if (e.event === 'value' && r.valueDiff === undefined) r.valueDiff = Math.abs(input.ourValue - e.value) / Math.max(1, Math.abs(e.value));
    }
    if (!run.timedOut && run.exitCode !== 0) r.notes.push(`${title} ${variant} exited with ${run.exitCode}: ${run.stderrTail.split('\n').slice(-3).join(' | ')}`);
    if (run.timedOut)
      r.notes.push(
        `${title} ${variant} stopped at the ${o.peerBudgetMs / 1000} s (wall) budget after ${reps.length} timed call(s)` +
          (run.unfinished ? `, its unfinished call having run ${fmtMs(run.unfinished.ms)} (${o.clock === 'cpu' ? 'CPU time' : 'wall'})` : ''),
      );
    if (reps.length) r.times.push({ variant, medianMs: median(reps), reps: reps.length, warmupOnly: false });
    else {
      // Only the warm-up finished within the budget: report it, marked as such.
      const warm = run.events.find((e) => e.event === 'call');
      if (warm && warm.event === 'call') r.times.push({ variant, medianMs: warm.seconds * 1000, reps: 1, warmupOnly: true });
      else if (run.timedOut) r.timedOut.push({ variant, ...(run.unfinished?.variant === variant ? { lowerBoundMs: run.unfinished.ms } : {}) });
    }
    if (run.events.some((e) => e.event === 'rows')) {
      const theirs = readF64(rowsPath);
      const mine = new Float64Array(input.rows.length * c.n);
      input.rows.forEach((row, k) => mine.set(input.ourH.subarray(row * c.n, (row + 1) * c.n), k * c.n));
      r.rowAgreement = { value: relativeMaxDiff(mine, theirs), rows: input.rows.length };
    }
    if (run.events.some((e) => e.event === 'hessian')) {
      r.agreement.set(variant, relativeMaxDiff(input.ourH, readF64(hPath)));
      rmSync(hPath, { force: true });
    }
  }
  return r;
}

async function runCase(c: BenchCase, o: Options, dir: string, torchOk: boolean, floors: readonly FloorKernel[]): Promise<Row> {
  const row: Row = { c, floors: [], peers: {}, hand: [], notes: [] };
  const source = readFileSync(join(here, 'models', `${c.name}.hess`), 'utf8');
  const sourcePath = `bench/models/${c.name}.hess`;

  // Compile: the first call is what a user waits for; a second one shows the warm cost.
  let t0 = performance.now();
  let result;
  try {
    result = compile(source, sourcePath, { targets: ['ts'] });
    row.compileMs = performance.now() - t0;
    t0 = performance.now();
    compile(source, sourcePath, { targets: ['ts'] });
    row.compileWarmMs = performance.now() - t0;
  } catch (err) {
    row.compileError = `compile() threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    return row;
  }
  if (!result.ok) {
    row.compileError = result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n');
    return row;
  }
  const ts = result.outputs.find((x) => x.target === 'ts');
  if (!ts) {
    row.compileError = 'compile() returned no ts output';
    return row;
  }
  row.bytes = Buffer.byteLength(ts.code, 'utf8');
  const report = inspect(source, sourcePath, { dims: c.dims });
  if (report.ok) row.madds = report.report.cost.entries.find((e) => e.entry === 'hessian')?.madds;
  else row.notes.push(`inspect: ${report.diagnostics.map((d) => d.message).join('; ')}`);
  if (!c.timed) return row;
  if (o.quick && c.slow) {
    row.notes.push('timings skipped by --quick');
    return row;
  }

  let mod: GeneratedModule;
  try {
    mod = await loadGenerated(ts.code, dir, c.name);
  } catch (err) {
    row.compileError = `the generated module does not load: ${err instanceof Error ? err.message : String(err)}`;
    return row;
  }
  const problems = layoutProblems(c.n, c.params, mod.model);
  if (problems.length) row.notes.push(`θ layout differs from the bench's: ${problems.join('; ')}`);

  const rng = new Rng(0x5eed + c.n);
  const theta = makeTheta(c, rng);
  const data = makeData(c, rng);
  const genData: GeneratedData = data;

  // Ours: hessian(theta, data, out) into one preallocated array; then each floor kernel at the same
  // multiply-add count, right after it (the machine's load changes from minute to minute).
  const n = c.n;
  const out = new Float64Array(n * n);
  try {
    row.ours = timeCalls(() => void mod.hessian(theta, genData, out), {
      warmup: 3,
      minReps: o.quick ? 3 : 5,
      maxReps: 200,
      targetMs: o.quick ? 300 : 1500,
      budgetMs: o.ourBudgetMs,
      clock: o.clock,
    });
  } catch (err) {
    row.notes.push(`our hessian() threw: ${err instanceof Error ? err.message : String(err)}`);
    return row;
  }
  const sym = symmetryProblems(out, n);
  if (sym) row.notes.push(sym);
  const ourValue = mod.value(theta, genData);
  if (o.floors && row.madds !== undefined && row.madds > 0)
    for (const k of floors) row.floors.push(timeFloor(k, row.madds, { warmupMs: 1000, targetMs: o.quick ? 300 : 1000, budgetMs: 10_000, clock: o.clock }));
  // Each hand-written variant: checked against ours, then timed in back-to-back pairs with it (the
  // median of the pairs' ratios): the machine's speed moves by tens of percent within minutes.
  const hand = HAND_WRITTEN[c.name];
  for (const v of hand?.variants ?? []) {
    const handOut = v.hessian(theta, genData, new Float64Array(n * n));
    const agreement = relativeMaxDiff(out, handOut);
    if (!(agreement <= AGREEMENT_LIMIT)) row.notes.push(`our Hessian: differs from the hand-written one (${hand!.file}, ${v.name}) by ${agreement.toExponential(1)}`);
    const [os, hs] = timePairs(() => void mod.hessian(theta, genData, out), () => void v.hessian(theta, genData, handOut), o.quick ? 3 : 9, o.ourBudgetMs);
    const timed = { name: v.name, ms: median(hs), overOurs: median(hs.map((h, k) => h / os[k]!)) };
    row.hand.push(timed);
    row.notes.push(`hand-written Hessian of this model (${hand!.file}, ${v.name}): ${fmtMs(timed.ms)}, ${timed.overOurs.toFixed(2)}× our time (median of ${hs.length} back-to-back pairs; ours ${fmtMs(median(os))} in them), max |ΔH| / max |H| = ${agreement.toExponential(1)}`);
  }

  // The peers: one process per variant, each within the peer budget.
  if (o.peers.size === 0) return row;
  const files: Record<string, { path: string; shape: readonly number[] }> = {};
  const thetaPath = join(dir, `${c.name}.theta.bin`);
  writeF64(thetaPath, theta);
  for (const d of c.data) {
    const p = join(dir, `${c.name}.${d.name}.bin`);
    writeF64(p, data[d.name]);
    files[d.name] = { path: p, shape: d.shape };
  }
  // Rows checked by double backward: the first and last of every parameter, and a few more.
  const checkRows = new Set<number>();
  let offset = 0;
  for (const p of c.params) {
    checkRows.add(offset);
    checkRows.add(offset + p.size - 1);
    offset += p.size;
  }
  const pick = new Rng(42);
  for (let k = 0; k < 4; k++) checkRows.add(pick.int(n));
  const input: PeerInput = { dir, theta: thetaPath, files, ourH: out, ourValue, rows: [...checkRows].sort((a, b) => a - b) };
  for (const peer of o.peers) {
    if (peer === 'torch' && !torchOk) row.peers.torch = { times: [], timedOut: [], agreement: new Map(), notes: [], skipped: 'torch unavailable' };
    else row.peers[peer] = await runPeerVariants(peer, c, o, input);
  }
  return row;
}

// ---- The tables ------------------------------------------------------------------------------

interface PeerCell {
  /** The variant's time, or why there is none; "WRONG" when its Hessian disagrees with ours. */
  text: string;
  /** Its time over ours (a lower bound when it ran out of budget), or undefined. */
  ratio?: number;
  lowerBound?: boolean;
  wrong: boolean;
}

function peerCell(row: Row, peer: PeerName, variant: string, o: Options): PeerCell {
  const r = row.peers[peer];
  if (!r) return { text: o.peers.has(peer) ? '—' : 'not run', wrong: false };
  if (r.skipped) return { text: `skipped (${r.skipped})`, wrong: false };
  const agreement = r.agreement.get(variant);
  if (agreement !== undefined && !(agreement <= WRONG_LIMIT)) return { text: `**wrong** (ΔH ${agreement.toExponential(1)})`, wrong: true };
  const t = r.times.find((x) => x.variant === variant);
  const ours = row.ours?.medianMs;
  if (t) {
    const warm = t.warmupOnly ? ', one call' : '';
    const approx = agreement !== undefined && agreement > AGREEMENT_LIMIT ? `, ΔH ${agreement.toExponential(1)}` : '';
    return { text: `${fmtMs(t.medianMs)}${warm}${approx}`, ...(ours ? { ratio: t.medianMs / ours } : {}), wrong: false };
  }
  const stopped = r.timedOut.find((x) => x.variant === variant);
  if (stopped) {
    // A lower bound from the unfinished call's own time (on the bench's clock), never the wall budget.
    const lb = stopped.lowerBoundMs;
    return lb === undefined
      ? { text: `stopped at the ${o.peerBudgetMs / 1000} s budget`, wrong: false }
      : { text: `> ${fmtMs(lb)} (stopped)`, ...(ours ? { ratio: lb / ours, lowerBound: true } : {}), wrong: false };
  }
  const error = r.notes.find((x) => x.includes(` ${variant}: `));
  return { text: error ? `fails: ${error.slice(error.indexOf(': ') + 2, error.indexOf(': ') + 60)}` : '—', wrong: false };
}

/** The peer's best (fastest) variant that is not wrong. */
function bestPeer(row: Row, peer: PeerName, o: Options): { variant: string; cell: PeerCell } | undefined {
  let best: { variant: string; cell: PeerCell } | undefined;
  for (const variant of variantsFor(row.c, peer, o)) {
    const cell = peerCell(row, peer, variant, o);
    if (cell.ratio === undefined || cell.wrong) continue;
    if (!best || cell.ratio < best.cell.ratio!) best = { variant, cell };
  }
  return best;
}

const ratioText = (cell: PeerCell | undefined): string => (cell?.ratio === undefined ? '—' : `${cell.lowerBound ? '> ' : ''}${fmtRatio(cell.ratio)}`);

function judge(row: Row, rows: readonly Row[], o: Options): { result: 'PASS' | 'FAIL' | 'N/A'; targets: string[]; why: string[] } {
  const why: string[] = [];
  const targets: string[] = [`compile ≤ ${COMPILE_LIMIT_MS / 1000} s`];
  let result: 'PASS' | 'FAIL' | 'N/A' = 'PASS';
  const fail = (reason: string) => {
    result = 'FAIL';
    why.push(reason);
  };
  const na = (reason: string) => {
    if (result === 'PASS') result = 'N/A';
    why.push(reason);
  };
  if (row.compileError !== undefined) fail('does not compile');
  else if (row.compileMs !== undefined && row.compileMs > COMPILE_LIMIT_MS) fail(`compile ${fmtMs(row.compileMs)}`);
  for (const t of row.c.targets) {
    if (t.kind === 'speedup') {
      const who = `${PEER_TITLE[t.peer]}${t.variant ? ` ${t.variant}` : ''}`;
      targets.push(`≥ ${t.min}× ${who}`);
      if (!o.peers.has(t.peer) || (o.quick && row.c.slow)) continue;
      const cell = t.variant ? peerCell(row, t.peer, t.variant, o) : bestPeer(row, t.peer, o)?.cell;
      if (!row.ours) na('not timed');
      else if (cell?.ratio === undefined) na(`no ${who} time`);
      else if (cell.ratio < t.min) {
        (cell.lowerBound ? na : fail)(`${ratioText(cell)} ${who}`);
        // What the hand-written Hessians of the model would have scored in the same run.
        for (const h of row.hand) why.push(`by hand, ${h.name}: ${fmtRatio(cell.ratio / h.overOurs)}`);
      }
    } else if (t.kind === 'floor') {
      targets.push(`≥ ${100 * t.min}% of the Wasm-SIMD floor`);
      const wasm = row.floors.find((f) => f.name.startsWith('Wasm'));
      if (!row.ours || row.madds === undefined || (o.quick && row.c.slow)) continue;
      if (!wasm) na('no Wasm-SIMD floor');
      else {
        const fraction = row.madds / (row.ours.medianMs / 1000) / wasm.rate;
        if (fraction < t.min) fail(`${(100 * fraction).toFixed(0)}% of the Wasm floor`);
      }
    } else {
      targets.push(`bytes ≤ ${t.max}× ${t.relativeTo}`);
      const ref = rows.find((r) => r.c.name === t.relativeTo);
      if (row.bytes === undefined) continue;
      if (ref?.bytes === undefined) na(`no size for ${t.relativeTo}`);
      else if (row.bytes > t.max * ref.bytes) fail(`${(row.bytes / ref.bytes).toFixed(2)}× the bytes of ${t.relativeTo}`);
    }
  }
  const torch = row.peers.torch;
  if (torch) {
    for (const [variant, a] of torch.agreement) if (!(a <= AGREEMENT_LIMIT)) fail(`PyTorch ${variant}: Hessians differ by ${a.toExponential(1)}`);
    if (torch.rowAgreement && !(torch.rowAgreement.value <= AGREEMENT_LIMIT)) fail(`Hessian rows differ from PyTorch's by ${torch.rowAgreement.value.toExponential(1)}`);
  }
  if (row.notes.some((x) => x.startsWith('our Hessian:') || x.startsWith('θ layout') || x.startsWith('our hessian() threw'))) fail('see notes');
  return { result, targets, why };
}

function table(header: readonly string[], lines: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

function printTables(rows: readonly Row[], o: Options, floorNames: readonly string[]): boolean {
  let allPass = true;
  const notes: string[] = [];

  // 1. Ours against the peers.
  const peerLines: string[][] = [];
  for (const row of rows) {
    if (!row.c.timed) continue;
    const c = row.c;
    const cells = [`${c.name} (${c.title})`, String(c.n), row.ours ? fmtMs(row.ours.medianMs) : '—'];
    for (const peer of ['torch', 'jaxjs'] as const) {
      if (peer === 'torch') {
        const best = bestPeer(row, peer, o);
        const wrong = variantsFor(c, peer, o).map((v) => peerCell(row, peer, v, o)).find((x) => x.wrong);
        cells.push(
          best ? `${best.cell.text}${best.cell.lowerBound ? '' : ` (${best.variant.replace('vectorize=', 'vec=')})`}` : wrong ? wrong.text : peerCell(row, peer, PEER_VARIANTS.torch[0], o).text,
          best ? ratioText(best.cell) : '—',
        );
      } else {
        for (const v of PEER_VARIANTS.jaxjs) {
          const cell = peerCell(row, peer, v, o);
          cells.push(cell.text, ratioText(cell));
        }
      }
    }
    const torch = row.peers.torch;
    const ag = [...(torch?.agreement.values() ?? [])];
    cells.push(
      ag.length ? Math.max(...ag).toExponential(1) : torch?.rowAgreement ? `${torch.rowAgreement.value.toExponential(1)} (${torch.rowAgreement.rows} rows)` : '—',
      row.peers.jaxjs?.agreement.size ? Math.max(...row.peers.jaxjs.agreement.values()).toExponential(1) : '—',
    );
    peerLines.push(cells);
  }
  console.log('## Ours against the peers (each peer: its time, and its time over ours)\n');
  console.log(
    table(
      ['model', 'n', 'ours: hessian()', 'PyTorch (best)', 'PyTorch / ours', 'jax-js hessian', 'jax-js / ours', 'jax-js jit(hessian)', 'jit / ours', 'max |ΔH|/max |H| PyTorch', 'jax-js'],
      peerLines,
    ),
  );

  // 2. The rate against the floor kernels.
  const rateLines: string[][] = [];
  for (const row of rows) {
    if (!row.c.timed || !row.ours || row.madds === undefined) continue;
    const ours = row.madds / (row.ours.medianMs / 1000);
    const cells = [row.c.name, fmtCount(row.madds), fmtMs(row.ours.medianMs), (ours / 1e9).toFixed(2)];
    for (const name of floorNames) {
      const f = row.floors.find((x) => x.name === name);
      cells.push(f ? `${(f.rate / 1e9).toFixed(2)} (${fmtMs(f.ms)})` : '—', f ? `${(100 * (ours / f.rate)).toFixed(0)}%` : '—');
    }
    rateLines.push(cells);
  }
  if (o.floors) {
    console.log('\n## Rate: multiply-adds per second on one core, against GEMM floor kernels at the same count\n');
    console.log(
      table(
        ['model', 'Hessian multiply-adds', 'ours', 'ours GMAC/s', ...floorNames.flatMap((f) => [`${f} GMAC/s (time at that count)`, 'ours / it'])],
        rateLines,
      ),
    );
  }

  // 3. Compilation, size and targets.
  const targetLines: string[][] = [];
  for (const row of rows) {
    const v = judge(row, rows, o);
    if (v.result === 'FAIL') allPass = false;
    const c = row.c;
    targetLines.push([
      c.name,
      ((c.n * c.n * 8) / 1e6).toFixed(c.n * c.n * 8 >= 1e7 ? 0 : 3),
      row.compileMs !== undefined ? `${row.compileMs.toFixed(0)} (${row.compileWarmMs!.toFixed(0)})` : 'error',
      row.bytes !== undefined ? String(row.bytes) : '—',
      v.targets.join('; '),
      v.why.length ? `${v.result} (${v.why.join('; ')})` : v.result,
    ]);
    if (row.compileError) notes.push(`- ${c.name}: compile error:\n${indent(row.compileError)}`);
    if (row.ours) {
      const batch = row.ours.batch > 1 ? ` (each the mean of a batch of ${row.ours.batch} calls)` : '';
      notes.push(
        row.ours.single
          ? `- ${c.name}: ours, a single call (slow enough that a warm-up would not change it): ${fmtMs(row.ours.medianMs)}`
          : `- ${c.name}: ours, median of ${row.ours.reps} sample(s)${batch} after warm-up: ${fmtMs(row.ours.medianMs)}`,
      );
    }
    for (const f of row.floors)
      notes.push(`- ${c.name}: ${f.name}: ${f.shape.m}×${f.shape.n}×${f.shape.k} at ${(f.rate / 1e9).toFixed(2)} GMAC/s${f.check ? `, max |ΔC|/max |C| against the scalar GEMM ${f.check.toExponential(1)}` : ''}`);
    for (const peer of ['torch', 'jaxjs'] as const) {
      const r = row.peers[peer];
      if (!r) continue;
      for (const t of r.times) notes.push(`- ${c.name}: ${PEER_TITLE[peer]} ${t.variant}: ${t.warmupOnly ? 'only its first call finished' : `median of ${t.reps} call(s)`}: ${fmtMs(t.medianMs)}`);
      for (const [variant, a] of r.agreement) notes.push(`- ${c.name}: ${PEER_TITLE[peer]} ${variant}: max |ΔH| / max |H| = ${a.toExponential(1)}`);
      if (r.rowAgreement) notes.push(`- ${c.name}: PyTorch, ${r.rowAgreement.rows} rows by double backward: max |ΔH| / max |H| = ${r.rowAgreement.value.toExponential(1)}`);
      if (r.valueDiff !== undefined) notes.push(`- ${c.name}: |f_ours − f_${peer}| / max(1, |f|) = ${r.valueDiff.toExponential(1)}`);
      for (const note of r.notes) notes.push(`- ${c.name}: ${note}`);
    }
    for (const note of row.notes) notes.push(`- ${c.name}: ${note}`);
  }
  console.log('\n## Compilation, size and targets\n');
  console.log(table(['model', 'H (MB)', 'compile ms (warm)', 'generated bytes', 'targets', 'result'], targetLines));
  console.log('\nNotes:\n' + notes.join('\n'));
  return allPass;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

// ---- Main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const cases = CASES.filter((c) => !o.only || o.only.has(c.name));

  const probe = spawnSync(o.python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  const torchOk = probe.status === 0;
  const torchVersion = torchOk ? probe.stdout.trim() : `unavailable (${(probe.stderr || String(probe.error ?? '')).trim().split('\n').pop()})`;
  const { kernels, notes: floorNotes } = o.floors ? await floorKernels() : { kernels: [], notes: [] };
  let jaxVersion = '?';
  try {
    jaxVersion = (JSON.parse(readFileSync(join(root, 'node_modules/@jax-js/jax/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    jaxVersion = 'not installed';
  }

  console.log(`# hessgen CPU bench${o.quick ? ' (--quick)' : ''}\n`);
  console.log(`CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average at the start ${loadavg().map((x) => x.toFixed(2)).join(', ')}; Node ${process.version}.`);
  console.log(`Peers, float64, one thread: PyTorch ${torchVersion} (${o.python}), torch.autograd.functional.hessian, best of vectorize=False/True${o.allVariants ? '' : ` (only vectorize=False on ${Object.keys(TORCH_VARIANTS).join(', ')})`};`);
  console.log(`jax-js ${jaxVersion}, Wasm backend, hessian and jit(hessian). Time budget ${o.peerBudgetMs / 1000} s per peer variant and model, ${o.ourBudgetMs / 1000} s for ours.`);
  console.log(`Times are medians of several calls after a warm-up of at least 1 s, ${o.clock === 'cpu' ? "each process's CPU time (user + system)" : 'wall time'}; ours is hessian(theta, data, out) into a preallocated out.`);
  for (const note of floorNotes) console.log(`Floors: ${note}.`);
  console.log('');

  const dir = mkdtempSync(join(tmpdir(), 'hessgen-bench-'));
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      process.stderr.write(`bench: ${c.name}...\n`);
      rows.push(await runCase(c, o, dir, torchOk, kernels));
    }
  } finally {
    if (o.keep) console.error(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const pass = printTables(rows, o, kernels.map((k) => k.name));
  console.log(`\nLoad average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')} (${cpus().length} cores).`);
  process.exitCode = pass ? 0 : 1;
}

await main();
