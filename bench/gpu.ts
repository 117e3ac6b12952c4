/// <reference types="@webgpu/types" />
// The GPU bench: hessgen's WGSL kernels against jax.jit(jax.hessian) and torch.func.hessian,
// float32, side by side on the same GPU. See bench/GPU.md for how to pack and run it.
//
// For each model it builds deterministic θ and data (seeded; the distributions of bench/cpu.ts,
// one-hot Y for softmax), times our side through the generated module
// bench/generated/<model>.gpu.ts:
//   - createKernels(device): pipeline creation (one call);
//   - hessianBuffer(θ) + device.queue.onSubmittedWorkDone(): the Hessian left on the GPU
//     (hessianBatchBuffer for the per-sample model, B problems with batched x and y, one θ;
//     both called as hessianBuffers, which also serves Hessians larger than one GPU buffer);
//     median after a warm-up;
//   - hessian(θ, out) / hessianBatch(θ, out): the same with the read-back into `out`;
// then writes θ, the data and a job file to a temporary folder and runs bench/gpu_peers.py
// (one Python process per peer, each model within a time budget), compares the peers'
// Hessians with ours at ~70 sampled entries (diagonal, every block pair, cross-block, random;
// plus our largest entry) relative to max |H|, and prints a markdown table and a JSON summary
// line (prefix HESSGEN_GPU_BENCH).
//
// Run:
//   on a GPU machine:  ../shared/tools/gpu-pack bench/gpu.ts, then (device command, carry [".gpu"])
//                      bash .gpu/run.sh gpu --repo=$PWD
//   smoke test here:   EGL_PLATFORM=surfaceless node bin/run-ts.mjs bench/gpu.ts --smoke
// Options:
//   --smoke                   our side only, on { backend: 'opengles', featureLevel: 'compatibility' }
//                             (Mesa llvmpipe), tiny sizes, small models only: checks that it runs;
//                             the figures are not performance figures
//   --repo=PATH               the repository copy (default $HESSGEN_REPO, else the cwd): where
//                             bench/gpu_peers.py is. gpu-pack's run.sh runs Node from /tmp/gpu-run,
//                             hence --repo=$PWD in the device command
//   --peers=PATH              the peers script itself (default REPO/bench/gpu_peers.py)
//   --python=PATH             the Python with JAX and PyTorch (default python3)
//   --peer-list=a,b           peers to run: jax, jax-f32, torch.func, torch.autograd (Python, by
//                             gpu_peers.py), jax-js, jax-js-jit (in this process on WebGPU, by
//                             gpu_jaxjs.ts; reported in the notes); "none" for none
//                             (default jax,torch.func,jax-f32; with --smoke: none)
//   --only=a,b                only these models (with --smoke, naming a large model runs it too)
//   --size=NAME=K[,NAME=K]    override N (or B for the per-sample model)
//   --our-budget=S            our side, per model (default 40; smoke 20)
//   --peer-budget=S           each peer, per model: soft limit given to Python (default 30)
//   --peer-hard=S             a peer process still on one model after S seconds (default: the
//                             peer budget + 60) is killed, and restarted on the models after it
//   --deadline=S              the whole run (default 420): later work is skipped, reported as such
//   --backend=NAME            requestDevice backend (default: the runtime's default; smoke: opengles)
//   --out=DIR                 also write gpu-bench.md, gpu-bench.json and gpu-peers.jsonl there
//                             (default $OUT when set, as on the device machine)
//   --keep                    keep the temporary folder (θ, data, job)
// Exit status: 0 when no row fails (smoke: when our side ran cleanly), 1 otherwise, 2 on bad options.
//
// This file is bundled by gpu-pack (esbuild, only `webgpu` external): it may import only what
// bundles. That is why it does not import ./support.ts (which imports esbuild): the few helpers
// it shares with bench/cpu.ts are repeated below, Rng identical to support.ts's.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { requestDevice } from '../runtime/gpu/device.ts';
import { fillData, forEachLine, layoutProblems, median, MLP_3_5_1_PARAMS, normal, Rng, type DataSpec, type ParamSpec } from './common.ts';
import * as mlp784 from './generated/mlp_784_32_10.gpu.ts';
import * as softmax from './generated/softmax_64_128.gpu.ts';
import * as mlp64 from './generated/mlp_64_32_10.gpu.ts';
import * as mlpSample from './generated/mlp_3_5_1_sample.gpu.ts';
import { runJaxJs, type JaxJsResult } from './gpu_jaxjs.ts';

// ---- The generated GPU module's API (bench/generated/<model>.gpu.ts) ------------------------

/** What this bench uses of a generated GPU module. `setData` takes `never` so that every
 *  model's own `Data` type fits; the bench passes its arrays with a cast. */
interface GpuKernels {
  setData(data: never, options?: { batched?: readonly string[] }): void;
  evaluate(theta: ArrayLike<number>): Promise<{ value: number; gradient: Float32Array; hessian: Float32Array }>;
  hessian(theta: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  hessianBatch(thetas: ArrayLike<number>, out?: Float32Array): Promise<Float32Array>;
  evaluateBatch(thetas: ArrayLike<number>): Promise<{ values: Float32Array; gradients: Float32Array; hessians: Float32Array }>;
  hessianBuffer(theta: ArrayLike<number>): Promise<GPUBuffer>;
  hessianBatchBuffer(thetas: ArrayLike<number>): Promise<GPUBuffer>;
  hessianBuffers(thetas: ArrayLike<number>, options?: { batch?: boolean }): Promise<{ buffers: GPUBuffer[]; elementsPerBuffer: number }>;
  destroy(): void;
}

interface GpuModule {
  readonly model: {
    readonly name: string;
    readonly n: number;
    readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly size: number }[];
    readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  };
  readonly wgsl: Readonly<Record<string, string>>;
  createKernels(device: GPUDevice): Promise<GpuKernels>;
}

// ---- Formatting ------------------------------------------------------------------------------

const fmtMs = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms)
    ? '—'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : ms >= 10
        ? `${ms.toFixed(1)} ms`
        : ms >= 0.1
          ? `${ms.toFixed(3)} ms`
          : `${(ms * 1000).toFixed(1)} µs`;
const fmtRatio = (r: number): string => `${r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
const fmtE = (x: number | undefined): string => (x === undefined ? '—' : Number.isFinite(x) ? x.toExponential(1) : String(x));
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);

function writeF32(path: string, a: Float32Array): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('writeF32: big-endian machines are not supported');
  writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

// ---- The models -------------------------------------------------------------------------------


interface GpuCase {
  /** File name in bench/models/, without `.hess`. */
  readonly name: string;
  readonly title: (size: number) => string;
  readonly n: number;
  readonly params: readonly ParamSpec[];
  /** N (rows of the data), or B (problems) for a per-sample model. */
  readonly size: { readonly full: number; readonly smoke: number };
  /** Run by --smoke unless --only says otherwise (the CPU adapter binds at most 128 MiB). */
  readonly smokeByDefault: boolean;
  readonly data: (size: number) => readonly DataSpec[];
  /** Data arrays that hold B problems back to back (one θ shared); absent: one problem. */
  readonly batched?: readonly string[];
  readonly module: GpuModule;
  /** ≥ min × the JAX peer's time; aim for `aim`×. */
  readonly target: { readonly peer: string; readonly min: number; readonly aim: number };
}

const mlpParams = (inputs: number): ParamSpec[] => [
  { name: 'W1', size: inputs * 32, init: normal(1 / Math.sqrt(inputs)) },
  { name: 'b1', size: 32, init: normal(0.1) },
  { name: 'W2', size: 320, init: normal(1 / Math.sqrt(32)) },
  { name: 'b2', size: 10, init: normal(0.1) },
];

const CASES: readonly GpuCase[] = [
  {
    name: 'mlp_784_32_10',
    title: (N) => `784-32-10 tanh MLP, MSE, N = ${N}`,
    n: 25450,
    params: mlpParams(784),
    size: { full: 512, smoke: 8 },
    smokeByDefault: false,
    data: (N) => [
      { name: 'X', shape: [N, 784], fill: 'normal' },
      { name: 'Y', shape: [N, 10], fill: 'normal' },
    ],
    module: mlp784,
    target: { peer: 'jax.jit(jax.hessian)', min: 1, aim: 2 },
  },
  {
    name: 'softmax_64_128',
    title: (N) => `softmax regression 64→128, N = ${N}`,
    n: 8320,
    params: [
      { name: 'W', size: 8192, init: normal(1 / 8) },
      { name: 'b', size: 128, init: normal(0.1) },
    ],
    size: { full: 1000, smoke: 8 },
    smokeByDefault: false,
    data: (N) => [
      { name: 'X', shape: [N, 64], fill: 'normal' },
      { name: 'Y', shape: [N, 128], fill: 'onehot' },
    ],
    module: softmax,
    target: { peer: 'jax.jit(jax.hessian)', min: 1, aim: 2 },
  },
  {
    name: 'mlp_64_32_10',
    title: (N) => `64-32-10 tanh MLP, MSE, N = ${N}`,
    n: 2410,
    params: mlpParams(64),
    size: { full: 256, smoke: 8 },
    smokeByDefault: true,
    data: (N) => [
      { name: 'X', shape: [N, 64], fill: 'normal' },
      { name: 'Y', shape: [N, 10], fill: 'normal' },
    ],
    module: mlp64,
    target: { peer: 'jax.jit(jax.hessian)', min: 1, aim: 2 },
  },
  {
    name: 'mlp_3_5_1_sample',
    title: (B) => `3-5-1 tanh MLP, per-sample Hessians, B = ${B}`,
    n: 26,
    params: MLP_3_5_1_PARAMS,
    size: { full: 100_000, smoke: 64 },
    smokeByDefault: true,
    data: (B) => [
      { name: 'x', shape: [B, 3], fill: 'normal' },
      { name: 'y', shape: [B], fill: 'normal' },
    ],
    batched: ['x', 'y'],
    module: mlpSample,
    target: { peer: 'jax.vmap(jax.hessian)', min: 1, aim: 3 },
  },
];

const PEERS = ['jax', 'jax-f32', 'torch.func', 'torch.autograd', 'jax-js', 'jax-js-jit'] as const;
/** Peers run in this process (bench/gpu_jaxjs.ts), not by gpu_peers.py. */
const JS_PEERS: Record<string, boolean> = { 'jax-js': false, 'jax-js-jit': true };
const pythonPeers = (o: { peerList: readonly string[] }): string[] => o.peerList.filter((p) => !(p in JS_PEERS));
/** Peers whose wrong Hessian is reported in the notes but does not fail our row. */
const INFORMATIVE_PEERS = new Set(Object.keys(JS_PEERS));
/** Largest acceptable max |ΔH| / max |H| at the sampled entries, per peer. JAX's default
 *  matmul precision is TF32 on Ampere and later GPUs (10-bit mantissa): looser. */
const AGREEMENT_LIMIT: Record<string, number> = { 'jax': 1e-2, 'jax-f32': 1e-3, 'torch.func': 1e-3, 'torch.autograd': 1e-3 };
const PEER_COLUMNS = { jax: 'jax', torch: 'torch.func' } as const;

// ---- Options ----------------------------------------------------------------------------------

interface Options {
  smoke: boolean;
  repo: string | undefined;
  peersScript: string | undefined;
  python: string;
  peerList: string[];
  only: Set<string> | undefined;
  sizes: Map<string, number>;
  ourBudgetMs: number;
  peerBudgetMs: number;
  peerHardMs: number | undefined;
  deadlineMs: number;
  backend: string | undefined;
  outDir: string | undefined;
  keep: boolean;
}

const USAGE =
  'usage: bench/gpu.ts [--smoke] [--repo=PATH] [--peers=PATH] [--python=PATH] [--peer-list=a,b|none] [--only=a,b]\n' +
  '                    [--size=NAME=K,...] [--our-budget=S] [--peer-budget=S] [--peer-hard=S] [--deadline=S] [--backend=NAME] [--out=DIR] [--keep]';

function parseOptions(argv: readonly string[]): Options {
  const smoke = argv.includes('--smoke');
  const o: Options = {
    smoke,
    repo: process.env.HESSGEN_REPO || undefined,
    peersScript: undefined,
    python: 'python3',
    peerList: smoke ? [] : ['jax', 'torch.func', 'jax-f32'],
    only: undefined,
    sizes: new Map(),
    ourBudgetMs: (smoke ? 20 : 40) * 1000,
    peerBudgetMs: 30 * 1000,
    peerHardMs: undefined,
    deadlineMs: 420 * 1000,
    backend: undefined,
    outDir: process.env.OUT || undefined,
    keep: false,
  };
  const bad = (why: string): never => {
    console.error(`gpu bench: ${why}\n${USAGE}`);
    process.exit(2);
  };
  const seconds = (key: string, value: string): number => {
    const s = Number(value);
    if (!(s > 0)) bad(`${key} must be a positive number of seconds`);
    return 1000 * s;
  };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const [key, value] = eq >= 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, ''];
    if (key === '--smoke') continue;
    else if (key === '--keep') o.keep = true;
    else if (key === '--repo') o.repo = value;
    else if (key === '--peers') o.peersScript = value;
    else if (key === '--python') o.python = value;
    else if (key === '--peer-list') o.peerList = value === 'none' ? [] : value.split(',').filter(Boolean);
    else if (key === '--only') o.only = new Set(value.split(',').filter(Boolean));
    else if (key === '--size')
      for (const part of value.split(',').filter(Boolean)) {
        const [name, k] = part.split('=');
        const v = Number(k);
        if (!name || !Number.isInteger(v) || v < 1) bad(`--size wants NAME=K with a positive integer K, not ${part}`);
        o.sizes.set(name, v);
      }
    else if (key === '--our-budget') o.ourBudgetMs = seconds(key, value);
    else if (key === '--peer-budget') o.peerBudgetMs = seconds(key, value);
    else if (key === '--peer-hard') o.peerHardMs = seconds(key, value);
    else if (key === '--deadline') o.deadlineMs = seconds(key, value);
    else if (key === '--backend') o.backend = value;
    else if (key === '--out') o.outDir = value;
    else bad(`unknown option ${arg}`);
  }
  for (const p of o.peerList) if (!(PEERS as readonly string[]).includes(p)) bad(`unknown peer ${p} (known: ${PEERS.join(', ')})`);
  for (const name of [...(o.only ?? []), ...o.sizes.keys()]) if (!CASES.some((c) => c.name === name)) bad(`no model ${name} (known: ${CASES.map((c) => c.name).join(', ')})`);
  return o;
}

/** bench/gpu_peers.py: --peers, else REPO/bench/, else next to this entry when run from the tree. */
function findPeersScript(o: Options): { path?: string; tried: string[] } {
  const candidates: string[] = [];
  if (o.peersScript) candidates.push(resolve(o.peersScript));
  else {
    if (o.repo) candidates.push(resolve(o.repo, 'bench', 'gpu_peers.py'));
    candidates.push(resolve(process.cwd(), 'bench', 'gpu_peers.py'));
    // bin/run-ts.mjs sets argv[1] to the .ts entry.
    if (process.argv[1]?.endsWith('.ts')) candidates.push(join(dirname(resolve(process.argv[1])), 'gpu_peers.py'));
  }
  const tried = [...new Set(candidates)];
  return { path: tried.find((p) => existsSync(p)), tried };
}

// ---- Problem data -------------------------------------------------------------------------------

interface Problem {
  readonly size: number;
  /** Problems (B) for a batched case, else 1. */
  readonly problems: number;
  readonly theta: Float32Array;
  readonly data: Record<string, Float32Array>;
  readonly dataSpecs: readonly DataSpec[];
}

/** θ then the data, from Rng(0x5eed + n) as in bench/cpu.ts, rounded to float32: exactly the
 *  arrays given to our module and written for the peers. */
function makeProblem(c: GpuCase, size: number): Problem {
  const rng = new Rng(0x5eed + c.n);
  const theta = new Float32Array(c.n);
  let k = 0;
  for (const p of c.params) for (let i = 0; i < p.size; i++) theta[k++] = p.init(rng);
  if (k !== c.n) throw new Error(`${c.name}: the bench's parameter sizes add up to ${k}, not ${c.n}`);
  const dataSpecs = c.data(size);
  const data: Record<string, Float32Array> = {};
  for (const d of dataSpecs) {
    const a = fillData(d, rng, new Float32Array(d.shape.reduce((x, y) => x * y, 1)));
    data[d.name] = a;
  }
  return { size, problems: c.batched ? size : 1, theta, data, dataSpecs };
}


/** Flat indices (into the B·n·n stack) checked against the peers: diagonal entries, one entry
 *  of every block pair, cross-block entries and random ones; fixed seed. Problems 0 and B−1
 *  are always among those sampled. */
function sampleIndices(c: GpuCase, problems: number): number[] {
  const n = c.n;
  const rng = new Rng(0x1dc0 + n);
  const offsets: number[] = [];
  let o = 0;
  for (const p of c.params) {
    offsets.push(o);
    o += p.size;
  }
  const P = c.params.length;
  const inBlock = (p: number) => offsets[p] + rng.int(c.params[p].size);
  const out: number[] = [];
  let k = 0;
  const add = (i: number, j: number) => {
    const b = problems === 1 ? 0 : k === 0 ? 0 : k === 1 ? problems - 1 : rng.int(problems);
    k++;
    out.push(b * n * n + i * n + j);
  };
  for (let t = 0; t < 16; t++) {
    const i = rng.int(n);
    add(i, i);
  }
  for (let p = 0; p < P; p++) for (let q = p; q < P; q++) add(inBlock(p), inBlock(q));
  if (P >= 2)
    for (let t = 0; t < 20; t++) {
      const p = rng.int(P);
      let q = rng.int(P - 1);
      if (q >= p) q++;
      add(inBlock(p), inBlock(q));
    }
  for (let t = 0; t < 20; t++) add(rng.int(n), rng.int(n));
  return [...new Set(out)];
}

// ---- Our side -------------------------------------------------------------------------------------

interface Timing {
  readonly medianMs: number;
  readonly reps: number;
  readonly samplesMs: readonly number[];
}

/** `call` does one timed thing and returns its duration (ms), so that clean-up stays outside. */
async function timeAsync(call: () => Promise<number>, o: { minReps: number; maxReps: number; targetMs: number; budgetMs: number }): Promise<Timing> {
  const start = performance.now();
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < o.maxReps) {
    const last = samples.length ? samples[samples.length - 1] : 0;
    if (samples.length >= 1 && performance.now() - start + last > o.budgetMs) break;
    if (samples.length >= o.minReps && spent >= o.targetMs) break;
    const dt = await call();
    samples.push(dt);
    spent += dt;
  }
  return { medianMs: median(samples), reps: samples.length, samplesMs: samples };
}

interface Ours {
  createMs?: number;
  setDataMs?: number;
  wgslBytes?: number;
  kernels?: number;
  /** Who owns the buffers hessianBuffer returns: the module (the same buffer(s) come back) or
   *  the caller (a new one per call, destroyed here after each call). */
  ownership?: 'module' | 'caller';
  buffer?: Timing;
  /** 10 calls back to back, one onSubmittedWorkDone: per call (median of 3). */
  pipelinedMs?: number;
  readback?: Timing;
  value?: number;
  maxAbs?: number;
  argmax?: number;
  nonFinite?: number;
  /** max |H[b,i,j] − H[b,j,i]| / max |H| over the sampled entries. */
  asymmetry?: number;
  indices?: number[];
  entries?: number[];
  errors: string[];
  notes: string[];
}

interface Row {
  readonly c: GpuCase;
  problem?: Problem;
  readonly ours: Ours;
  skipped?: string;
  peers: Map<string, PeerResult>;
}

async function runOurs(c: GpuCase, problem: Problem, device: GPUDevice, o: Options): Promise<Ours> {
  const ours: Ours = { errors: [], notes: [] };
  const mod = c.module;
  const layout = layoutProblems(c.n, c.params, mod.model);
  if (layout.length) ours.errors.push(`θ layout differs from the bench's: ${layout.join('; ')}`);
  ours.kernels = Object.keys(mod.wgsl).length;
  ours.wgslBytes = Object.values(mod.wgsl).reduce((a, s) => a + Buffer.byteLength(s, 'utf8'), 0);

  const n = c.n;
  const total = problem.problems * n * n;
  const batched = c.batched !== undefined;
  const { theta } = problem;
  const fast = o.smoke ? { target: 300, min: 3 } : { target: 2000, min: 5 };
  const scopes = ['internal', 'out-of-memory', 'validation'] as const;
  for (const s of scopes) device.pushErrorScope(s);
  let kernels: GpuKernels | undefined;
  const held: GPUBuffer[] = [];
  try {
    let t0 = performance.now();
    kernels = await mod.createKernels(device);
    ours.createMs = performance.now() - t0;
    const k = kernels;

    t0 = performance.now();
    k.setData(problem.data as never, batched ? { batched: c.batched } : undefined);
    await device.queue.onSubmittedWorkDone();
    ours.setDataMs = performance.now() - t0;

    // hessianBuffers: like hessianBuffer / hessianBatchBuffer, and also for Hessians larger than
    // one GPUBuffer (784-32-10: 2.6 GB); the same work, left on the GPU.
    const toBuffer = async () => (await k.hessianBuffers(theta, { batch: batched })).buffers[0]!;
    // Warm-up: 4 calls, keeping what comes back to learn who owns it.
    for (let i = 0; i < 4; i++) {
      held.push(await toBuffer());
      await device.queue.onSubmittedWorkDone();
    }
    ours.ownership = new Set(held).size === held.length ? 'caller' : 'module';
    if (ours.ownership === 'caller') for (const b of held.splice(0)) b.destroy();
    else held.length = 0;
    const budgetBuffer = o.ourBudgetMs * 0.4;
    ours.buffer = await timeAsync(
      async () => {
        const t = performance.now();
        const b = await toBuffer();
        await device.queue.onSubmittedWorkDone();
        const dt = performance.now() - t;
        if (ours.ownership === 'caller') b.destroy();
        return dt;
      },
      { minReps: fast.min, maxReps: 200, targetMs: fast.target, budgetMs: budgetBuffer },
    );
    // Throughput with the queue kept busy (how a solver issuing many calls would see it).
    if (ours.ownership === 'module' || 10 * total * 4 <= 2 ** 31) {
      const per: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        const bs: GPUBuffer[] = [];
        for (let i = 0; i < 10; i++) bs.push(await toBuffer());
        await device.queue.onSubmittedWorkDone();
        per.push((performance.now() - t) / 10);
        if (ours.ownership === 'caller') for (const b of bs) b.destroy();
      }
      ours.pipelinedMs = median(per);
    }

    // With the read-back; the first call also gives the Hessian checked against the peers.
    const out = new Float32Array(total);
    const read = () => (batched ? k.hessianBatch(theta, out) : k.hessian(theta, out));
    const got = await read();
    if (got !== out) ours.notes.push(`hessian${batched ? 'Batch' : ''}(θ, out) returned another array than out`);
    const H = got;
    if (H.length !== total) throw new Error(`the Hessian read back has ${H.length} entries, expected ${total}`);
    ours.readback = await timeAsync(
      async () => {
        const t = performance.now();
        await read();
        return performance.now() - t;
      },
      { minReps: 3, maxReps: 100, targetMs: o.smoke ? 300 : 1500, budgetMs: o.ourBudgetMs * 0.3 },
    );
    // read() wrote into `out` again: the same θ, so the same Hessian (checked below).
    let maxAbs = 0;
    let argmax = 0;
    let nonFinite = 0;
    for (let i = 0; i < H.length; i++) {
      const v = H[i];
      if (!Number.isFinite(v)) nonFinite++;
      else if (Math.abs(v) > maxAbs) {
        maxAbs = Math.abs(v);
        argmax = i;
      }
    }
    Object.assign(ours, { maxAbs, argmax, nonFinite });
    if (nonFinite) ours.errors.push(`our Hessian has ${nonFinite} non-finite entries`);
    const indices = sampleIndices(c, problem.problems);
    if (!indices.includes(argmax)) indices.push(argmax);
    ours.indices = indices;
    ours.entries = indices.map((i) => H[i]);
    let asym = 0;
    for (const idx of indices) {
      const b = Math.floor(idx / (n * n));
      const r = idx - b * n * n;
      const i = Math.floor(r / n);
      const j = r - i * n;
      asym = Math.max(asym, Math.abs(H[idx] - H[b * n * n + j * n + i]));
    }
    ours.asymmetry = asym / (maxAbs || 1);

    // The value, for the peers' check of the data layout (problem 0 when batched).
    try {
      ours.value = batched ? (await k.evaluateBatch(theta)).values[0] : (await k.evaluate(theta)).value;
    } catch (err) {
      ours.notes.push(`evaluate${batched ? 'Batch' : ''}() threw: ${errText(err)}`);
    }
    // The first Hessian must not have changed between calls with the same θ.
    const again = await read();
    let drift = 0;
    for (const idx of indices) drift = Math.max(drift, Math.abs(again[idx] - ours.entries[indices.indexOf(idx)]));
    if (drift > 0) ours.notes.push(`repeated calls differ: max |ΔH| / max |H| = ${fmtE(drift / (maxAbs || 1))} at the sampled entries`);
  } catch (err) {
    ours.errors.push(`threw: ${errText(err)}`);
  } finally {
    for (const b of held) b.destroy();
    try {
      kernels?.destroy();
    } catch (err) {
      ours.errors.push(`destroy() threw: ${errText(err)}`);
    }
    for (const s of [...scopes].reverse()) {
      const e = await device.popErrorScope().catch((err: unknown) => ({ message: `popErrorScope: ${errText(err)}` }));
      if (e) ours.errors.push(`WebGPU ${s} error: ${e.message.split('\n')[0].slice(0, 300)}`);
    }
  }
  return ours;
}

// ---- The peers ------------------------------------------------------------------------------------

interface PeerResult {
  medianMs?: number;
  runs?: number;
  firstCallMs?: number;
  platform?: string;
  value?: number;
  maxAbs?: number;
  entries?: (number | null)[];
  error?: string;
  /** max |H_ours − H_peer| / max(max |H_ours|, max |H_peer|) at the sampled entries. */
  agreement?: number;
  valueDiff?: number;
}

interface PeerEvent {
  event: 'peer' | 'start' | 'result' | 'error' | 'done';
  peer: string;
  model?: string;
  error?: string;
  version?: string;
  platform?: string;
  device?: string;
  precision?: string;
  median_ms?: number | null;
  runs?: number;
  first_call_ms?: number;
  value?: number | null;
  max_abs?: number | null;
  entries?: (number | null)[];
}

interface SpawnResult {
  events: PeerEvent[];
  exitCode: number | null;
  killedDuring?: string;
  killedWhy?: string;
  stderrTail: string;
}

/** One Python process for one peer over `models`, with a hard time limit per model. */
function spawnPeer(
  o: Options,
  script: string,
  jobPath: string,
  peer: string,
  models: readonly string[],
  limits: { importMs: number; modelMs: number; deadline: number },
  log: (line: string) => void,
): Promise<SpawnResult> {
  return new Promise((resolveRun) => {
    const child = spawn(o.python, [script, jobPath, `--peers=${peer}`, `--models=${models.join(',')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const events: PeerEvent[] = [];
    let stderr = '';
    let current: string | undefined;
    let killedDuring: string | undefined;
    let killedWhy: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number, why: string) => {
      if (timer) clearTimeout(timer);
      const left = limits.deadline - performance.now();
      const wait = Math.max(0, Math.min(ms, left));
      const reason = wait < ms ? 'the run deadline' : why;
      timer = setTimeout(() => {
        killedDuring = current ?? '(start-up)';
        killedWhy = reason;
        child.kill('SIGKILL');
      }, wait);
    };
    arm(limits.importMs, `no model started within ${limits.importMs / 1000} s`);
    forEachLine(child.stdout, (line) => {
      log(line);
      let e: PeerEvent;
      try {
        e = JSON.parse(line) as PeerEvent;
      } catch {
        stderr = (stderr + `unparsed output: ${line.slice(0, 200)}\n`).slice(-4000);
        return;
      }
      events.push(e);
      if (e.event === 'start') {
        current = e.model;
        arm(limits.modelMs, `the hard limit of ${(limits.modelMs / 1000).toFixed(0)} s for one model`);
      } else if ((e.event === 'result' || e.event === 'error') && e.model) {
        current = undefined;
        arm(limits.importMs, `no model started within ${limits.importMs / 1000} s`);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const finish = (code: number | null) => {
      if (timer) clearTimeout(timer);
      resolveRun({ events, exitCode: code, killedDuring, killedWhy, stderrTail: stderr.trim() });
    };
    child.on('error', (err) => {
      stderr += `spawn ${o.python}: ${err.message}`;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

function recordEvent(rows: readonly Row[], e: PeerEvent, peerInfo: Map<string, string>): void {
  if (e.event === 'peer') peerInfo.set(e.peer, `${e.peer} ${e.version ?? '?'} on ${e.device ?? '?'} (${e.platform ?? '?'}; ${e.precision ?? ''})`);
  if (e.event === 'error' && !e.model) peerInfo.set(`${e.peer} error`, `${e.peer}: ERROR ${e.error ?? '?'}`);
  if (!e.model) return;
  const row = rows.find((r) => r.c.name === e.model);
  if (!row) return;
  if (e.event === 'result')
    row.peers.set(e.peer, {
      medianMs: e.median_ms ?? undefined,
      runs: e.runs,
      firstCallMs: e.first_call_ms,
      platform: e.platform,
      value: e.value ?? NaN,
      maxAbs: e.max_abs ?? NaN,
      entries: e.entries,
    });
  else if (e.event === 'error') row.peers.set(e.peer, { ...row.peers.get(e.peer), error: e.error ?? 'error' });
}

async function runPeers(rows: Row[], o: Options, dir: string, script: string, deadline: number, log: (s: string) => void): Promise<Map<string, string>> {
  const peerInfo = new Map<string, string>();
  const jobRows = rows.filter((r) => r.problem && r.ours.indices && !r.skipped);
  if (!jobRows.length || !pythonPeers(o).length) return peerInfo;
  const budgetS = o.peerBudgetMs / 1000;
  const job = {
    device: o.smoke ? 'cpu' : 'cuda',
    peers: pythonPeers(o),
    models: jobRows.map((r) => {
      const p = r.problem!;
      const c = r.c;
      const thetaPath = join(dir, `${c.name}.theta.f32`);
      writeF32(thetaPath, p.theta);
      const data: Record<string, { path: string; shape: readonly number[] }> = {};
      for (const d of p.dataSpecs) {
        const path = join(dir, `${c.name}.${d.name}.f32`);
        writeF32(path, p.data[d.name]);
        data[d.name] = { path, shape: d.shape };
      }
      return {
        name: c.name,
        n: c.n,
        theta: thetaPath,
        data,
        batch: c.batched ? { size: p.problems, arrays: c.batched } : null,
        indices: r.ours.indices,
        budget_s: budgetS,
        target_s: o.smoke ? 0.3 : 2,
        min_reps: o.smoke ? 3 : 5,
        max_reps: 100,
        warmup: 2,
      };
    }),
  };
  const jobPath = join(dir, 'job.json');
  writeFileSync(jobPath, JSON.stringify(job, null, 1));

  for (const peer of pythonPeers(o)) {
    let remaining = jobRows.map((r) => r.c.name);
    while (remaining.length) {
      if (performance.now() > deadline - 5000) {
        for (const m of remaining) rows.find((r) => r.c.name === m)!.peers.set(peer, { error: 'skipped: run deadline reached' });
        break;
      }
      console.log(`# ${peer}: ${remaining.join(', ')}`);
      const run = await spawnPeer(o, script, jobPath, peer, remaining, { importMs: 180_000, modelMs: o.peerHardMs ?? o.peerBudgetMs + 60_000, deadline }, log);
      for (const e of run.events) recordEvent(rows, e, peerInfo);
      const finished = new Set(run.events.flatMap((e) => ((e.event === 'result' || e.event === 'error') && e.model ? [e.model] : [])));
      const started = run.events.flatMap((e) => (e.event === 'start' && e.model ? [e.model] : []));
      const peerError = run.events.find((e) => e.event === 'error' && !e.model)?.error;
      const lastStarted = started[started.length - 1];
      const broken = lastStarted !== undefined && !finished.has(lastStarted) ? lastStarted : undefined;
      const why = run.killedWhy
        ? `killed at ${run.killedWhy}`
        : `exited with ${run.exitCode}${run.stderrTail ? `: ${run.stderrTail.split('\n').slice(-2).join(' | ').slice(0, 300)}` : ''}`;
      if (broken) rows.find((r) => r.c.name === broken)!.peers.set(peer, { error: why });
      if (!started.length) {
        // Nothing started: the peer could not be imported, or the process failed at once.
        const msg = peerError ?? why;
        for (const m of remaining) if (!finished.has(m)) rows.find((r) => r.c.name === m)!.peers.set(peer, { error: msg });
        break;
      }
      const done = new Set([...finished, ...(broken ? [broken] : [])]);
      const index = Math.max(...remaining.map((m, i) => (done.has(m) ? i : -1)));
      const next = remaining.slice(index + 1);
      if (next.length === remaining.length) break; // no progress: stop rather than loop
      if (peerError && !broken) {
        for (const m of next) rows.find((r) => r.c.name === m)!.peers.set(peer, { error: peerError });
        break;
      }
      remaining = next;
    }
  }
  return peerInfo;
}

function compare(row: Row): void {
  const { ours } = row;
  if (!ours.entries || ours.maxAbs === undefined) return;
  for (const [, p] of row.peers) {
    if (!p.entries || p.entries.length !== ours.entries.length) continue;
    const scale = Math.max(ours.maxAbs, p.maxAbs ?? 0) || 1;
    let diff = 0;
    p.entries.forEach((v, k) => {
      const d = v === null ? NaN : Math.abs(v - ours.entries![k]);
      if (!(d <= diff)) diff = d; // NaN wins
    });
    p.agreement = diff / scale;
    if (ours.value !== undefined && p.value !== undefined) p.valueDiff = Math.abs(ours.value - p.value) / Math.max(1, Math.abs(p.value));
  }
}

// ---- The table ------------------------------------------------------------------------------------

interface Verdict {
  result: 'PASS' | 'FAIL' | 'N/A' | 'RAN' | 'SKIPPED';
  why: string[];
  ratioJax?: number;
  ratioTorch?: number;
  aimMet?: boolean;
}

function judge(row: Row, o: Options): Verdict {
  const v: Verdict = { result: 'PASS', why: [] };
  if (row.skipped) return { result: 'SKIPPED', why: [row.skipped] };
  const fail = (why: string) => {
    v.result = 'FAIL';
    v.why.push(why);
  };
  const { ours } = row;
  if (ours.errors.length) fail('our side: see notes');
  if (!ours.buffer) fail('ours not timed');
  for (const [peer, p] of row.peers) {
    if (INFORMATIVE_PEERS.has(peer)) continue;
    const limit = AGREEMENT_LIMIT[peer] ?? 1e-3;
    if (p.agreement !== undefined && !(p.agreement <= limit)) fail(`${peer} differs by ${fmtE(p.agreement)} > ${fmtE(limit)}`);
  }
  const jax = row.peers.get(PEER_COLUMNS.jax);
  const torch = row.peers.get(PEER_COLUMNS.torch);
  if (ours.buffer && jax?.medianMs) v.ratioJax = jax.medianMs / ours.buffer.medianMs;
  if (ours.buffer && torch?.medianMs) v.ratioTorch = torch.medianMs / ours.buffer.medianMs;
  if (o.smoke) {
    if (v.result === 'PASS') v.result = 'RAN';
    return v;
  }
  const t = row.c.target;
  if (v.ratioJax === undefined) {
    if (v.result === 'PASS') v.result = 'N/A';
    v.why.push('no JAX time');
  } else {
    if (jax?.platform !== 'gpu') fail(`JAX ran on ${jax?.platform ?? '?'}`);
    if (v.ratioJax < t.min) fail(`${fmtRatio(v.ratioJax)} < ${t.min}× JAX`);
    v.aimMet = v.ratioJax >= t.aim;
  }
  if (!row.peers.size || [...row.peers.values()].every((p) => p.agreement === undefined)) v.why.push('no peer Hessian to compare');
  return v;
}

function peerCell(p: PeerResult | undefined): string {
  if (!p) return '—';
  if (p.medianMs !== undefined) return `${fmtMs(p.medianMs)}${p.platform && p.platform !== 'gpu' ? ` (${p.platform}!)` : ''}`;
  if (p.error) return p.error.startsWith('killed') ? 'killed (notes)' : p.error.startsWith('skipped') ? 'skipped' : 'error (notes)';
  return '—';
}

function report(rows: readonly Row[], o: Options, header: string[], peerInfo: Map<string, string>): { text: string; allPass: boolean; summary: unknown } {
  const cols = [
    'model',
    'n',
    'ours hessianBuffer median',
    'ours with read-back',
    'JAX median',
    'torch.func median',
    'ratio JAX/ours',
    'ratio torch/ours',
    'target',
    'agreement (max abs ΔH / max abs H)',
    'createKernels',
    'result',
  ];
  const lines = [...header, '', `| ${cols.join(' | ')} |`, `|${cols.map((_, i) => (i === 0 || i === 8 || i === 9 || i === 11 ? ' --- ' : ' ---: ')).join('|')}|`];
  const notes: string[] = [];
  let allPass = true;
  const summaryRows: unknown[] = [];
  for (const row of rows) {
    const c = row.c;
    const v = judge(row, o);
    if (v.result === 'FAIL') allPass = false;
    const { ours } = row;
    const size = row.problem?.size ?? (o.sizes.get(c.name) ?? (o.smoke ? c.size.smoke : c.size.full));
    const title = `${c.name} (${c.title(size)})${o.smoke ? ' — CPU adapter smoke test, not a performance figure' : ''}`;
    const agreement = [...row.peers]
      .filter(([, p]) => p.agreement !== undefined)
      .map(([peer, p]) => `${peer} ${fmtE(p.agreement)}`)
      .join(', ');
    const result =
      v.result === 'PASS' && v.aimMet ? 'PASS (aim met)' : v.why.length ? `${v.result} (${v.why.join('; ')})` : v.result;
    const cells = [
      title,
      String(c.n),
      fmtMs(ours.buffer?.medianMs),
      fmtMs(ours.readback?.medianMs),
      peerCell(row.peers.get(PEER_COLUMNS.jax)),
      peerCell(row.peers.get(PEER_COLUMNS.torch)),
      v.ratioJax !== undefined ? fmtRatio(v.ratioJax) : '—',
      v.ratioTorch !== undefined ? fmtRatio(v.ratioTorch) : '—',
      o.smoke ? 'n/a (smoke)' : `≥ ${c.target.min}× ${c.target.peer} (aim ${c.target.aim}×)`,
      agreement || '—',
      fmtMs(ours.createMs),
      result,
    ];
    lines.push(`| ${cells.join(' | ')} |`);

    const pre = `- ${c.name}:`;
    if (row.skipped) notes.push(`${pre} skipped: ${row.skipped}`);
    if (ours.buffer)
      notes.push(
        `${pre} ours: ${ours.kernels} WGSL kernel(s), ${ours.wgslBytes} bytes; createKernels ${fmtMs(ours.createMs)}, setData ${fmtMs(ours.setDataMs)}; ` +
          `${c.batched ? 'hessianBatchBuffer' : 'hessianBuffer'} median of ${ours.buffer.reps} (${fmtMs(Math.min(...ours.buffer.samplesMs))} min)` +
          `${ours.pipelinedMs !== undefined ? `, ${fmtMs(ours.pipelinedMs)} per call with 10 calls per sync` : ''}; ` +
          `read-back median of ${ours.readback?.reps ?? 0}; result buffers owned by the ${ours.ownership}`,
      );
    if (ours.maxAbs !== undefined)
      notes.push(`${pre} ours: max |H| = ${fmtE(ours.maxAbs)}, symmetry max |H − Hᵀ| / max |H| = ${fmtE(ours.asymmetry)} at ${ours.indices?.length} sampled entries`);
    for (const e of ours.errors) notes.push(`${pre} ours: ${e}`);
    for (const e of ours.notes) notes.push(`${pre} ours: ${e}`);
    for (const [peer, p] of row.peers) {
      if (p.error) notes.push(`${pre} ${peer}: ${p.error}`);
      if (p.medianMs !== undefined)
        notes.push(
          `${pre} ${peer}: median of ${p.runs} = ${fmtMs(p.medianMs)} (first call, compiling: ${fmtMs(p.firstCallMs)}) on ${p.platform}; ` +
            `agreement ${fmtE(p.agreement)}, max |H| ${fmtE(p.maxAbs)}, |f_ours − f_peer| / max(1, |f|) = ${fmtE(p.valueDiff)}` +
            ((peer === 'jax-f32' || INFORMATIVE_PEERS.has(peer)) && ours.buffer ? `; ratio ${peer}/ours ${fmtRatio(p.medianMs / ours.buffer.medianMs)}` : '') +
            (INFORMATIVE_PEERS.has(peer) && p.agreement !== undefined && !(p.agreement <= 1e-3) ? '; WRONG Hessian (agreement > 1e-3): its time is not a comparison' : ''),
        );
    }
    summaryRows.push({
      model: c.name,
      n: c.n,
      size,
      problems: row.problem?.problems,
      skipped: row.skipped,
      ours: {
        createKernelsMs: ours.createMs,
        setDataMs: ours.setDataMs,
        bufferMedianMs: ours.buffer?.medianMs,
        bufferReps: ours.buffer?.reps,
        pipelinedMs: ours.pipelinedMs,
        readbackMedianMs: ours.readback?.medianMs,
        readbackReps: ours.readback?.reps,
        ownership: ours.ownership,
        maxAbs: ours.maxAbs,
        asymmetry: ours.asymmetry,
        value: ours.value,
        wgslBytes: ours.wgslBytes,
        errors: ours.errors,
      },
      peers: Object.fromEntries([...row.peers].map(([peer, p]) => [peer, { ...p, entries: undefined }])),
      ratioJax: v.ratioJax,
      ratioTorch: v.ratioTorch,
      result: v.result,
      aimMet: v.aimMet,
      why: v.why,
    });
  }
  if (peerInfo.size) notes.push(...[...peerInfo.values()].map((s) => `- peer: ${s}`));
  const text = `${lines.join('\n')}\n\nNotes:\n${notes.join('\n')}`;
  return { text, allPass, summary: { mode: o.smoke ? 'smoke' : 'gpu', rows: summaryRows, allPass } };
}

// ---- Main -------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const start = performance.now();
  const deadline = start + o.deadlineMs;
  const cases = CASES.filter((c) => (o.only ? o.only.has(c.name) : !o.smoke || c.smokeByDefault));
  const outDir = o.outDir ? resolve(o.outDir) : undefined;
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'gpu-peers.jsonl'), '');
  }
  const peerLog = (line: string) => {
    if (outDir) appendFileSync(join(outDir, 'gpu-peers.jsonl'), line + '\n');
    try {
      const e = JSON.parse(line) as PeerEvent;
      if (e.event === 'result') console.log(`#   ${e.peer} ${e.model}: ${fmtMs(e.median_ms ?? undefined)} (${e.runs} runs, first ${fmtMs(e.first_call_ms)}) on ${e.platform}`);
      else if (e.event === 'error') console.log(`#   ${e.peer}${e.model ? ` ${e.model}` : ''}: ERROR ${e.error}`);
      else if (e.event === 'peer') console.log(`#   ${e.peer} ${e.version} on ${e.device}`);
    } catch {
      /* not JSON: kept in the file */
    }
  };

  const options = o.smoke ? { backend: (o.backend ?? 'opengles') as 'opengles', featureLevel: 'compatibility' as const } : o.backend ? { backend: o.backend as 'vulkan' } : undefined;
  console.log(`# hessgen GPU bench${o.smoke ? ' --smoke: CPU adapter smoke test, not performance figures' : ''}`);
  const gpu = await requestDevice(options);
  const device = gpu.device;
  console.log(`# adapter: ${gpu.adapter}`);
  let lost: string | undefined;
  void device.lost.then((info) => {
    lost = `device lost (${info.reason}): ${info.message}`;
  });
  const uncaptured: string[] = [];
  device.addEventListener('uncapturederror', (ev) => {
    const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? 'unknown';
    if (uncaptured.length < 20) uncaptured.push(msg.split('\n')[0].slice(0, 300));
  });

  const dir = mkdtempSync(join(tmpdir(), 'hessgen-gpu-'));
  const rows: Row[] = [];
  let peerInfo = new Map<string, string>();
  const peersAt = findPeersScript(o);
  // Leave the peers time: our side stops starting models this long before the deadline.
  const reserveMs = o.peerList.length ? Math.min(o.deadlineMs / 2, 150_000) : 10_000;
  try {
    for (const c of cases) {
      const size = o.sizes.get(c.name) ?? (o.smoke ? c.size.smoke : c.size.full);
      const row: Row = { c, ours: { errors: [], notes: [] }, peers: new Map() };
      rows.push(row);
      if (lost) {
        row.skipped = lost;
        continue;
      }
      if (performance.now() > deadline - reserveMs) {
        row.skipped = 'run deadline: no time left for our side';
        continue;
      }
      const problem = makeProblem(c, size);
      row.problem = problem;
      const t = performance.now();
      console.log(`# ours: ${c.name} (${c.title(size)}, n = ${c.n})...`);
      Object.assign(row.ours, await runOurs(c, problem, device, o));
      const b = row.ours.buffer;
      console.log(
        `#   createKernels ${fmtMs(row.ours.createMs)}, buffer ${fmtMs(b?.medianMs)} (${b?.reps ?? 0} runs), read-back ${fmtMs(row.ours.readback?.medianMs)}; ${((performance.now() - t) / 1000).toFixed(1)} s` +
          (row.ours.errors.length ? `; ERRORS: ${row.ours.errors.join(' | ')}` : ''),
      );
    }
    const pyPeers = o.peerList.filter((p) => !(p in JS_PEERS));
    if (pyPeers.length) {
      if (!peersAt.path) {
        const msg = `gpu_peers.py not found (tried ${peersAt.tried.join(', ')}): pass --repo=PATH or --peers=PATH`;
        console.log(`# ${msg}`);
        for (const r of rows) for (const p of pythonPeers(o)) r.peers.set(p, { error: msg });
      } else {
        console.log(`# peers: ${pythonPeers(o).join(', ')} (${o.python} ${peersAt.path})`);
        peerInfo = await runPeers(rows, o, dir, peersAt.path, deadline, peerLog);
      }
    }
    const jsPeers = o.peerList.filter((p) => p in JS_PEERS);
    if (jsPeers.length) {
      // jax-js gets a GPU object of its own from the same Dawn build (it makes its own device).
      const { create } = (await import('webgpu')) as unknown as { create(flags: string[]): GPU };
      const peerGpu = create(options?.backend ? [`backend=${options.backend}`] : []);
      // Smallest first: a jax-js call cannot be interrupted, so the largest model goes last.
      for (const r of [...rows].sort((x, y) => x.c.n - y.c.n)) {
        if (!r.problem || !r.ours.indices) continue;
        for (const peer of jsPeers) {
          if (performance.now() > deadline - 20_000) {
            r.peers.set(peer, { error: 'skipped: run deadline' });
            continue;
          }
          console.log(`# ${peer}: ${r.c.name}...`);
          const pr = r.problem;
          const res = await runJaxJs(
            peerGpu,
            options?.featureLevel === 'compatibility',
            { model: r.c.name, n: r.c.n, paramSizes: r.c.params.map((q) => q.size), theta: pr.theta, data: pr.data, size: pr.size },
            r.ours.indices,
            JS_PEERS[peer]!,
            o.peerBudgetMs,
          ).catch((err: unknown): JaxJsResult => ({ error: errText(err) }));
          r.peers.set(peer, res);
          console.log(`#   ${peer} ${r.c.name}: ${res.error ? `ERROR ${res.error}` : `${fmtMs(res.medianMs)} (${res.runs ?? 0} runs, first ${fmtMs(res.firstCallMs)})`}`);
        }
      }
    }
  } finally {
    if (o.keep) console.log(`# kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  for (const r of rows) compare(r);

  const header = [
    `## hessgen GPU bench${o.smoke ? ': CPU adapter smoke test, not a performance figure' : ''}`,
    '',
    `Adapter: ${gpu.adapter}. Node ${process.version}. float32 everywhere.`,
    'Ours: median of hessianBuffer(θ) (hessianBatchBuffer for per-sample) + queue.onSubmittedWorkDone() after a warm-up, the result left on the GPU;',
    '"with read-back": hessian(θ, out) / hessianBatch(θ, out). JAX: jax.jit(jax.hessian(f)) (per-sample: jax.jit(jax.vmap(jax.hessian(f), (None, 0, 0)))),',
    'default matmul precision (TF32 on Ampere and later), timed with block_until_ready(); jax-f32 (notes): the same at precision "highest".',
    'torch.func: torch.func.hessian(f) (per-sample: torch.func.vmap over it), torch.cuda.synchronize(). Agreement: sampled entries vs ours.',
    ...(o.peerList.some((p) => p in JS_PEERS)
      ? ['jax-js (notes): @jax-js/jax 0.1.25 on WebGPU through the same Dawn build, in this process: hessian(f) (jax-js) and jit(hessian(f)) (jax-js-jit), per-sample: vmap of hessian; timed to blockUntilReady().']
      : []),
  ];
  const { text, allPass, summary } = report(rows, o, header, peerInfo);
  const extra = [...(lost ? [`- device: ${lost}`] : []), ...uncaptured.map((m) => `- uncaptured WebGPU error: ${m}`)];
  const fullText = text + (extra.length ? `\n${extra.join('\n')}` : '') + `\n\nTotal time ${((performance.now() - start) / 1000).toFixed(1)} s.`;
  const smokeOk = o.smoke && rows.every((r) => !r.ours.errors.length && !r.skipped) && !lost && !uncaptured.length;
  const ok = (o.smoke ? smokeOk : true) && allPass && !lost;
  const json = JSON.stringify({ adapter: gpu.adapter, ...(summary as object), lost, uncaptured, totalS: (performance.now() - start) / 1000, ok });
  // The summary first and the table last, so that the end of the output (what a device run
  // shows) is the table.
  console.log(`HESSGEN_GPU_BENCH ${json}`);
  console.log('\n' + fullText);
  if (outDir) {
    writeFileSync(join(outDir, 'gpu-bench.md'), fullText + '\n');
    writeFileSync(join(outDir, 'gpu-bench.json'), json + '\n');
  }
  gpu.close();
  return ok ? 0 : 1;
}

process.exit(
  await main().catch((err: unknown) => {
    console.error(`gpu bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }),
);
