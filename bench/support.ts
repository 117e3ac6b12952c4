// Helpers for bench/cpu.ts: deterministic random numbers, loading a generated module from
// its source text, timing, raw float64 files, and running the PyTorch side.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import { forEachLine, median } from './common.ts';

// ---- The generated module's API (docs: docs/modules.md) --------------------

export type GeneratedData = Record<string, number | ArrayLike<number>>;

export interface GeneratedModule {
  readonly model: {
    readonly name: string;
    readonly n: number;
    readonly params: readonly { name: string; shape: readonly number[]; offset: number; size: number }[];
    readonly data: readonly { name: string; shape: readonly (number | string)[] }[];
  };
  value(theta: ArrayLike<number>, data: GeneratedData): number;
  gradient(theta: ArrayLike<number>, data: GeneratedData, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data: GeneratedData, out?: Float64Array): Float64Array;
  evaluate(theta: ArrayLike<number>, data: GeneratedData): { value: number; gradient: Float64Array; hessian: Float64Array };
  /** Present unless the module was generated with fewer outputs. */
  hvp?(theta: ArrayLike<number>, data: GeneratedData, v: ArrayLike<number>, out?: Float64Array): Float64Array;
  hessianDiagonal?(theta: ArrayLike<number>, data: GeneratedData, out?: Float64Array): Float64Array;
}

/** Loads a generated TypeScript module from its source: esbuild strips the types, the
 *  result is written to `dir` as an `.mjs` file and imported. */
export async function loadGenerated(code: string, dir: string, name: string): Promise<GeneratedModule> {
  const js = await transform(code, { loader: 'ts', format: 'esm', target: 'node20' });
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, js.code);
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

export { Rng, median } from './common.ts';

// ---- Timing ----------------------------------------------------------------------------

export interface Timing {
  /** Median time of one call, in milliseconds. */
  readonly medianMs: number;
  /** Number of timed samples (after the warm-up). */
  readonly reps: number;
  /** Calls per sample: calls faster than ~1 ms are timed in batches (the sample is the batch's mean). */
  readonly batch: number;
  /** Every sample (per call), in milliseconds. */
  readonly samplesMs: readonly number[];
  /** The first call was so slow (over a quarter of the budget) that it is the only sample:
   *  compilation by the JIT is then a negligible part of it. */
  readonly single: boolean;
}

/** What a sample measures. 'cpu': the process's CPU time (user + system, all its threads), which
 *  a machine shared with other work does not inflate by descheduling this process; 'wall': elapsed
 *  time. Budgets and time limits are always wall time. */
export type Clock = 'cpu' | 'wall';

/** Milliseconds on `clock` (from an arbitrary origin). */
export function clockMs(clock: Clock): number {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface TimingOptions {
  /** Untimed calls first (JIT, caches). */
  warmup: number;
  /** At least this many samples... */
  minReps: number;
  /** ...and at most this many... */
  maxReps: number;
  /** ...stopping once this much time has been spent on samples (ms). */
  targetMs: number;
  /** Hard limit on the total time, warm-up included (ms, wall); at least one sample is taken. */
  budgetMs: number;
  /** What the samples measure (default 'wall'). */
  clock?: Clock;
}

export function timeCalls(fn: () => void, o: TimingOptions): Timing {
  const clock = o.clock ?? 'wall';
  const start = performance.now();
  const c0 = clockMs(clock);
  // Warm-up: at least `warmup` calls and 1 s, so that fast functions reach optimized code;
  // a slow call ends it early to keep time for at least one sample.
  fn();
  const first = clockMs(clock) - c0;
  if (performance.now() - start > o.budgetMs / 4) return { medianMs: first, reps: 1, batch: 1, samplesMs: [first], single: true };
  let calls = 1;
  // On the clock: under load a second of wall time can be a small part of a second of this
  // process's time, too little for the JIT to optimize large generated functions.
  while (calls < o.warmup || clockMs(clock) - c0 < Math.min(1000, o.budgetMs / 4)) {
    fn();
    calls++;
    if (performance.now() - start > o.budgetMs / 2) break;
  }
  const perCall = (clockMs(clock) - c0) / calls;
  // Calls faster than ~2 ms are timed in batches of about 2 ms, so that the clock's
  // resolution and the cost of reading it do not matter.
  const batch = perCall >= 2 ? 1 : Math.min(1 << 20, Math.ceil(2 / Math.max(perCall, 1e-6)));
  const samples: number[] = [];
  let spent = 0;
  let lastWall = 0;
  while (samples.length < o.maxReps) {
    const t0 = performance.now();
    // Stop before a sample that would end past the budget (judged by the last one's wall time).
    if (samples.length >= 1 && t0 - start + lastWall > o.budgetMs) break;
    if (samples.length >= o.minReps && spent >= o.targetMs) break;
    const k0 = clockMs(clock);
    for (let i = 0; i < batch; i++) fn();
    const dt = clockMs(clock) - k0;
    lastWall = performance.now() - t0;
    samples.push(dt / batch);
    spent += dt;
  }
  return { medianMs: median(samples), reps: samples.length, batch, samplesMs: samples, single: false };
}


/**
 * Median CPU time (user + system, ms) of fn over `reps` calls after a warm-up (`warmup` calls and
 * `warmupMs` of CPU time): the machine is shared, and a process waiting for a core does not count
 * (cache and memory contention still do).
 * A first call over `slowMs` is the only sample.
 */
export function cpuTimeCalls(fn: () => void, o: { warmup: number; warmupMs?: number; reps: number; slowMs: number }): { medianMs: number } {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let t0 = cpu();
  fn();
  const first = cpu() - t0;
  if (first > o.slowMs) return { medianMs: first };
  // At least `warmup` calls and `warmupMs` of CPU time: V8 optimizes a function only after many
  // calls (the 64-32-10 Hessian's first 3–11 calls take up to 1.4× the later ones).
  const w0 = t0;
  for (let k = 1; k < o.warmup || cpu() - w0 < (o.warmupMs ?? 0); k++) fn();
  // Fast calls are timed in batches of at least ~50 ms: the CPU clock ticks coarsely. The batch
  // grows until one takes that long (warm calls, not the first one, set its size).
  let batch = 1;
  if (first < 50) {
    for (;;) {
      t0 = cpu();
      for (let b = 0; b < batch; b++) fn();
      if (cpu() - t0 >= 50) break;
      batch *= 2;
    }
  }
  const samples: number[] = [];
  for (let k = 0; k < o.reps; k++) {
    t0 = cpu();
    for (let b = 0; b < batch; b++) fn();
    samples.push((cpu() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[samples.length >> 1]! };
}

/**
 * a and b timed in back-to-back pairs, the first of each pair alternating, so that the machine's
 * changes of speed (10–30% within minutes here) hit both: their samples, pair by pair.
 */
export function timePairs(a: () => void, b: () => void, rounds: number, slowMs: number): [number[], number[]] {
  const once = (fn: () => void) => cpuTimeCalls(fn, { warmup: 1, reps: 1, slowMs }).medianMs;
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      as.push(once(a));
      bs.push(once(b));
    } else {
      bs.push(once(b));
      as.push(once(a));
    }
  }
  return [as, bs];
}

// ---- Raw float64 files (little-endian, what numpy.fromfile('<f8') reads) ---------------

export function writeF64(path: string, values: ArrayLike<number>): void {
  const a = values instanceof Float64Array ? values : Float64Array.from(values);
  const buf = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (!isLittleEndian()) throw new Error('writeF64: big-endian machines are not supported');
  writeFileSync(path, buf);
}

export function readF64(path: string): Float64Array {
  const buf = readFileSync(path);
  if (buf.byteLength % 8) throw new Error(`${path}: ${buf.byteLength} bytes is not a whole number of float64`);
  // Copy: a Buffer's byteOffset need not be a multiple of 8.
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

// ---- The PyTorch side ------------------------------------------------------------------

export type TorchEvent =
  | { event: 'ready'; torch: string; threads: number }
  | { event: 'value'; value: number }
  | { event: 'call'; variant: string; phase: 'warmup' | 'rep'; seconds: number }
  /** A call starts: `clock` is the job's clock then (seconds; the process's CPU time for 'cpu'). */
  | { event: 'calling'; variant: string; clock: number }
  | { event: 'rows'; path: string; rows: number[] }
  | { event: 'hessian'; path: string; shape: number[] }
  | { event: 'variant'; variant: string; median_s: number | null; reps: number }
  | { event: 'error'; variant: string; message: string }
  | { event: 'done' };

export interface TorchRun {
  readonly events: readonly TorchEvent[];
  /** Stopped at the time budget. */
  readonly timedOut: boolean;
  readonly exitCode: number | null;
  readonly stderrTail: string;
  readonly wallMs: number;
  /** Stopped at the budget in the middle of a call: how long that call had run by then (ms, on
   *  the job's clock), a lower bound on its time. */
  readonly unfinished?: { variant: string; ms: number };
}

/** The CPU time (user + system, all threads) a process has used, in seconds, from /proc (Linux). */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: utime and stime are
    // fields 14 and 15 of the line, in clock ticks.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** sysconf(_SC_CLK_TCK): 100 on Linux unless `getconf` says otherwise. */
const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const v = Number(r.stdout?.trim());
  return v > 0 ? v : 100;
})();

/** Runs bench/torch_hessian.py on a job file, stopping it after `budgetMs`. */
export function runTorch(python: string, script: string, jobPath: string, budgetMs: number, clock: Clock = 'wall'): Promise<TorchRun> {
  return runPeer(python, [script, jobPath], budgetMs, clock);
}

/** Runs a peer's process (bench/torch_hessian.py, bench/torch_hvp.py, bench/jaxjs.ts), which writes
 *  the JSON lines of TorchEvent on stdout, stopping it after `budgetMs`. */
export function runPeer(command: string, args: readonly string[], budgetMs: number, clock: Clock = 'wall'): Promise<TorchRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: TorchEvent[] = [];
    let stderr = '';
    let timedOut = false;
    let unfinished: { variant: string; ms: number } | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      // A call in progress: how long it has run, on its clock (CPU time from /proc, or wall).
      const last = events.at(-1);
      if (last?.event === 'calling' && child.pid !== undefined) {
        const cpu = clock === 'cpu' ? procCpuSeconds(child.pid) : undefined;
        const ms = clock === 'cpu' ? (cpu === undefined ? undefined : 1000 * (cpu - last.clock)) : performance.now() - callingWall;
        if (ms !== undefined && ms > 0) unfinished = { variant: last.variant, ms };
      }
      child.kill('SIGKILL');
    }, budgetMs);
    let callingWall = 0;
    forEachLine(child.stdout, (line) => {
      try {
        const e = JSON.parse(line) as TorchEvent;
        if (e.event === 'calling') callingWall = performance.now();
        events.push(e);
      } catch {
        stderr += `unparsed output: ${line}\n`;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ events, timedOut, exitCode: code, stderrTail: stderr.trim(), wallMs: performance.now() - start, ...(unfinished ? { unfinished } : {}) });
    });
  });
}
