// hessgen/runtime/parallel: a model's outputs over worker threads (Node's worker_threads, or Web
// Workers in browsers). Each worker imports the generated CPU module and computes the contribution
// of a contiguous range of the batch (its shard entry); the data and the partial results live in
// SharedArrayBuffers, and the workers add up the partials in parallel, each a slice of them.
// A separate export path from `hessgen/runtime`, so that importing the runtime never pulls in workers.

import { spawn, type Endpoint } from './endpoint.ts';
import type { FromWorker, Op, ShardRange, SharedArray, ToWorker } from './protocol.ts';
import { batchSize, splitRows } from './split.ts';

export type { ShardEvaluator, ShardModule, ShardRange } from './protocol.ts';
export { splitRows } from './split.ts';

type Data = Readonly<Record<string, ArrayLike<number> | number>>;

export interface PoolOptions {
  /**
   * The generated CPU module as JavaScript (`hessgen build --emit js`), by URL: each worker imports
   * it. Its model must have a shard entry (createShardEvaluator).
   */
  readonly module: string | URL;
  /** How many workers (default: the number of cores, at least 1). */
  readonly workers?: number;
  /** The worker script (default: `parallel-worker.js` beside this module, as in the package's dist/). */
  readonly workerUrl?: string | URL;
}

export interface Pool {
  readonly workers: number;
  /** The model's name and θ length, as the module says. */
  readonly model: { readonly name: string; readonly n: number };
  value(theta: ArrayLike<number>, data: Data): Promise<number>;
  gradient(theta: ArrayLike<number>, data: Data, out?: Float64Array): Promise<Float64Array>;
  hessian(theta: ArrayLike<number>, data: Data, out?: Float64Array): Promise<Float64Array>;
  evaluate(theta: ArrayLike<number>, data: Data): Promise<{ value: number; gradient: Float64Array; hessian: Float64Array }>;
  /** Present when the module has hvp. */
  hvp(theta: ArrayLike<number>, data: Data, v: ArrayLike<number>, out?: Float64Array): Promise<Float64Array>;
  /** Present when the module has hessianDiagonal. */
  hessianDiagonal(theta: ArrayLike<number>, data: Data, out?: Float64Array): Promise<Float64Array>;
  /** Stops the workers; later calls reject. */
  dispose(): Promise<void>;
}

/** A float64 copy of `a` in shared memory (none when it already is there). */
export function toShared(a: ArrayLike<number>): Float64Array {
  if (a instanceof Float64Array && a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float64Array(new SharedArrayBuffer(a.length * 8));
  for (let i = 0; i < a.length; i++) s[i] = a[i]!;
  return s;
}

const shared = (a: Float64Array): SharedArray => ({ buffer: a.buffer as SharedArrayBuffer, byteOffset: a.byteOffset, length: a.length });

/** One worker and the reply it owes. */
class Member {
  private waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  constructor(readonly end: Endpoint) {
    end.listen(
      (m) => {
        const w = this.waiting;
        this.waiting = null;
        w?.resolve(m as FromWorker);
      },
      (e) => {
        this.failure = e;
        const w = this.waiting;
        this.waiting = null;
        w?.reject(e);
      },
    );
  }
  ask(m: ToWorker): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.end.post(m);
    });
  }
}

/** A worker's error, with its type (RangeError for bad input) kept. */
function rethrown(m: FromWorker & { kind: 'error' }): Error {
  const E = m.name === 'RangeError' ? RangeError : m.name === 'TypeError' ? TypeError : Error;
  return new E(m.message);
}

/** Starts `workers` workers, each importing the module; resolves once all are ready. */
export async function createPool(options: PoolOptions): Promise<Pool> {
  const count = options.workers ?? (await defaultWorkers());
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers: expected a whole number ≥ 1, got ${count}`);
  // The literal `new URL('…', import.meta.url)` form is the one bundlers recognize as an asset.
  const workerUrl = options.workerUrl !== undefined ? new URL(options.workerUrl, import.meta.url) : new URL('./parallel-worker.js', import.meta.url);
  const moduleUrl = new URL(options.module, import.meta.url).href;
  const members = await Promise.all(Array.from({ length: count }, async () => new Member(await spawn(workerUrl))));
  const hold = (on: boolean) => members.forEach((m) => m.end.hold(on));
  let disposed = false;

  /** Every member's reply to its message (the first error rejects, after all have answered). */
  const all = async (messages: readonly ToWorker[]): Promise<FromWorker[]> => {
    const settled = await Promise.allSettled(messages.map((m, k) => members[k]!.ask(m)));
    const replies: FromWorker[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      if (s.value.kind === 'error') throw rethrown(s.value);
      replies.push(s.value);
    }
    return replies;
  };

  let ready: FromWorker & { kind: 'ready' };
  try {
    hold(true);
    ready = (await all(members.map(() => ({ kind: 'init', module: moduleUrl }))))[0] as FromWorker & { kind: 'ready' };
    hold(false);
  } catch (e) {
    await Promise.all(members.map((m) => m.end.terminate()));
    throw e;
  }
  const { n, dim, data: layout } = ready;

  // Partial results: one slot per worker, reused while the output's size stays the same.
  let partials: Float64Array = new Float64Array(0);
  const slots = (length: number): Float64Array => {
    if (partials.length !== length * count) partials = new Float64Array(new SharedArrayBuffer(length * count * 8));
    return partials;
  };

  /** Computes each worker's shard into its slot, then adds the slots up (in parallel, by slices). */
  const compute = async (op: Op, theta: ArrayLike<number>, data: Data, v: ArrayLike<number> | null, length: number): Promise<{ value: number; sum: Float64Array }> => {
    if (disposed) throw new Error('hessgen parallel: this pool was disposed');
    if (!ready.ops.includes(op)) throw new TypeError(`${ready.name}: the module has no ${op} output (see --outputs)`);
    if (theta == null || typeof theta.length !== 'number' || theta.length !== n) throw new RangeError(`theta: expected an array of length ${n}`);
    if (data === null || typeof data !== 'object') throw new RangeError('data: expected an object of arrays');
    if (v !== null && (v == null || typeof v.length !== 'number' || v.length !== n)) throw new RangeError(`v: expected an array of length ${n}`);
    const total = batchSize(layout, dim, data);
    const sharedData: Record<string, SharedArray | number> = {};
    for (const d of layout) {
      const a = data[d.name];
      if (d.shape.length === 0) {
        if (typeof a !== 'number') throw new RangeError(`data.${d.name}: expected a number, got ${a === undefined ? 'nothing' : typeof a}`);
        sharedData[d.name] = a;
      } else if (a != null && typeof a === 'object' && typeof a.length === 'number') sharedData[d.name] = shared(toShared(a));
      else throw new RangeError(`data.${d.name}: expected an array of numbers ([${d.shape.join(', ')}], row-major)`);
    }
    const th = shared(toShared(theta));
    const dir = v === null ? null : shared(toShared(v));
    const slot = slots(length);
    const ranges = splitRows(total, count);
    hold(true);
    try {
      const done = await all(ranges.map((range: ShardRange, k): ToWorker => ({ kind: 'run', op, theta: th, v: dir, data: sharedData, range, partial: { buffer: slot.buffer as SharedArrayBuffer, byteOffset: k * length * 8, length } })));
      // The value: in worker order, so that the result does not depend on timing.
      const value = done.reduce((a, m) => a + (m.kind === 'done' ? m.value : 0), 0);
      if (length > 0 && count > 1) {
        const cuts = splitRows(length, count);
        await all(cuts.map((c): ToWorker => ({ kind: 'reduce', partials: slot.buffer as SharedArrayBuffer, count, stride: length, from: c.start, to: c.end })));
      }
      return { value, sum: slot.subarray(0, length) };
    } finally {
      hold(false);
    }
  };

  // One call at a time: the workers hold one shard each and the slots are shared.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = queue.then(f, f);
    queue = next.catch(() => undefined);
    return next;
  };
  const into = (out: Float64Array | undefined, sum: Float64Array, what: string): Float64Array => {
    if (out === undefined) return sum.slice();
    if (!(out instanceof Float64Array) || out.length !== sum.length) throw new RangeError(`${what} output: expected a Float64Array of length ${sum.length}`);
    out.set(sum);
    return out;
  };

  return {
    workers: count,
    model: { name: ready.name, n },
    value: (theta, data) => serial(async () => (await compute('value', theta, data, null, 0)).value),
    gradient: (theta, data, out) => serial(async () => into(out, (await compute('gradient', theta, data, null, n)).sum, 'gradient')),
    hessian: (theta, data, out) => serial(async () => into(out, (await compute('hessian', theta, data, null, n * n)).sum, 'hessian')),
    evaluate: (theta, data) =>
      serial(async () => {
        const r = await compute('evaluate', theta, data, null, n + n * n);
        return { value: r.value, gradient: r.sum.slice(0, n), hessian: r.sum.slice(n) };
      }),
    hvp: (theta, data, v, out) => serial(async () => into(out, (await compute('hvp', theta, data, v, n)).sum, 'hvp')),
    hessianDiagonal: (theta, data, out) => serial(async () => into(out, (await compute('hessianDiagonal', theta, data, null, n)).sum, 'hessianDiagonal')),
    dispose: () =>
      serial(async () => {
        if (disposed) return;
        disposed = true;
        await Promise.all(members.map((m) => m.end.terminate()));
      }),
  };
}

async function defaultWorkers(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (typeof nav?.hardwareConcurrency === 'number') return Math.max(1, nav.hardwareConcurrency);
  // Node 20 has no navigator; its os module says (under a name bundlers leave alone).
  const os = (await import(/* webpackIgnore: true */ /* @vite-ignore */ ['node', 'os'].join(':'))) as { availableParallelism(): number };
  return Math.max(1, os.availableParallelism());
}
