// CPU pass: a pair block that covers its parameter's whole diagonal Hessian block assigns that
// block instead of adding to it, on every call or on the batch's first chunk, and the entry points
// leave the block uncleared. The Hessian is the largest thing a call writes (46 MB for the 64-32-10
// MLP, 33.5 MB of it the (W1, W1) block): clearing a block only to read it back and add to it
// costs a pass over its memory, about a tenth of that model's Hessian.
//
// Exact because a pair block stores each entry of its block once (pair symmetry enumerates every
// (a, b, c, d) once with its mirror: runtime/wasm/dense.ts, pairs), provided nothing wrote the
// block before it: no earlier statement of its kernel, and no kernel before it in any entry point
// that runs it (earlier in `pre`, or in `stream` for a streamed kernel). Each such entry's schedule
// lists the block (`assigned`); the emitters clear the rest of the Hessian.

import { buffersStored, type Kernel, type KernelId, type PairBlock, type Program, type Schedule, type Stmt } from '../loops.ts';

type Assign = 'always' | 'firstChunk';

/** The program with covering pair blocks marked `assign` and their entries' schedules listing them. */
export function assignFirst(p: Program): Program {
  const marks = new Map<KernelId, { st: Stmt; assign: Assign; offset: number; size: number }>();
  for (const k of p.kernels) {
    const found = coveringPairBlock(p, k);
    if (!found) continue;
    // The same way in every entry that runs it, else not at all.
    const ways = new Set<Assign | null>();
    for (const sch of Object.values(p.entries)) {
      if (runs(sch, k.id)) ways.add(firstWriter(p, sch, k.id, found.block));
    }
    const [way] = [...ways];
    if (ways.size === 1 && way) marks.set(k.id, { st: found.st, assign: way, offset: found.offset, size: found.size });
  }
  if (marks.size === 0) return p;
  const kernels = p.kernels.map((k) => {
    const m = marks.get(k.id);
    if (!m) return k;
    const assign = m.assign === 'firstChunk' ? { firstChunkOf: p.batch!.dim } : ('always' as const);
    return { ...k, body: k.body.map((st) => (st === m.st && st.k === 'pairBlock' ? { ...st, assign } : st)) };
  });
  const entries = Object.fromEntries(
    Object.entries(p.entries).map(([e, sch]) => {
      const assigned = [...marks].filter(([id]) => runs(sch, id)).map(([, m]) => ({ offset: m.offset, size: m.size, firstChunk: m.assign === 'firstChunk' }));
      return [e, assigned.length > 0 ? { ...sch, assigned: assigned.sort((a, b) => a.offset - b.offset) } : sch];
    }),
  ) as unknown as Program['entries'];
  return { ...p, kernels, entries };
}

const runs = (sch: Schedule, id: KernelId): boolean => sch.pre.includes(id) || sch.stream.includes(id) || sch.post.includes(id);

/**
 * The kernel's first statement that stores into the Hessian, when it is a pair block over a whole
 * diagonal block of the Hessian: the parameter X[m, m2] at `offset`, out(a, b, c, d) at the entry
 * (offset + a·m2 + b, offset + c·m2 + d), the mirror its transpose.
 */
function coveringPairBlock(p: Program, k: Kernel): { st: Stmt; block: string; offset: number; size: number } | null {
  const first = k.body.find((st) => buffersStored(st).has('hessian'));
  if (!first || first.k !== 'pairBlock' || first.pair.diagonal || first.pair.out.buf !== 'hessian') return null;
  const writes = k.writes.filter((w) => w.buf === 'hessian');
  if (writes.length !== 1) return null;
  const [i, j] = writes[0]!.block.split(',').map(Number);
  if (i === undefined || i !== j || !Number.isInteger(i)) return null;
  const param = p.model.params[i];
  if (!param || param.shape.length !== 2) return null;
  const [m, m2] = param.shape as [number, number];
  const n = p.n;
  const q: PairBlock = first.pair;
  const o = param.offset;
  const at = o * n + o;
  const is = (e: { k: string; v?: number }, v: number) => e.k === 'num' && e.v === v;
  const same = (base: typeof q.out.base, strides: typeof q.out.strides, want: number[]) => is(base, at) && strides.length === 4 && strides.every((s, x) => is(s, want[x]!));
  if (q.m !== m || q.m2 !== m2) return null;
  if (!same(q.out.base, q.out.strides, [m2 * n, n, m2, 1]) || !same(q.mirror.base, q.mirror.strides, [m2, 1, m2 * n, n])) return null;
  return { st: first, block: `${i},${i}`, offset: o, size: param.size };
}

/**
 * How the kernel `id` may assign `block` in this schedule: always (it runs once, nothing before it
 * writes the block), on the first chunk (streamed, nothing before it writes the block), or null.
 */
function firstWriter(p: Program, sch: Schedule, id: KernelId, block: string): Assign | null {
  const writesBlock = (k: KernelId) => p.kernels[k]!.writes.some((w) => w.buf === 'hessian' && (w.block === block || w.block === ''));
  const order = [...sch.pre, ...sch.stream, ...sch.post];
  const before = order.slice(0, order.indexOf(id));
  if (before.some(writesBlock)) return null;
  // A streamed kernel runs once per chunk: it assigns on the first, adds on the others.
  if (sch.stream.includes(id)) return p.batch !== null ? 'firstChunk' : null;
  return 'always';
}
