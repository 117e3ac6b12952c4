// `npm run bench`: hessgen against PyTorch on the CPU.
//
// For every model in bench/models/ it measures the time of `compile()`, the size of the
// generated TypeScript, and the median time of `hessian(theta, data, out)`; then it runs
// bench/torch_hessian.py (torch.autograd.functional.hessian, float64, one thread) on the
// very same theta and data, checks that both Hessians agree, and prints a markdown table
// with the ratio PyTorch/ours against each model's target.
//
// Options (also as environment variables):
//   --quick                 HESSGEN_BENCH_QUICK=1        fewer repetitions; skip slow models' timings
//   --peer-budget=SECONDS   HESSGEN_BENCH_PEER_BUDGET    wall-time limit of one PyTorch run (default 30)
//   --our-budget=SECONDS    HESSGEN_BENCH_OUR_BUDGET     time limit for timing our Hessian (default 60)
//   --only=NAME[,NAME...]   HESSGEN_BENCH_ONLY           only these models (file names without .hess)
//   --python=PATH           HESSGEN_BENCH_PYTHON         the Python with torch (default /usr/bin/python3)
//   --keep                                               keep the temporary folder (θ, data, Hessians)
// Exit status: 0 when every evaluated row passes, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compiler/index.ts';
import { fillData, layoutProblems, MLP_3_5_1_PARAMS, normal, type DataSpec, type Init, type ParamSpec } from './common.ts';
import {
  loadGenerated,
  median,
  readF64,
  Rng,
  runTorch,
  timeCalls,
  writeF64,
  type GeneratedData,
  type GeneratedModule,
  type Timing,
  type TorchRun,
} from './support.ts';

// ---- The models ---------------------------------------------------------------------------

const uniform = (lo: number, hi: number): Init => (rng) => lo + (hi - lo) * rng.uniform();
type Target =
  | { readonly kind: 'speedup'; readonly min: number }
  | { readonly kind: 'bytes'; readonly relativeTo: string; readonly max: number }
  | { readonly kind: 'compile-only' };

interface BenchCase {
  /** File name in bench/models/, without `.hess`. */
  readonly name: string;
  readonly title: string;
  readonly n: number;
  /** θ layout as the .hess file declares it (declaration order, row-major), with how to draw each part. */
  readonly params: readonly ParamSpec[];
  readonly data: readonly DataSpec[];
  /** Time our Hessian and PyTorch's. */
  readonly timed: boolean;
  /** PyTorch needs more than ~30 s here: --quick skips the timings. */
  readonly slow: boolean;
  readonly target: Target;
}

const COMPILE_LIMIT_MS = 2000;
const AGREEMENT_LIMIT = 1e-9;

const CASES: readonly BenchCase[] = [
  {
    name: 'mlp_3_5_1',
    title: '3-5-1 tanh MLP, MSE, N = 7',
    n: 26,
    params: MLP_3_5_1_PARAMS,
    data: [
      { name: 'X', shape: [7, 3], fill: 'normal' },
      { name: 'y', shape: [7], fill: 'normal' },
    ],
    timed: true,
    slow: false,
    target: { kind: 'speedup', min: 100 },
  },
  {
    name: 'mlp_64_32_10',
    title: '64-32-10 tanh MLP, MSE, N = 256',
    n: 2410,
    params: [
      { name: 'W1', size: 2048, init: normal(1 / 8) },
      { name: 'b1', size: 32, init: normal(0.1) },
      { name: 'W2', size: 320, init: normal(1 / Math.sqrt(32)) },
      { name: 'b2', size: 10, init: normal(0.1) },
    ],
    data: [
      { name: 'X', shape: [256, 64], fill: 'normal' },
      { name: 'Y', shape: [256, 10], fill: 'normal' },
    ],
    timed: true,
    slow: false,
    target: { kind: 'speedup', min: 2 },
  },
  {
    name: 'rosenbrock_1000',
    title: 'extended Rosenbrock, dense H',
    n: 1000,
    params: [{ name: 'x', size: 1000, init: uniform(-1.5, 1.5) }],
    data: [],
    timed: true,
    slow: false,
    target: { kind: 'speedup', min: 50 },
  },
  {
    name: 'mlp_784_32_10',
    title: '784-32-10 tanh MLP, MSE (compile only)',
    n: 25450,
    params: [
      { name: 'W1', size: 25088, init: normal(1 / 28) },
      { name: 'b1', size: 32, init: normal(0.1) },
      { name: 'W2', size: 320, init: normal(1 / Math.sqrt(32)) },
      { name: 'b2', size: 10, init: normal(0.1) },
    ],
    data: [],
    timed: false,
    slow: false,
    target: { kind: 'bytes', relativeTo: 'mlp_64_32_10', max: 1.5 },
  },
  {
    name: 'softmax_64_128',
    title: 'softmax regression 64→128, N = 1000',
    n: 8320,
    params: [
      { name: 'W', size: 8192, init: normal(1 / 8) },
      { name: 'b', size: 128, init: normal(0.1) },
    ],
    data: [
      { name: 'X', shape: [1000, 64], fill: 'normal' },
      { name: 'Y', shape: [1000, 128], fill: 'onehot' },
    ],
    timed: true,
    slow: true,
    target: { kind: 'compile-only' },
  },
];

// ---- Options ------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  peerBudgetMs: number;
  ourBudgetMs: number;
  only: Set<string> | undefined;
  python: string;
  keep: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const env = process.env;
  const o: Options = {
    quick: env.HESSGEN_BENCH_QUICK === '1' || env.HESSGEN_BENCH_QUICK === 'true',
    peerBudgetMs: 1000 * Number(env.HESSGEN_BENCH_PEER_BUDGET ?? 30),
    ourBudgetMs: 1000 * Number(env.HESSGEN_BENCH_OUR_BUDGET ?? 60),
    only: env.HESSGEN_BENCH_ONLY ? new Set(env.HESSGEN_BENCH_ONLY.split(',')) : undefined,
    python: env.HESSGEN_BENCH_PYTHON ?? '/usr/bin/python3',
    keep: false,
  };
  for (const arg of argv) {
    const [key, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, ''];
    if (key === '--quick') o.quick = true;
    else if (key === '--keep') o.keep = true;
    else if (key === '--peer-budget') o.peerBudgetMs = 1000 * Number(value);
    else if (key === '--our-budget') o.ourBudgetMs = 1000 * Number(value);
    else if (key === '--only') o.only = new Set(value.split(','));
    else if (key === '--python') o.python = value;
    else {
      console.error(`bench: unknown option ${arg}\nusage: npm run bench -- [--quick] [--peer-budget=S] [--our-budget=S] [--only=a,b] [--python=PATH] [--keep]`);
      process.exit(2);
    }
  }
  for (const [k, v] of [['--peer-budget', o.peerBudgetMs], ['--our-budget', o.ourBudgetMs]] as const) {
    if (!(v > 0)) {
      console.error(`bench: ${k} must be a positive number of seconds`);
      process.exit(2);
    }
  }
  return o;
}

// ---- One row --------------------------------------------------------------------------------

interface Row {
  readonly c: BenchCase;
  compileMs?: number;
  compileWarmMs?: number;
  bytes?: number;
  compileError?: string;
  ours?: Timing;
  torch?: { variant: string; medianMs: number; reps: number }[];
  /** PyTorch ran out of its budget before finishing a call of any variant. */
  torchTimedOut?: boolean;
  torchSkipped?: string;
  /** max |H_ours − H_torch| / max |H_torch|, over every PyTorch variant that finished. */
  agreement?: number;
  /** The same over a few rows of the Hessian (double backward), when no full Hessian finished. */
  rowAgreement?: { value: number; rows: number };
  valueDiff?: number;
  notes: string[];
}

// bin/run-ts.mjs runs a bundle from node_modules/.cache and sets argv[1] to the .ts entry:
// find bench/ from there (or from this module when run some other way).
const here = process.argv[1]?.endsWith('.ts') ? dirname(resolve(process.argv[1])) : dirname(fileURLToPath(import.meta.url));
const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : ms >= 0.1 ? `${ms.toFixed(3)} ms` : `${(ms * 1000).toFixed(2)} µs`;

function makeTheta(c: BenchCase, rng: Rng): Float64Array {
  const theta = new Float64Array(c.n);
  let k = 0;
  for (const p of c.params) for (let i = 0; i < p.size; i++) theta[k++] = p.init(rng);
  if (k !== c.n) throw new Error(`${c.name}: the bench's parameter sizes add up to ${k}, not ${c.n}`);
  return theta;
}

function makeData(c: BenchCase, rng: Rng): Record<string, Float64Array> {
  const data: Record<string, Float64Array> = {};
  for (const d of c.data) {
    const a = fillData(d, rng, new Float64Array(d.shape.reduce((x, y) => x * y, 1)));
    data[d.name] = a;
  }
  return data;
}


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
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    if (d > diff || d !== d) diff = d;
    scale = Math.max(scale, Math.abs(theirs[i]));
  }
  return diff / (scale || 1);
}

async function runCase(c: BenchCase, o: Options, dir: string, torchOk: boolean): Promise<Row> {
  const row: Row = { c, notes: [] };
  const path = join(here, 'models', `${c.name}.hess`);
  const source = readFileSync(path, 'utf8');
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
  if (!c.timed) return row;
  if (o.quick && c.slow) {
    row.torchSkipped = '--quick';
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

  // Ours: hessian(theta, data, out) into one preallocated array.
  const n = c.n;
  const out = new Float64Array(n * n);
  try {
    row.ours = timeCalls(() => void mod.hessian(theta, genData, out), {
      warmup: 3,
      minReps: o.quick ? 3 : 5,
      maxReps: 200,
      targetMs: o.quick ? 300 : 1500,
      budgetMs: o.ourBudgetMs,
    });
  } catch (err) {
    row.notes.push(`our hessian() threw: ${err instanceof Error ? err.message : String(err)}`);
    return row;
  }
  const sym = symmetryProblems(out, n);
  if (sym) row.notes.push(sym);
  const ourValue = mod.value(theta, genData);

  // PyTorch: one process per variant, each within the peer budget.
  if (!torchOk) {
    row.torchSkipped = 'torch unavailable';
    return row;
  }
  const files: Record<string, { path: string; shape: readonly number[] }> = {};
  writeF64(join(dir, `${c.name}.theta.bin`), theta);
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
  const rows = [...checkRows].sort((a, b) => a - b);
  const rowsPath = join(dir, `${c.name}.torch.rows.bin`);

  row.torch = [];
  let anyFinished = false;
  let timedOut = false;
  let agreement = 0;
  for (const variant of ['vectorize=False', 'vectorize=True']) {
    const hPath = join(dir, `${c.name}.torch.${variant.replace('=', '-')}.bin`);
    const job = {
      model: c.name,
      n,
      theta: join(dir, `${c.name}.theta.bin`),
      data: files,
      hessian_out: hPath,
      variants: [variant],
      warmup: 1,
      min_reps: 3,
      max_reps: 100,
      target_seconds: o.quick ? 0.3 : 1.0,
      threads: 1,
      memory_limit_gb: 16,
      ...(variant === 'vectorize=False' ? { check_rows: rows, rows_out: rowsPath } : {}),
    };
    const jobPath = join(dir, `${c.name}.${variant.replace('=', '-')}.json`);
    writeFileSync(jobPath, JSON.stringify(job));
    const run: TorchRun = await runTorch(o.python, join(here, 'torch_hessian.py'), jobPath, o.peerBudgetMs);
    const reps = run.events.flatMap((e) => (e.event === 'call' && e.phase === 'rep' ? [e.seconds * 1000] : []));
    const finishedCall = run.events.some((e) => e.event === 'call');
    if (run.timedOut) timedOut = true;
    for (const e of run.events) {
      if (e.event === 'error') row.notes.push(`PyTorch ${variant}: ${e.message}`);
      if (e.event === 'value' && row.valueDiff === undefined) row.valueDiff = Math.abs(ourValue - e.value) / Math.max(1, Math.abs(e.value));
    }
    if (!run.timedOut && run.exitCode !== 0) row.notes.push(`PyTorch ${variant} exited with ${run.exitCode}: ${run.stderrTail.split('\n').slice(-3).join(' | ')}`);
    if (run.timedOut) row.notes.push(`PyTorch ${variant} stopped at the ${o.peerBudgetMs / 1000} s budget after ${reps.length} timed call(s)`);
    if (reps.length) row.torch.push({ variant, medianMs: median(reps), reps: reps.length });
    else if (finishedCall) {
      // Only the warm-up finished within the budget: report it, marked as such.
      const warm = run.events.find((e) => e.event === 'call');
      if (warm && warm.event === 'call') row.torch.push({ variant: `${variant}, warm-up only`, medianMs: warm.seconds * 1000, reps: 1 });
    }
    if (run.events.some((e) => e.event === 'rows')) {
      const theirs = readF64(rowsPath);
      const mine = new Float64Array(rows.length * n);
      rows.forEach((r, k) => mine.set(out.subarray(r * n, (r + 1) * n), k * n));
      row.rowAgreement = { value: relativeMaxDiff(mine, theirs), rows: rows.length };
    }
    if (run.events.some((e) => e.event === 'hessian')) {
      anyFinished = true;
      agreement = Math.max(agreement, relativeMaxDiff(out, readF64(hPath)));
      rmSync(hPath, { force: true });
    }
  }
  if (anyFinished) row.agreement = agreement;
  row.torchTimedOut = timedOut && row.torch.length === 0;
  return row;
}

// ---- The table ------------------------------------------------------------------------------

interface Verdict {
  target: string;
  result: 'PASS' | 'FAIL' | 'N/A';
  ratio: string;
  torch: string;
  why: string[];
}

function judge(row: Row, rows: readonly Row[], o: Options): Verdict {
  const c = row.c;
  const why: string[] = [];
  let result: Verdict['result'] = 'PASS';
  const fail = (reason: string) => {
    result = 'FAIL';
    why.push(reason);
  };
  const na = (reason: string) => {
    if (result === 'PASS') result = 'N/A';
    why.push(reason);
  };
  let target = `compile ≤ ${COMPILE_LIMIT_MS / 1000} s`;
  let ratio = '—';
  let torch = '—';

  if (row.compileError !== undefined) fail('does not compile');
  else if (row.compileMs !== undefined && row.compileMs > COMPILE_LIMIT_MS) fail(`compile ${fmtMs(row.compileMs)}`);

  const best = row.torch?.length ? row.torch.reduce((a, b) => (a.medianMs <= b.medianMs ? a : b)) : undefined;
  if (best) torch = `${fmtMs(best.medianMs)} (${best.variant.replace('vectorize=', 'vec=')})`;
  else if (row.torchTimedOut) torch = `> ${o.peerBudgetMs / 1000} s (budget)`;
  else if (row.torchSkipped) torch = `skipped (${row.torchSkipped})`;

  if (row.ours && best) ratio = `${(best.medianMs / row.ours.medianMs).toFixed(1)}×`;
  else if (row.ours && row.torchTimedOut) ratio = `> ${(o.peerBudgetMs / row.ours.medianMs).toFixed(1)}×`;

  if (c.target.kind === 'speedup') {
    target = `≥ ${c.target.min}× PyTorch; ${target}`;
    if (!row.ours) {
      if (row.compileError === undefined) fail('not timed');
    } else if (best) {
      if (best.medianMs / row.ours.medianMs < c.target.min) fail(`speedup ${ratio} < ${c.target.min}×`);
    } else if (row.torchTimedOut) {
      if (o.peerBudgetMs / row.ours.medianMs < c.target.min) na('PyTorch timed out; its lower bound is not enough to decide');
    } else na('no PyTorch time');
  } else if (c.target.kind === 'bytes') {
    const relative = c.target.relativeTo;
    target = `bytes ≤ ${c.target.max}× ${relative}; ${target}`;
    const ref = rows.find((r) => r.c.name === relative);
    if (row.bytes !== undefined) {
      if (ref?.bytes === undefined) na(`no size for ${relative}`);
      else {
        ratio = `${(row.bytes / ref.bytes).toFixed(2)}× bytes`;
        if (row.bytes > c.target.max * ref.bytes) fail(`${ratio} of ${relative}`);
      }
    }
  }
  if (row.agreement !== undefined && !(row.agreement <= AGREEMENT_LIMIT)) fail(`Hessians differ by ${row.agreement.toExponential(1)}`);
  if (row.rowAgreement !== undefined && !(row.rowAgreement.value <= AGREEMENT_LIMIT))
    fail(`Hessian rows differ by ${row.rowAgreement.value.toExponential(1)}`);
  if (row.notes.some((x) => x.startsWith('our Hessian:') || x.startsWith('θ layout') || x.startsWith('our hessian() threw'))) fail('see notes');
  return { target, result, ratio, torch, why };
}

function printTable(rows: readonly Row[], o: Options): boolean {
  const header = ['model', 'n', 'H (MB)', 'compile ms (warm)', 'generated bytes', 'ours: hessian()', 'PyTorch', 'PyTorch/ours', 'max |ΔH| / max |H|', 'target', 'result'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i === 0 || i === 9 ? ' --- ' : ' ---: ')).join('|')}|`];
  let allPass = true;
  const notes: string[] = [];
  for (const row of rows) {
    const v = judge(row, rows, o);
    if (v.result === 'FAIL') allPass = false;
    const c = row.c;
    const cells = [
      `${c.name} (${c.title})`,
      String(c.n),
      ((c.n * c.n * 8) / 1e6).toFixed(c.n * c.n * 8 >= 1e7 ? 0 : 3),
      row.compileMs !== undefined ? `${row.compileMs.toFixed(0)} (${row.compileWarmMs!.toFixed(0)})` : 'error',
      row.bytes !== undefined ? String(row.bytes) : '—',
      row.ours ? `${fmtMs(row.ours.medianMs)}` : '—',
      v.torch,
      v.ratio,
      row.agreement !== undefined
        ? row.agreement.toExponential(1)
        : row.rowAgreement !== undefined
          ? `${row.rowAgreement.value.toExponential(1)} (${row.rowAgreement.rows} rows)`
          : '—',
      v.target,
      v.why.length ? `${v.result} (${v.why.join('; ')})` : v.result,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
    if (row.compileError) notes.push(`- ${c.name}: compile error:\n${indent(row.compileError)}`);
    if (row.ours) {
      const batch = row.ours.batch > 1 ? ` (each the mean of a batch of ${row.ours.batch} calls)` : '';
      notes.push(
        row.ours.single
          ? `- ${c.name}: ours, a single call (slow enough that a warm-up would not change it): ${fmtMs(row.ours.medianMs)}`
          : `- ${c.name}: ours, median of ${row.ours.reps} sample(s)${batch} after warm-up: ${fmtMs(row.ours.medianMs)}`,
      );
    }
    for (const t of row.torch ?? []) notes.push(`- ${c.name}: PyTorch ${t.variant}: median of ${t.reps} call(s): ${fmtMs(t.medianMs)}`);
    if (row.rowAgreement !== undefined)
      notes.push(`- ${c.name}: ${row.rowAgreement.rows} rows by double backward: max |ΔH| / max |H| = ${row.rowAgreement.value.toExponential(1)}`);
    if (row.valueDiff !== undefined) notes.push(`- ${c.name}: |f_ours − f_torch| / max(1, |f|) = ${row.valueDiff.toExponential(1)}`);
    for (const note of row.notes) notes.push(`- ${c.name}: ${note}`);
  }
  console.log(lines.join('\n'));
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
  if (o.only) for (const name of o.only) if (!CASES.some((c) => c.name === name)) console.error(`bench: no model ${name}`);

  const probe = spawnSync(o.python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  const torchOk = probe.status === 0;
  const torchVersion = torchOk ? probe.stdout.trim() : `unavailable (${(probe.stderr || String(probe.error ?? '')).trim().split('\n').pop()})`;

  console.log(`# hessgen CPU bench${o.quick ? ' (--quick)' : ''}\n`);
  console.log(`CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; Node ${process.version}; PyTorch ${torchVersion} (${o.python}), float64, 1 thread,`);
  console.log(`torch.autograd.functional.hessian, best of vectorize=False/True; time budget ${o.peerBudgetMs / 1000} s per PyTorch variant and model, ${o.ourBudgetMs / 1000} s for ours.`);
  console.log('Times are medians of several calls after a warm-up; ours is hessian(theta, data, out) into a preallocated out.\n');

  const dir = mkdtempSync(join(tmpdir(), 'hessgen-bench-'));
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      process.stderr.write(`bench: ${c.name}...\n`);
      rows.push(await runCase(c, o, dir, torchOk));
    }
  } finally {
    if (o.keep) console.error(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const pass = printTable(rows, o);
  process.exitCode = pass ? 0 : 1;
}

await main();
