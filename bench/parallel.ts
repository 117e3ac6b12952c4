// `npm run bench:parallel`: the Hessian of the 64-32-10 tanh MLP at N = 4096 on one thread (the
// generated module's hessian(θ, data, out)) against hessgen/runtime/parallel with 2 worker threads
// (and 1, to show the pool's own cost), side by side in one process: the runs alternate, so that
// load from other processes falls on both alike. The pool's Hessian is checked against the
// one-thread Hessian (1e-12, relative to its largest entry).
//
// Options (also as environment variables):
//   --n=ROWS         HESSGEN_BENCH_N       batch size (default 4096)
//   --reps=K         HESSGEN_BENCH_REPS    timed calls of each after the warm-up (default 5)
// The ratio is what two cores give only when both are free: the load average before and after
// is printed beside it (this machine's other work takes its share of the cores).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../compiler/index.ts';
import { fillData, median, normal, Rng } from './common.ts';
import type * as Parallel from '../runtime/parallel/index.ts';

// Run through bin/run-ts.mjs, this file is bundled elsewhere: argv names the source.
const here = process.argv[1]?.endsWith('.ts') ? dirname(resolve(process.argv[1])) : dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const arg = (name: string, env: string, fallback: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  const raw = a ? a.slice(name.length + 3) : process.env[env];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name}: expected a whole number ≥ 1, got ${raw}`);
  return v;
};
const N = arg('n', 'HESSGEN_BENCH_N', 4096);
const REPS = arg('reps', 'HESSGEN_BENCH_REPS', 5);

interface Module {
  model: { n: number };
  hessian(theta: ArrayLike<number>, data: object, out?: Float64Array): Float64Array;
}

async function main(): Promise<void> {
  const source = readFileSync(join(root, 'bench', 'models', 'mlp_64_32_10.hess'), 'utf8');
  const built = compile(source, 'bench/models/mlp_64_32_10.hess', { emit: 'js', outputs: ['value', 'gradient', 'hessian'] });
  if (!built.ok) throw new Error(built.diagnostics.map((d) => d.message).join('\n'));
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'bench-parallel-'));
  try {
    const file = join(dir, 'mlp_64_32_10.js');
    writeFileSync(file, built.outputs.find((o) => o.fileName === 'mlp_64_32_10.js')!.code);
    const url = pathToFileURL(file).href;
    const mod = (await import(url)) as Module;
    const parallel = (await import(pathToFileURL(join(root, 'dist', 'runtime', 'parallel.js')).href)) as typeof Parallel;

    const rng = new Rng(4096);
    const theta = new Float64Array(mod.model.n);
    const parts: [number, number][] = [[2048, 1 / 8], [32, 0.1], [320, 1 / Math.sqrt(32)], [10, 0.1]];
    let at = 0;
    for (const [size, scale] of parts) for (let k = 0; k < size; k++) theta[at++] = normal(scale)(rng);
    const X = parallel.toShared(fillData({ name: 'X', shape: [N, 64], fill: 'normal' }, rng, new Float64Array(N * 64)));
    const Y = parallel.toShared(fillData({ name: 'Y', shape: [N, 10], fill: 'normal' }, rng, new Float64Array(N * 10)));
    const data = { X, Y };
    const n = mod.model.n;

    const one = new Float64Array(n * n);
    const pooled = new Float64Array(n * n);
    const pools = { 1: await parallel.createPool({ module: url, workers: 1 }), 2: await parallel.createPool({ module: url, workers: 2 }) };
    const load0 = loadavg()[0]!;
    try {
      const runs: Record<string, () => Promise<void>> = {
        'one thread': async () => void mod.hessian(theta, data, one),
        'pool, 1 worker': async () => void (await pools[1].hessian(theta, data, pooled)),
        'pool, 2 workers': async () => void (await pools[2].hessian(theta, data, pooled)),
      };
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
      // Warm-up: each at least once and for at least 1 s in all.
      const warm = performance.now();
      do for (const f of Object.values(runs)) await f();
      while (performance.now() - warm < 1000);
      // Agreement.
      mod.hessian(theta, data, one);
      await pools[2].hessian(theta, data, pooled);
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < one.length; i++) {
        scale = Math.max(scale, Math.abs(one[i]!));
        diff = Math.max(diff, Math.abs(one[i]! - pooled[i]!));
      }
      const agreement = diff / Math.max(scale, Number.MIN_VALUE);
      // Alternating timed runs.
      for (let r = 0; r < REPS; r++) {
        for (const [name, f] of Object.entries(runs)) {
          const t = performance.now();
          await f();
          times[name]!.push(performance.now() - t);
        }
      }
      const load1 = loadavg()[0]!;
      const base = median(times['one thread']!);
      console.log(`# Two worker threads against one thread: 64-32-10 MLP Hessian (n = ${n}), N = ${N}\n`);
      console.log(`cores: ${availableParallelism()}; load average (1 min) ${load0.toFixed(2)} before, ${load1.toFixed(2)} after${load0 > 0.5 || load1 > 0.5 ? ' (other processes were running: the cores were not free)' : ''}\n`);
      console.log('| run | median ms | speed-up over one thread |');
      console.log('|---|---|---|');
      for (const [name, ts] of Object.entries(times)) console.log(`| ${name} | ${median(ts).toFixed(1)} | ${(base / median(ts)).toFixed(2)}× |`);
      console.log(`\nmax |H(pool) − H(one thread)| / max |H| = ${agreement.toExponential(2)} (limit 1e-12); ${REPS} alternating timed runs each after a ≥ 1 s warm-up`);
      const ratio = base / median(times['pool, 2 workers']!);
      console.log(`target ≥ 1.7× with both cores free: ${ratio >= 1.7 ? 'met' : 'not met'} (${ratio.toFixed(2)}×)`);
      if (!(agreement <= 1e-12)) process.exitCode = 1;
    } finally {
      await pools[1].dispose();
      await pools[2].dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
