// Where one call of a generated module's hessian() spends its time (issue 9: the 3-5-1 MLP's
// Hessian is a few microseconds, so any fixed cost per call would show):
//   node bin/run-ts.mjs bench/profile.ts [--only=mlp_3_5_1] [--seconds=3] [--entry=hessian|evaluate]
//
// It compiles each model of bench/models/ named by --only (bench/cases.ts gives θ and data), warms
// the entry point up for 1 s, then calls it in a loop for --seconds under V8's sampling profiler
// (node:inspector, a sample every 50 µs) and sums the samples' self time by the generated
// function they fall in, in groups:
//   - Hessian blocks: k_hess_*, ks_hess_* (the loops over the blocks' entries);
//   - dense kernels: the WebAssembly GEMM, and its JavaScript side (placing T in H, mirrors);
//   - element-wise functions: k_map* and the f_* they call (tanh, exp, ...);
//   - intermediates: every other k_* (products, sums, the packed sides of the blocks);
//   - entry point: bind, output, release and the evaluator's method (argument and data checks,
//     clearing the output, the calls; kernels small enough for V8 to inline into it count here);
//   - GC and the rest (this loop, the profiler).
// Shares of samples, and the call's median time (CPU time) to turn them into microseconds.
import { Session } from 'node:inspector';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/index.ts';
import { makeData, makeTheta, MODEL_CASES } from './cases.ts';
import { loadGenerated, Rng, timeCalls } from './support.ts';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const only = arg('only', 'mlp_3_5_1').split(',');
const seconds = Number(arg('seconds', '3'));
const entry = arg('entry', 'hessian');
if (entry !== 'hessian' && entry !== 'evaluate') throw new Error(`--entry: hessian or evaluate, got ${entry}`);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  /** Samples per line of the (transpiled) module, 1-based: where a kernel was inlined, its call. */
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

/** The group of a generated function's name (see the header). */
function groupOf(fn: string, inModule: boolean, url = ''): string {
  if (fn === '(garbage collector)') return 'GC';
  if (url.startsWith('wasm://')) return 'dense kernels: WebAssembly';
  if (!inModule) return 'other';
  if (fn === 'createDenseKernels' || /^dense/.test(fn)) return 'dense kernels: JavaScript';
  if (/^ks?_hess_/.test(fn)) return 'Hessian blocks';
  if (/^k_map/.test(fn) || /^f_/.test(fn)) return 'element-wise functions';
  if (/^k_/.test(fn)) return 'intermediates';
  return 'entry point';
}

const GROUPS = ['Hessian blocks', 'dense kernels: WebAssembly', 'dense kernels: JavaScript', 'intermediates', 'element-wise functions', 'entry point', 'GC', 'other'];

const dir = mkdtempSync(join(tmpdir(), 'hessgen-profile-'));
try {
  for (const name of only) {
    const c = MODEL_CASES.find((m) => m.name === name);
    if (!c) throw new Error(`--only: no bench model ${name} (bench/cases.ts)`);
    const path = `bench/models/${name}.hess`;
    const result = compile(readFileSync(path, 'utf8'), path, { targets: ['ts'] });
    if (!result.ok) throw new Error(`${name}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
    const ts = result.outputs.find((x) => x.target === 'ts')!;
    const mod = await loadGenerated(ts.code, dir, `${name}_profiled`);
    // The top-level function each line of the transpiled module lies in.
    const lineFn: string[] = [];
    let current = '';
    for (const line of readFileSync(join(dir, `${name}_profiled.mjs`), 'utf8').split('\n')) {
      current = /^(?:export )?function (\w+)/.exec(line)?.[1] ?? current;
      lineFn.push(current);
    }
    const rng = new Rng(7);
    const theta = makeTheta(c, rng);
    const data = makeData(c, rng);
    const n = mod.model.n;
    const H = new Float64Array(n * n);
    const out = { value: 0, gradient: new Float64Array(n), hessian: H };
    const evaluate = mod.evaluate as (t: Float64Array, d: typeof data, o: typeof out) => typeof out;
    const call = entry === 'hessian' ? () => void mod.hessian(theta, data, H) : () => void evaluate(theta, data, out);
    const timing = timeCalls(call, { clock: 'cpu', warmup: 10, minReps: 20, maxReps: 200, targetMs: 1000, budgetMs: 20_000 });

    const session = new Session();
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 50 });
    await post(session, 'Profiler.start');
    const until = performance.now() + seconds * 1000;
    let calls = 0;
    // Batches of about 10 ms between looks at the clock.
    const batch = Math.max(1, Math.round(10 / timing.medianMs));
    while (performance.now() < until) {
      for (let i = 0; i < batch; i++) call();
      calls += batch;
    }
    const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
    session.disconnect();

    const byId = new Map(profile.nodes.map((x) => [x.id, x]));
    const self = new Map<string, number>();
    const groups = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, k) => {
      const dt = profile.timeDeltas[k] ?? 0;
      const node = byId.get(id)!;
      const fn = node.callFrame.functionName;
      if (fn === '(idle)' || fn === '(program)') return;
      const inModule = node.callFrame.url.includes(`${name}_profiled`);
      total += dt;
      // Time in the entry point's own function: split by line, each line counted to the top-level
      // function it lies in, so that kernels V8 inlined into it count as kernels, not as overhead.
      const ticks = inModule && groupOf(fn, true) === 'entry point' ? node.positionTicks : undefined;
      const all = ticks?.reduce((a, t) => a + t.ticks, 0) ?? 0;
      if (ticks && all > 0) {
        for (const t of ticks) {
          const key = lineFn[t.line - 1] ?? fn;
          const share = (dt * t.ticks) / all;
          groups.set(groupOf(key, true), (groups.get(groupOf(key, true)) ?? 0) + share);
          self.set(key, (self.get(key) ?? 0) + share);
        }
        return;
      }
      const g = groupOf(fn, inModule, node.callFrame.url);
      groups.set(g, (groups.get(g) ?? 0) + dt);
      if (inModule) self.set(fn, (self.get(fn) ?? 0) + dt);
    });
    const us = timing.medianMs * 1000;
    console.log(`\n## ${name}: ${entry}(), median ${us < 100 ? us.toFixed(2) : us.toFixed(0)} µs per call (CPU time); ${calls} profiled calls, ${profile.samples.length} samples`);
    console.log('\n| group | share of samples | ≈ µs per call |\n|---|---:|---:|');
    for (const g of GROUPS) {
      const t = groups.get(g) ?? 0;
      console.log(`| ${g} | ${((100 * t) / total).toFixed(1)}% | ${((us * t) / total).toFixed(2)} |`);
    }
    console.log('\n| generated function | share |\n|---|---:|');
    [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .forEach(([fn, t]) => console.log(`| ${fn} | ${((100 * t) / total).toFixed(1)}% |`));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
