// Streaming the batch: when a model has one run-time dimension (the batch) and its elements only
// meet through sums, every kernel that loops over the batch can run on one chunk of it at a time.
// Workspaces then hold one chunk, so memory does not grow with the data, and sums over the batch
// accumulate across chunks. Kernels are split into `pre` (independent of the batch), `stream`
// (per chunk) and `post` (after the completed sums).

import type { Dim } from '../2-ir/graph.ts';
import type { Batch, Entry, KernelId, Schedule, Stmt } from './loops.ts';

/** Output buffers that their entry points zero before running the kernels. */
const CLEARED_BY_ENTRY: ReadonlySet<string> = new Set(['gradient', 'hessian', 'hvp', 'hessianDiagonal', 'gaussNewton']);

/** Largest chunk streamed at once: big enough to amortize a pass over the kernels. */
const MAX_CHUNK = 2048;

export interface KernelInfo {
  readonly body: readonly Stmt[];
  /** Kernels that must run before this one. */
  readonly deps: readonly KernelId[];
  /** The buffer it writes (with its shape), and whether it is a maximum rather than a sum. */
  readonly out: { readonly buf: string; readonly shape: readonly Dim[]; readonly max: boolean } | null;
}

export interface Streamed {
  readonly batch: Batch;
  readonly schedules: Record<Entry, Schedule>;
  /** Kernels that sum over the batch into a buffer without it: they accumulate across chunks. */
  readonly accumulating: ReadonlySet<KernelId>;
}

/**
 * Plans the streaming, or returns null when it does not apply: no single run-time dimension, a
 * kernel in which two elements of the batch meet (nested loops over it), a kernel over the batch
 * that needs a completed sum over it, or a maximum over the batch.
 */
export function streamBatch(
  dims: readonly string[],
  orders: Readonly<Record<Entry, readonly KernelId[]>>,
  info: (kernel: KernelId) => KernelInfo,
  workspaces: readonly (readonly Dim[])[],
  n: number,
): Streamed | null {
  if (dims.length !== 1) return null;
  const B = dims[0]!;
  /** How deeply loops over the batch nest in a body. */
  const batchDepth = (body: readonly Stmt[]): number =>
    Math.max(
      0,
      ...body.map((st) => {
        const loop = st.k === 'for' || st.k === 'forStep' || st.k === 'reduce' || st.k === 'reduceN';
        const own = loop && st.to.k === 'extent' && st.to.name === B ? 1 : 0;
        const inner =
          st.k === 'for' || st.k === 'block' ? batchDepth(st.body) : st.k === 'forStep' ? Math.max(batchDepth(st.body), batchDepth(st.rest)) : 0;
        return own + inner;
      }),
    );
  const accumulating = new Set<KernelId>();
  const schedules = {} as Record<Entry, Schedule>;
  for (const e of Object.keys(orders) as Entry[]) {
    const pre: KernelId[] = [];
    const stream: KernelId[] = [];
    const post: KernelId[] = [];
    const whole = new Set<KernelId>(); // kernels whose result needs the whole batch
    for (const k of orders[e]) {
      const { body, deps, out } = info(k);
      const needsWhole = deps.some((d) => whole.has(d));
      const depth = batchDepth(body);
      if (depth > 1) return null;
      if (depth === 1) {
        if (needsWhole) return null;
        stream.push(k);
        if (out && !out.shape.includes(B)) {
          if (out.max) return null;
          accumulating.add(k);
          whole.add(k);
        }
      } else if (needsWhole) {
        post.push(k);
        whole.add(k);
      } else if (deps.some((d) => stream.includes(d))) {
        return null;
      } else pre.push(k);
    }
    // Outputs the entry point clears itself (gradient, Hessian, H·v) are not listed.
    const clear = stream
      .filter((k) => accumulating.has(k))
      .map((k) => info(k).out?.buf)
      .filter((b): b is string => b !== undefined && !CLEARED_BY_ENTRY.has(b));
    schedules[e] = { pre, clear, stream, post };
  }
  // The largest workspace per element of the batch bounds the chunk: no buffer may exceed half
  // the Hessian.
  let perElement = 1;
  for (const shape of workspaces) {
    if (!shape.includes(B)) continue;
    perElement = Math.max(perElement, shape.reduce<number>((a, d) => a * (d === B ? 1 : (d as number)), 1));
  }
  const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.floor((n * n) / 2 / perElement)));
  return { batch: { dim: B, chunk }, schedules, accumulating };
}
