// jax-js side of `npm run bench` (bench/cpu.ts): `hessian(f)` and `jit(hessian(f))` of
// @jax-js/jax on its WebAssembly backend, float64, in a process of its own so that bench/cpu.ts
// can stop it at a time budget (a jax-js call is synchronous and cannot be interrupted).
//
// Usage: node bin/run-ts.mjs bench/jaxjs.ts JOB.json   (bench/cpu.ts runs it)
//
// JOB.json is the job bench/cpu.ts writes for bench/torch_hessian.py (θ and data as raw
// little-endian float64 files, where to write the Hessian, how many calls to time), and the
// results are the same JSON lines on stdout, so that cpu.ts reads both peers the same way.
// Variants: "hessian" and "jit(hessian)". Each model below is written by hand to match its .hess
// file in bench/models/, θ unpacked in the same layout (every `param` in declaration order,
// flattened row-major).
//
// Threads: jax-js runs its Wasm kernels on Web Workers only where the global `Worker` exists;
// Node 20 has none, so this is one thread, like the other rows of the bench.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// ---- Shims for Node 20 (the minimal one, found by trying) ----------------------------------
// jax-js tests `data instanceof Float16Array` whenever an array is made from a typed array, and
// Node 20 has no Float16Array (a ReferenceError otherwise). No float16 array is ever made here,
// so an empty class suffices. `navigator` (absent in Node 20) is read only on the WebGPU paths:
// `init()` without arguments probes `navigator.gpu` and throws; `init('wasm')` needs no shim.
const g = globalThis as unknown as Record<string, unknown>;
g.Float16Array ??= class Float16Array {};

type Jax = typeof import('@jax-js/jax');
type JArray = import('@jax-js/jax').Array;

// ---- The models (keep in step with bench/models/*.hess) ------------------------------------
// jax-js arrays are reference-counted and every use consumes one reference: `.ref` before all
// but the last use of an array; data captured by the closures are used through `.ref` always.

type Model = (jax: Jax, d: Record<string, JArray>) => (theta: JArray) => JArray;

const MODELS: Record<string, { n: number; f: Model }> = {
  mlp_3_5_1: {
    n: 26,
    // param W1[3, 5], b1[5], w2[5], b2; data X[N, 3], y[N]
    f: ({ numpy: np }, d) => (theta) => {
      const W1 = theta.ref.slice([0, 15]).reshape([3, 5]);
      const b1 = theta.ref.slice([15, 20]);
      const w2 = theta.ref.slice([20, 25]);
      const b2 = theta.slice(25);
      const h = np.tanh(np.matmul(d.X!.ref, W1).add(b1));
      return np.mean(np.square(np.matmul(h, w2).add(b2).sub(d.y!.ref)));
    },
  },
  mlp_64_32_10: {
    n: 2410,
    // param W1[64, 32], b1[32], W2[32, 10], b2[10]; data X[N, 64], Y[N, 10]
    f: ({ numpy: np }, d) => (theta) => {
      const W1 = theta.ref.slice([0, 2048]).reshape([64, 32]);
      const b1 = theta.ref.slice([2048, 2080]);
      const W2 = theta.ref.slice([2080, 2400]).reshape([32, 10]);
      const b2 = theta.slice([2400, 2410]);
      const h = np.tanh(np.matmul(d.X!.ref, W1).add(b1));
      return np.mean(np.square(np.matmul(h, W2).add(b2).sub(d.Y!.ref)));
    },
  },
  rosenbrock_1000: {
    n: 1000,
    // param x[1000]: Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])²
    f: ({ numpy: np }) => (x) => {
      const next = x.ref.slice([1, 1000]);
      const cur = x.slice([0, 999]);
      const a = np.square(next.sub(np.square(cur.ref))).mul(100);
      const b = np.square(np.subtract(1, cur));
      return np.sum(a.add(b));
    },
  },
  softmax_64_128: {
    n: 8320,
    // param W[64, 128], b[128]; data X[N, 64], Y[N, 128]
    f: ({ numpy: np, nn }, d) => (theta) => {
      const W = theta.ref.slice([0, 8192]).reshape([64, 128]);
      const b = theta.slice([8192, 8320]);
      const Z = np.matmul(d.X!.ref, W).add(b);
      return np.mean(nn.logsumexp(Z.ref, 1).sub(np.sum(d.Y!.ref.mul(Z), 1)));
    },
  },
};

// ---- Harness ---------------------------------------------------------------------------------

interface Job {
  model: string;
  n: number;
  theta: string;
  data: Record<string, { path: string; shape: number[] }>;
  hessian_out: string;
  variants?: string[];
  warmup?: number;
  warmup_seconds?: number;
  clock?: 'cpu' | 'wall';
  slow_seconds?: number;
  min_reps?: number;
  max_reps?: number;
  target_seconds?: number;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function load(path: string, shape: readonly number[]): Float64Array {
  const buf = readFileSync(path);
  const a = new Float64Array(buf.byteLength / 8);
  new Uint8Array(a.buffer).set(buf);
  const expected = shape.reduce((x, y) => x * y, 1);
  if (a.length !== expected) throw new Error(`${path}: ${a.length} numbers, expected ${expected} for shape [${shape.join(', ')}]`);
  return a;
}

async function main(): Promise<void> {
  const jobPath = process.argv[2];
  if (!jobPath) throw new Error('usage: node bin/run-ts.mjs bench/jaxjs.ts JOB.json');
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as Job;
  const spec = MODELS[job.model];
  if (!spec) throw new Error(`no jax-js model ${job.model}`);
  if (spec.n !== job.n) throw new Error(`${job.model}: n = ${job.n} from the compiler, ${spec.n} here`);

  const jax = await import('@jax-js/jax');
  const { numpy: np, hessian, jit, init, defaultDevice } = jax;
  const devices = await init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js has no Wasm backend here (devices: ${devices.join(', ')})`);
  defaultDevice('wasm');
  // bin/run-ts.mjs sets argv[1] to this file: the package sits in ../node_modules from here.
  const here = process.argv[1]?.endsWith('.ts') ? dirname(resolve(process.argv[1])) : process.cwd();
  const version = (JSON.parse(readFileSync(join(here, '..', 'node_modules/@jax-js/jax/package.json'), 'utf8')) as { version: string }).version;

  const theta = np.array(load(job.theta, [spec.n]), { dtype: np.float64 });
  const data: Record<string, JArray> = {};
  for (const [name, d] of Object.entries(job.data)) data[name] = np.array(load(d.path, d.shape), { dtype: np.float64 }).reshape(d.shape);
  const f = spec.f(jax, data);
  emit({ event: 'ready', torch: `jax-js ${version}`, threads: 1 });
  emit({ event: 'value', value: f(theta.ref).dataSync()[0] });

  const warmup = job.warmup ?? 1;
  const warmupSeconds = job.warmup_seconds ?? 0;
  // What a sample measures (ms): the process's CPU time or wall time; the warm-up is on the same
  // clock, the target is wall time.
  const now = job.clock === 'cpu' ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();
  const minReps = job.min_reps ?? 3;
  const maxReps = job.max_reps ?? 30;
  const target = job.target_seconds ?? 1;
  let written = false;
  for (const variant of job.variants ?? ['hessian', 'jit(hessian)']) {
    try {
      const h = variant === 'jit(hessian)' ? jit(hessian(f)) : hessian(f);
      const times: number[] = [];
      const start = performance.now();
      let warmCalls = 0;
      const clockStart = now();
      while (times.length < maxReps) {
        const c0 = now();
        emit({ event: 'calling', variant, clock: c0 / 1000 });
        const H = h(theta.ref);
        // dataSync: the result in a JavaScript Float64Array, as ours is (jax-js is lazy).
        const values = H.dataSync() as Float64Array;
        const dt = (now() - c0) / 1000;
        // Warm-up: `warmup` calls and at least `warmup_seconds` (unless one call already took it).
        const warming = warmCalls < warmup || (c0 - clockStart) / 1000 < warmupSeconds;
        if (warming) warmCalls++;
        const phase = warming ? 'warmup' : 'rep';
        emit({ event: 'call', variant, phase, seconds: dt });
        if (!written) {
          writeFileSync(job.hessian_out, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
          written = true;
          emit({ event: 'hessian', path: job.hessian_out, shape: H.shape });
        }
        if (phase === 'rep') times.push(dt);
        // A call slower than `slow_seconds` is timed once after the warm-up.
        if (times.length && dt >= (job.slow_seconds ?? Infinity)) break;
        if (times.length >= minReps && (performance.now() - start) / 1000 >= target + warmupSeconds) break;
      }
      const sorted = [...times].sort((a, b) => a - b);
      const m = sorted.length >> 1;
      emit({ event: 'variant', variant, median_s: times.length ? (sorted.length % 2 ? sorted[m] : (sorted[m - 1]! + sorted[m]!) / 2) : null, reps: times.length });
    } catch (err) {
      emit({ event: 'error', variant, message: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300) });
    }
  }
  emit({ event: 'done' });
}

await main();
