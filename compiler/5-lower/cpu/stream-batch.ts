// CPU pass: streaming the batch. When a model has one run-time dimension (the batch) and its
// elements only meet through sums, every kernel that loops over the batch can run on one chunk of
// it at a time. Workspaces then hold one chunk, so memory does not grow with the data, and sums
// over the batch accumulate across chunks. Kernels are split into `pre` (independent of the
// batch), `stream` (per chunk) and `post` (after the completed sums). The target-neutral program
// has every kernel in `pre` and `batch: null`; its `extent` and `offset` expressions (the chunk's
// length and start) then mean the whole dimension and 0, and this pass gives them their chunks.

import type { Dim } from '../../2-ir/graph.ts';
import type { Batch, Entry, Expr, Kernel, KernelId, Program, Schedule, Stmt } from '../loops.ts';

/** Output buffers that their entry points zero before running the kernels. */
const CLEARED_BY_ENTRY: ReadonlySet<string> = new Set(['gradient', 'hessian', 'hvp', 'hessianDiagonal', 'gaussNewton']);

/** Largest chunk streamed at once: big enough to amortize a pass over the kernels. */
const MAX_CHUNK = 2048;
/**
 * Doubles (512 KB) a workspace may hold whatever the Hessian's size: a small model's chunks would
 * otherwise be a few rows (13 for the 3-5-1 MLP, whose Gram workspace holds 26 per row), and each
 * chunk pays a pass over every kernel (3-5-1, N = 1000: 584 µs in chunks of 13, 417 in chunks of 2 048).
 */
const WORKSPACE_FLOOR = 1 << 16;

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
export function planStreaming(
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
  // the Hessian, or WORKSPACE_FLOOR where that is more.
  let perElement = 1;
  for (const shape of workspaces) {
    if (!shape.includes(B)) continue;
    perElement = Math.max(perElement, shape.reduce<number>((a, d) => a * (d === B ? 1 : (d as number)), 1));
  }
  const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.floor(Math.max((n * n) / 2, WORKSPACE_FLOOR) / perElement)));
  return { batch: { dim: B, chunk }, schedules, accumulating };
}

/**
 * The pass: plans the streaming from the program itself (what each kernel loads and writes) and,
 * when it applies, makes the kernels that sum over the batch accumulate across chunks (their
 * buffers are cleared once before the chunks, so they neither clear nor assign themselves).
 */
export function streamBatch(p: Program): Program {
  const orders = {} as Record<Entry, readonly KernelId[]>;
  for (const e of Object.keys(p.entries) as Entry[]) {
    const s = p.entries[e];
    if (s.clear.length > 0 || s.stream.length > 0 || s.post.length > 0 || p.batch !== null) throw new Error('internal: the batch is streamed already');
    orders[e] = s.pre;
  }
  const shapeOf = new Map(p.buffers.map((b) => [b.name, b.shape]));
  const kernelInfo = (k: KernelId): KernelInfo => {
    const kernel = p.kernels[k]!;
    const reads = loadsOf(kernel.body);
    // A kernel runs after those that write what it reads, and after an earlier part of its own
    // block (a formula split into a part over the batch and a part without it).
    const deps = p.kernels
      .filter((o) => o.id !== k && (o.writes.some((w) => reads.has(w.buf)) || o.writes.some((w) => kernel.writes.some((x) => x.buf === w.buf && x.block === w.block) && o.id < k)))
      .map((o) => o.id);
    const buf = kernel.writes[0]?.buf;
    return { body: kernel.body, deps, out: buf === undefined ? null : { buf, shape: shapeOf.get(buf) ?? [], max: hasMaxUpdate(kernel.body) } };
  };
  const workspaces = p.buffers.filter((b) => b.kind === 'temp').map((b) => b.shape);
  const streamed = planStreaming(p.model.dims, orders, kernelInfo, workspaces, p.n);
  if (!streamed) return p;
  const kernels = p.kernels.map((k): Kernel => (streamed.accumulating.has(k.id) ? { ...k, body: k.body.filter((st) => st.k !== 'fill').map(accumulateStore) } : k));
  return { ...p, kernels, entries: streamed.schedules, batch: streamed.batch, notes: [...p.notes, `the batch dimension ${streamed.batch.dim} is streamed in chunks of ${streamed.batch.chunk}`] };
}

function accumulateStore(st: Stmt): Stmt {
  if (st.k === 'store') return { ...st, accumulate: true };
  if (st.k === 'block' || st.k === 'for') return { ...st, body: st.body.map(accumulateStore) };
  if (st.k === 'forStep') return { ...st, body: st.body.map(accumulateStore), rest: st.rest.map(accumulateStore) };
  return st;
}

/** The buffers a body loads from. */
function loadsOf(body: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  const expr = (e: Expr): void => {
    if (e.k === 'load') {
      out.add(e.buf);
      expr(e.index);
    } else if (e.k === 'bin' || e.k === 'max') {
      expr(e.a);
      expr(e.b);
    } else if (e.k === 'call') expr(e.arg);
  };
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      switch (st.k) {
        case 'for': expr(st.from); expr(st.to); visit(st.body); break;
        case 'forStep': expr(st.from); expr(st.to); visit(st.body); visit(st.rest); break;
        case 'block': visit(st.body); break;
        case 'let': case 'var': case 'update': expr(st.value); break;
        case 'store': expr(st.index); expr(st.value); break;
        case 'storeSym': expr(st.index); expr(st.mirror); expr(st.value); break;
        case 'reduce': expr(st.from); expr(st.to); expr(st.value); break;
        case 'reduceN': expr(st.from); expr(st.to); st.values.forEach(expr); break;
        case 'skipIfLess': expr(st.a); expr(st.b); break;
        case 'fill': break;
      }
    }
  };
  visit(body);
  return out;
}

/** Whether a body computes a maximum (which cannot be accumulated chunk by chunk as a sum). */
function hasMaxUpdate(body: readonly Stmt[]): boolean {
  return body.some((st) => (st.k === 'update' && st.op === 'max') || ((st.k === 'for' || st.k === 'block') && hasMaxUpdate(st.body)));
}
