// `node bin/run-ts.mjs bench/hvp.ts`: what each output of a generated CPU module costs, measured
// against its gradient, and H·v against PyTorch's torch.autograd.functional.hvp.
//
// For every bench model (bench/cases.ts) it compiles the TypeScript module with every output (the
// model's output marked with `output`, where the bench knows it, so that it has gaussNewton) and
// times, interleaved round by round on the same θ, data and v (so that all see the same load on a
// shared machine): value, gradient, hvp, hessianDiagonal, and where the n × n result is small enough
// hessian, hessianSparse and gaussNewton (when the module has them). Each time is also given over the
// gradient's, beside the cost model's multiply-add counts (compiler/inspect/cost.ts). Then
// bench/torch_hvp.py times PyTorch's gradient and torch.autograd.functional.hvp (float64, one thread,
// interleaved too) on the same θ, data and v.
//
// Checks (a wrong result is reported as wrong, not as a time): our H·v against PyTorch's and, where
// the dense Hessian is timed, against H·v from our dense Hessian; diag(H) and the sparse values
// against the dense Hessian; our gradient against PyTorch's.
//
// Options:
//   --quick              shorter timings
//   --only=NAME[,NAME]   only these models
//   --dense-max=N        time the n × n outputs only up to this n (default 2500)
//   --clock=cpu|wall     what a sample measures (default cpu: the process's CPU time, which other
//                        work on a shared machine does not inflate; PyTorch's side the same)
//   --python=PATH        the Python with torch (default /usr/bin/python3)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compiler/index.ts';
import { inspect } from '../compiler/inspect/index.ts';
import { makeData, makeTheta, MODEL_CASES, sourceWithOutput, type ModelCase } from './cases.ts';
import { layoutProblems } from './common.ts';
import { clockMs, loadGenerated, median, readF64, Rng, runPeer, writeF64, type Clock, type GeneratedData } from './support.ts';

const here = process.argv[1]?.endsWith('.ts') ? dirname(resolve(process.argv[1])) : dirname(fileURLToPath(import.meta.url));

interface Options {
  quick: boolean;
  clock: Clock;
  only: Set<string> | undefined;
  denseMax: number;
  python: string;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { quick: false, clock: 'cpu', only: undefined, denseMax: 2500, python: '/usr/bin/python3' };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    if (key === '--quick') o.quick = true;
    else if (key === '--only') o.only = new Set(value.split(','));
    else if (key === '--dense-max' && Number(value) > 0) o.denseMax = Number(value);
    else if (key === '--python') o.python = value;
    else if (key === '--clock' && (value === 'cpu' || value === 'wall')) o.clock = value;
    else {
      console.error(`hvp bench: bad option ${arg}\nusage: node bin/run-ts.mjs bench/hvp.ts [--quick] [--only=a,b] [--dense-max=N] [--clock=cpu|wall] [--python=PATH]`);
      process.exit(2);
    }
  }
  if (o.only) for (const name of o.only) if (!MODEL_CASES.some((c) => c.name === name)) {
    console.error(`hvp bench: no model ${name} (${MODEL_CASES.map((c) => c.name).join(', ')})`);
    process.exit(2);
  }
  return o;
}

// The module's outputs, as this bench calls them (all optional but value and gradient).
type Fn = (theta: Float64Array, data: GeneratedData, ...rest: Float64Array[]) => unknown;
interface Module {
  readonly model: { readonly n: number; readonly params: readonly { name: string; size: number; offset: number }[]; readonly hessianPattern?: { readonly nnz: number; readonly rowPtr: Int32Array; readonly colIdx: Int32Array } };
  readonly [name: string]: unknown;
}

const OUTPUTS = ['value', 'gradient', 'hvp', 'hessianDiagonal', 'hessian', 'hessianSparse', 'gaussNewton'] as const;
type Output = (typeof OUTPUTS)[number];
const DENSE: ReadonlySet<Output> = new Set(['hessian', 'hessianSparse', 'gaussNewton']);

/** Times the functions interleaved: after a warm-up of 2 s on `clock`, rounds of one batch of each
 *  (a batch of about 2 ms, at least one call) until `targetMs` (wall) and 5 rounds. Medians per
 *  call, on `clock`. */
function timeInterleaved(fns: ReadonlyMap<string, () => void>, targetMs: number, clock: Clock): Map<string, { ms: number; rounds: number }> {
  const batch = new Map<string, number>();
  // Warm-up on the clock too: under load, a second of wall time can be a small part of a second
  // of this process's time, too little for the JIT to optimize the large generated functions.
  const c00 = clockMs(clock);
  for (const [name, fn] of fns) {
    const c0 = clockMs(clock);
    let calls = 0;
    do {
      fn();
      calls++;
    } while (clockMs(clock) - c0 < 1000 / fns.size && calls < 1e6);
    batch.set(name, Math.max(1, Math.round(2 / Math.max((clockMs(clock) - c0) / calls, 1e-6))));
  }
  while (clockMs(clock) - c00 < 2000) for (const fn of fns.values()) fn();
  const samples = new Map<string, number[]>([...fns.keys()].map((k) => [k, []]));
  const t1 = performance.now();
  let rounds = 0;
  while (rounds < 5 || performance.now() - t1 < targetMs) {
    for (const [name, fn] of fns) {
      const b = batch.get(name)!;
      const t0 = clockMs(clock);
      for (let i = 0; i < b; i++) fn();
      samples.get(name)!.push((clockMs(clock) - t0) / b);
    }
    rounds++;
    if (rounds >= 1000) break;
  }
  return new Map([...samples].map(([k, s]) => [k, { ms: median(s), rounds }]));
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.NaN;
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]! - b[i]!);
    if (x > d || x !== x) d = x;
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / (s || 1);
}

const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : ms >= 0.1 ? `${ms.toFixed(3)} ms` : `${(ms * 1000).toFixed(2)} µs`;
const fmtX = (x: number): string => (x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);

interface Result {
  readonly c: ModelCase;
  times: Map<string, { ms: number; rounds: number }>;
  madds: Map<string, number>;
  torch?: { gradientMs: number; hvpMs: number; reps: number; version: string };
  checks: string[];
  wrong: string[];
  notes: string[];
}

async function runModel(c: ModelCase, o: Options, dir: string, torchOk: boolean): Promise<Result> {
  const r: Result = { c, times: new Map(), madds: new Map(), checks: [], wrong: [], notes: [] };
  // With its output marked where the bench knows it (for gaussNewton): the same objective.
  const plain = readFileSync(join(here, 'models', `${c.name}.hess`), 'utf8');
  const source = sourceWithOutput(c, plain) ?? plain;
  const path = `bench/models/${c.name}.hess`;
  const result = compile(source, path, { targets: ['ts'] });
  const ts = result.ok ? result.outputs.find((x) => x.target === 'ts') : undefined;
  if (!ts) {
    r.wrong.push(`does not compile: ${result.ok ? 'no ts output' : result.diagnostics.map((d) => d.message).join('; ')}`);
    return r;
  }
  const report = inspect(source, path, { dims: c.dims });
  if (report.ok) for (const e of report.report.cost.entries) r.madds.set(e.entry, e.madds);
  const mod = (await loadGenerated(ts.code, dir, `${c.name}.hvp`)) as unknown as Module;
  const problems = layoutProblems(c.n, c.params, mod.model);
  if (problems.length) r.wrong.push(`θ layout: ${problems.join('; ')}`);

  // The same θ and data as bench/cpu.ts; v standard normal.
  const rng = new Rng(0x5eed + c.n);
  const theta = makeTheta(c, rng);
  const data: GeneratedData = makeData(c, rng);
  const vr = new Rng(7);
  const v = new Float64Array(c.n).map(() => vr.normal());
  const n = c.n;
  const fn = (name: Output): Fn | undefined => (typeof mod[name] === 'function' ? (mod[name] as Fn) : undefined);
  const dense = n <= o.denseMax;

  const buffers: Partial<Record<Output, Float64Array>> = {
    gradient: new Float64Array(n),
    hvp: new Float64Array(n),
    hessianDiagonal: new Float64Array(n),
  };
  if (dense) {
    buffers.hessian = new Float64Array(n * n);
    if (fn('gaussNewton')) buffers.gaussNewton = new Float64Array(n * n);
    if (fn('hessianSparse') && mod.model.hessianPattern) buffers.hessianSparse = new Float64Array(mod.model.hessianPattern.nnz);
  } else r.notes.push(`n = ${n} > ${o.denseMax}: hessian, hessianSparse and gaussNewton not timed here (see npm run bench for the Hessian)`);
  const calls = new Map<string, () => void>();
  for (const name of OUTPUTS) {
    const f = fn(name);
    if (!f || (DENSE.has(name) && !dense)) continue;
    if (name === 'value') calls.set(name, () => void f(theta, data));
    else if (name === 'hvp') calls.set(name, () => void f(theta, data, v, buffers.hvp!));
    else if (buffers[name]) calls.set(name, () => void f(theta, data, buffers[name]!));
  }
  for (const call of calls.values()) call();

  // Checks among our own outputs.
  const H = buffers.hessian;
  if (H) {
    const Hv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += H[i * n + j]! * v[j]!;
      Hv[i] = s;
    }
    const dHv = relDiff(buffers.hvp!, Hv);
    (dHv <= 1e-12 ? r.checks : r.wrong).push(`hvp against the dense H·v: ${dHv.toExponential(1)}`);
    const diag = new Float64Array(n).map((_, i) => H[i * n + i]!);
    const dDiag = relDiff(buffers.hessianDiagonal!, diag);
    (dDiag <= 1e-12 ? r.checks : r.wrong).push(`hessianDiagonal against diag(H): ${dDiag.toExponential(1)}`);
    const p = mod.model.hessianPattern;
    if (buffers.hessianSparse && p) {
      const fromDense = new Float64Array(p.nnz);
      for (let i = 0; i < n; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) fromDense[k] = H[i * n + p.colIdx[k]!]!;
      const dS = relDiff(buffers.hessianSparse, fromDense);
      (dS <= 1e-12 ? r.checks : r.wrong).push(`hessianSparse against the dense entries: ${dS.toExponential(1)}`);
    }
  }

  // gaussNewton of these convex losses (squared error, cross-entropy, in the output) is positive
  // semi-definite and symmetric: vᵀGv ≥ 0 for our v, G = Gᵀ exactly.
  const G = buffers.gaussNewton;
  if (G) {
    let q = 0;
    let scale = 0;
    let asym = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        s += G[i * n + j]! * v[j]!;
        scale = Math.max(scale, Math.abs(G[i * n + j]!));
        if (G[i * n + j] !== G[j * n + i]) asym++;
      }
      q += v[i]! * s;
    }
    const ok = asym === 0 && q >= -1e-12 * scale * n;
    (ok ? r.checks : r.wrong).push(`gaussNewton: vᵀGv = ${q.toExponential(2)}${asym ? `, ${asym} asymmetric entries` : ', exactly symmetric'}`);
  }

  r.times = timeInterleaved(calls, o.quick ? 500 : 2000, o.clock);

  // PyTorch: its gradient and H·v on the same θ, data and v.
  if (!torchOk) {
    r.notes.push('PyTorch unavailable');
    return r;
  }
  const files: Record<string, { path: string; shape: readonly number[] }> = {};
  for (const d of c.data) {
    const p = join(dir, `${c.name}.hvp.${d.name}.bin`);
    writeF64(p, (data as Record<string, Float64Array>)[d.name]!);
    files[d.name] = { path: p, shape: d.shape };
  }
  const job = {
    model: c.name,
    n,
    theta: join(dir, `${c.name}.hvp.theta.bin`),
    v: join(dir, `${c.name}.hvp.v.bin`),
    data: files,
    gradient_out: join(dir, `${c.name}.hvp.torch-gradient.bin`),
    hvp_out: join(dir, `${c.name}.hvp.torch-hvp.bin`),
    warmup_seconds: 1,
    target_seconds: o.quick ? 0.5 : 2,
    threads: 1,
    clock: o.clock,
  };
  writeF64(job.theta, theta);
  writeF64(job.v, v);
  const jobPath = join(dir, `${c.name}.hvp.json`);
  writeFileSync(jobPath, JSON.stringify(job));
  const run = await runPeer(o.python, [join(here, 'torch_hvp.py'), jobPath], 120_000);
  if (run.timedOut || run.exitCode !== 0) {
    r.notes.push(`PyTorch ${run.timedOut ? 'stopped at 120 s' : `exited with ${run.exitCode}`}: ${run.stderrTail.split('\n').slice(-2).join(' | ')}`);
    return r;
  }
  const reps = (variant: string) => run.events.flatMap((e) => (e.event === 'call' && e.phase === 'rep' && e.variant === variant ? [e.seconds * 1000] : []));
  const ready = run.events.find((e) => e.event === 'ready');
  r.torch = { gradientMs: median(reps('gradient')), hvpMs: median(reps('hvp')), reps: reps('hvp').length, version: ready && ready.event === 'ready' ? ready.torch : '?' };
  const dG = relDiff(buffers.gradient!, readF64(job.gradient_out));
  const dHv = relDiff(buffers.hvp!, readF64(job.hvp_out));
  (dG <= 1e-12 ? r.checks : r.wrong).push(`gradient against PyTorch's: ${dG.toExponential(1)}`);
  (dHv <= 1e-10 ? r.checks : r.wrong).push(`hvp against PyTorch's hvp: ${dHv.toExponential(1)}`);
  return r;
}

function printTables(results: readonly Result[]): void {
  const present = OUTPUTS.filter((k) => k !== 'gradient' && results.some((r) => r.times.has(k)));
  console.log('## Each output over the gradient: measured time (cost model multiply-adds)\n');
  const header = ['model', 'n', 'gradient', ...present.map((k) => `${k} / gradient`)];
  console.log(`| ${header.join(' | ')} |\n|${header.map((_, i) => (i ? ' ---: ' : ' --- ')).join('|')}|`);
  for (const r of results) {
    const g = r.times.get('gradient');
    const gm = r.madds.get('gradient');
    const cells = [r.c.name, String(r.c.n), g ? fmtMs(g.ms) : '—'];
    for (const k of present) {
      const t = r.times.get(k);
      const m = r.madds.get(k);
      const counted = m !== undefined && gm ? ` (${fmtX(m / gm)})` : '';
      cells.push(t && g ? `${fmtX(t.ms / g.ms)}${counted}` : m !== undefined && gm ? `not timed${counted}` : '—');
    }
    console.log(`| ${cells.join(' | ')} |`);
  }

  console.log('\n## H·v against PyTorch (torch.autograd.functional.hvp, float64, one thread)\n');
  console.log('| model | n | ours: hvp | ours: hvp / gradient | PyTorch: hvp | PyTorch: gradient | PyTorch hvp / gradient | PyTorch hvp / ours | checks |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const h = r.times.get('hvp');
    const g = r.times.get('gradient');
    const t = r.torch;
    const wrong = r.wrong.length > 0;
    console.log(
      `| ${[
        r.c.name,
        String(r.c.n),
        h ? fmtMs(h.ms) : '—',
        h && g ? fmtX(h.ms / g.ms) : '—',
        t ? fmtMs(t.hvpMs) : '—',
        t ? fmtMs(t.gradientMs) : '—',
        t ? fmtX(t.hvpMs / t.gradientMs) : '—',
        t && h && !wrong ? `**${fmtX(t.hvpMs / h.ms)}**` : '—',
        wrong ? `WRONG: ${r.wrong.join('; ')}` : `ok (${r.checks.length})`,
      ].join(' | ')} |`,
    );
  }
  console.log('\nNotes:');
  for (const r of results) {
    for (const [k, t] of r.times) console.log(`- ${r.c.name}: ${k}: ${fmtMs(t.ms)} (median of ${t.rounds} interleaved rounds)${r.madds.has(k) ? `, ${r.madds.get(k)} multiply-adds counted` : ''}`);
    for (const x of r.checks) console.log(`- ${r.c.name}: ${x}`);
    for (const x of r.wrong) console.log(`- ${r.c.name}: WRONG: ${x}`);
    for (const x of r.notes) console.log(`- ${r.c.name}: ${x}`);
    if (r.torch) console.log(`- ${r.c.name}: PyTorch ${r.torch.version}: medians of ${r.torch.reps} interleaved rounds`);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const probe = spawnSync(o.python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  const torchOk = probe.status === 0;
  console.log(`# hessgen outputs bench${o.quick ? ' (--quick)' : ''}\n`);
  console.log(`CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average at the start ${loadavg().map((x) => x.toFixed(2)).join(', ')}; Node ${process.version}; PyTorch ${torchOk ? probe.stdout.trim() : 'unavailable'}.`);
  console.log(`Ours: float64, each output into a preallocated out, medians of interleaved rounds after a 2 s warm-up; times are ${o.clock === 'cpu' ? "the process's CPU time (user + system)" : 'wall time'}, on both sides.\n`);
  const dir = mkdtempSync(join(tmpdir(), 'hessgen-hvp-'));
  const results: Result[] = [];
  try {
    for (const c of MODEL_CASES) {
      if (o.only ? !o.only.has(c.name) : !c.timed && c.data.length === 0) continue;
      process.stderr.write(`hvp bench: ${c.name}...\n`);
      results.push(await runModel(c, o, dir, torchOk));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTables(results);
  console.log(`\nLoad average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')} (${cpus().length} cores).`);
  process.exitCode = results.some((r) => r.wrong.length) ? 1 : 0;
}

await main();
