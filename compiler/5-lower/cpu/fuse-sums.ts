// CPU pass: small Hessian blocks' sums, one pass over the batch for several blocks. A small
// model's curvature terms are short loop nests around one sum over the batch, one kernel per block,
//   for a { lets; for b { skips; lets; acc = Σ_s …; store } }   (constant ranges),
// each kernel going over the samples again and loading the same per-sample factors. When
// consecutive such kernels (next to each other in every entry point that runs them) have a loop of
// the same length u in each of their nests (the 3-5-1 MLP: its 5 hidden units, in W1–W1, W1–b1,
// W1–w2, b1–b1, b1–w2), and at most FUSE_MAX_SUMS sums per value of it, they become one kernel:
//   for u { all the lets; Σ_s of every entry at once (one reduceN); every store }
// with each nest's other loops unrolled whole (skips decided at compile time) and its loop of u
// length the shared one. The emitter then loads each per-sample factor once and shares the
// products' common prefixes between the sums (typescript.ts, reduceN). 3-5-1 MLP: the five
// curvature kernels (98 passes over the samples) become one (5 passes, 14 sums each).
// Two more fusions of the same kind follow below: a kernel's element-wise nests along the batch
// that share a loop length (fuseMaps), and such nests moved into a sums kernel's pass over the same
// unit and samples (mapsIntoSums).

import { add, buffersLoaded, loadsIn, mapLoads, namesIn, mul, num, productFactors, type Expr, type Kernel, type KernelId, type Program, type Schedule, type Stmt, type Write } from '../loops.ts';
import { polyAdd, polyConst, polyMul, polyText, type Poly } from './poly.ts';

/** Most sums per value of the shared loop (beyond it, accumulators leave the registers). */
export const FUSE_MAX_SUMS = 16;
/** Longest loop unrolled whole, and longest nest (entries before skips) per value of the shared loop. */
const MAX_UNROLLED = 32;

type For = Extract<Stmt, { k: 'for' }>;
type Reduce = Extract<Stmt, { k: 'reduce' }>;
/** One term's block: the lets before its nest, the nest's levels, and the innermost sum and store. */
interface Nest {
  readonly lets: readonly Stmt[];
  readonly levels: readonly { readonly v: string; readonly n: number; readonly pre: readonly Stmt[] }[];
  readonly inner: readonly Stmt[];
}

export function fuseSums(input: Program): Program {
  return mapsIntoSums(fuseSumKernels({ ...input, kernels: input.kernels.map(fuseMaps) }));
}

/** Kernels' ids made their indices again, without `dropped`, the entries' lists remapped. */
function withoutKernels(p: Program, kernels: readonly Kernel[], dropped: ReadonlySet<KernelId>): Program {
  const kept = kernels.filter((k) => !dropped.has(k.id));
  const newId = new Map(kept.map((k, i) => [k.id, i]));
  const remap = (l: readonly KernelId[]) => l.filter((id) => !dropped.has(id)).map((id) => newId.get(id)!);
  const entries = Object.fromEntries(
    Object.entries(p.entries).map(([e, s]): [string, Schedule] => [e, { ...s, pre: remap(s.pre), stream: remap(s.stream), post: remap(s.post) }]),
  ) as unknown as Program['entries'];
  return { ...p, kernels: kept.map((k, i): Kernel => ({ ...k, id: i })), entries };
}

function fuseSumKernels(p: Program): Program {
  const nests = new Map<KernelId, Nest[]>();
  for (const k of p.kernels) {
    const ns = kernelNests(k);
    if (ns) nests.set(k.id, ns);
  }
  // Runs of such kernels, the same in every list that holds any of them.
  const lists = Object.values(p.entries).flatMap((s) => [s.pre, s.stream, s.post]);
  const runs: KernelId[][] = [];
  for (const list of lists) {
    let run: KernelId[] = [];
    for (const id of [...list, -1]) {
      if (nests.has(id)) run.push(id);
      else {
        if (run.length > 1 && !runs.some((r) => r.join() === run.join())) runs.push(run);
        run = [];
      }
    }
  }
  const fused = new Map<KernelId, Kernel>();
  const dropped = new Set<KernelId>();
  const attempt = (ids: readonly KernelId[]) => fuse(ids.map((id) => p.kernels[id]!), ids.flatMap((id) => nests.get(id)!));
  for (const run of runs) {
    if (run.some((id) => fused.has(id) || dropped.has(id))) continue;
    const same = lists.every((l) => !l.some((id) => run.includes(id)) || `,${l.join()},`.includes(`,${run.join()},`));
    if (!same) continue;
    // Groups of consecutive kernels, each as long as it fuses (a shared length, few enough sums).
    let group: KernelId[] = [];
    const close = (): void => {
      if (group.length > 1) {
        fused.set(group[0]!, attempt(group)!);
        group.slice(1).forEach((id) => dropped.add(id));
      }
      group = [];
    };
    for (const id of run) {
      if (attempt([id]) === null) {
        close();
        continue;
      }
      if (group.length > 0 && attempt([...group, id]) === null) close();
      group.push(id);
    }
    close();
  }
  if (fused.size === 0) return p;
  // Kernels keep their order; ids are indices again.
  return withoutKernels(p, p.kernels.map((k) => fused.get(k.id) ?? k), dropped);
}

/** A kernel's term blocks as nests, or null when one is anything else. */
function kernelNests(k: Kernel): Nest[] | null {
  if (!k.writes.every((w) => w.buf === 'hessian') || k.body.length === 0) return null;
  const out: Nest[] = [];
  for (const st of k.body) {
    if (st.k !== 'block' || st.pair) return null;
    const loop = st.body[st.body.length - 1];
    const lets = st.body.slice(0, -1);
    if (!loop || loop.k !== 'for' || !lets.every((x) => x.k === 'let')) return null;
    const nest = asNest(loop, lets);
    if (!nest) return null;
    out.push(nest);
  }
  return out;
}

function asNest(loop: For, lets: readonly Stmt[]): Nest | null {
  const levels: { v: string; n: number; pre: Stmt[] }[] = [];
  let cur = loop;
  for (;;) {
    if (cur.kind !== 'parallel' || cur.from.k !== 'num' || cur.from.v !== 0 || cur.to.k !== 'num') return null;
    const last = cur.body[cur.body.length - 1];
    if (last?.k === 'for') {
      const pre = cur.body.slice(0, -1);
      if (!pre.every((x) => x.k === 'let' || x.k === 'skipIfLess')) return null;
      levels.push({ v: cur.v, n: cur.to.v, pre });
      cur = last;
      continue;
    }
    const reduce = cur.body[cur.body.length - 2];
    if (!reduce || reduce.k !== 'reduce' || !last || (last.k !== 'store' && last.k !== 'storeSym') || last.buf !== 'hessian') return null;
    const pre = cur.body.slice(0, -2);
    if (!pre.every((x) => x.k === 'let' || x.k === 'skipIfLess')) return null;
    levels.push({ v: cur.v, n: cur.to.v, pre });
    return { lets, levels, inner: [reduce, last] };
  }
}

/** The run as one kernel, or null when its nests share no loop length or have too many sums. */
function fuse(run: readonly Kernel[], nests: readonly Nest[]): Kernel | null {
  // The shared length: one that every nest has, the longest such (most work per pass).
  const lengths = nests.map((n) => new Set(n.levels.map((l) => l.n)));
  const shared = [...lengths[0]!].filter((len) => len > 1 && lengths.every((s) => s.has(len))).sort((a, b) => b - a)[0];
  if (shared === undefined) return null;
  const U = 'iu';
  const S = 'ik';
  const outer: Stmt[] = [];
  const inner: Stmt[] = [];
  const names: string[] = [];
  const values: Expr[] = [];
  const stores: Stmt[] = [];
  const byText = new Map<string, string>();
  let range: { from: Expr; to: Expr } | null = null;
  let e = 0;
  for (const nest of nests) {
    const at = nest.levels.findIndex((l) => l.n === shared);
    const others = nest.levels.filter((_, k) => k !== at);
    if (others.some((l) => l.n > MAX_UNROLLED) || others.reduce((x, l) => x * l.n, 1) > MAX_UNROLLED) return null;
    // The nest's lets outside its loops: once, before the loop of u.
    const ren = new Map<string, string>();
    for (const st of nest.lets) share(st as Extract<Stmt, { k: 'let' }>, ren, outer, byText, `${e}`);
    const combos = combinations(nest.levels, at);
    if (combos === null) return null;
    for (const env of combos) {
      const local = new Map(ren);
      // The loop of u is the shared one; the others are numbers.
      const sub = (x: Expr): Expr => rename(fold(x, env, nest.levels[at]!.v, U), local);
      for (const l of nest.levels) {
        for (const st of l.pre) {
          if (st.k !== 'let') continue;
          share({ ...st, value: sub(st.value) }, local, inner, byText, `${e}`);
        }
      }
      const [r, store] = nest.inner as [Reduce, Extract<Stmt, { k: 'store' | 'storeSym' }>];
      local.set(r.v, S);
      const value = sub(r.value);
      const from = sub(r.from);
      const to = sub(r.to);
      if (range === null) range = { from, to };
      else if (JSON.stringify([from, to]) !== JSON.stringify([range.from, range.to])) return null;
      const key = JSON.stringify(['sum', value]);
      const have = byText.get(key);
      if (have !== undefined) local.set(r.name, have);
      else {
        const name = `${r.name}_${e}`;
        byText.set(key, name);
        local.set(r.name, name);
        names.push(name);
        values.push(value);
      }
      stores.push(store.k === 'store' ? { ...store, index: sub(store.index), value: sub(store.value) } : { ...store, index: sub(store.index), mirror: sub(store.mirror), value: sub(store.value) });
      e++;
    }
  }
  if (names.length > FUSE_MAX_SUMS || range === null) return null;
  const writes: Write[] = [];
  for (const w of run.flatMap((k) => k.writes)) if (!writes.some((x) => x.buf === w.buf && x.block === w.block)) writes.push(w);
  return {
    id: run[0]!.id,
    name: `${run[0]!.name}_fused`,
    comment: `Hessian blocks ${run.map((k) => /\([^)]*\)/.exec(k.comment)?.[0] ?? k.name).join(', ')}: their sums in one pass over the batch, for each value of a loop of ${shared} they share`,
    writes,
    body: [
      {
        k: 'block',
        comment: `${run.length} kernels' sums, ${names.length} per ${U}`,
        body: [
          ...outer,
          { k: 'for', kind: 'parallel', v: U, from: num(0), to: num(shared), body: [...inner, { k: 'reduceN', names, v: S, from: range.from, to: range.to, values }, ...stores] },
        ],
      },
    ],
  };
}

/**
 * Each combination of values of the nest's loops but the one at `at` (which stays a variable), in
 * loop order, that no skip drops; null when a skip cannot be decided here (it reads loop `at`).
 */
function combinations(levels: Nest['levels'], at: number): Map<string, number>[] | null {
  const combos: Map<string, number>[] = [];
  const walk = (k: number, env: Map<string, number>): boolean => {
    if (k === levels.length) {
      combos.push(env);
      return true;
    }
    const l = levels[k]!;
    const values = k === at ? [null] : Array.from({ length: l.n }, (_, x) => x);
    for (const x of values) {
      const next = new Map(env);
      if (x !== null) next.set(l.v, x);
      let skipped = false;
      for (const st of l.pre) {
        if (st.k !== 'skipIfLess') continue;
        const a = evaluate(st.a, next, levels, k);
        const b = evaluate(st.b, next, levels, k);
        if (a === null || b === null) return false;
        skipped ||= a < b;
      }
      if (!skipped && !walk(k + 1, next)) return false;
    }
    return true;
  };
  return walk(0, new Map()) ? combos : null;
}

/** Adds a let (renamed by `ren`) unless one with the same value is there: then `ren` maps to it. */
function share(st: Extract<Stmt, { k: 'let' }>, ren: Map<string, string>, into: Stmt[], byText: Map<string, string>, suffix: string): void {
  const value = rename(st.value, ren);
  const key = JSON.stringify(['let', st.int, value]);
  const have = byText.get(key);
  if (have !== undefined) {
    ren.set(st.name, have);
    return;
  }
  const name = `${st.name}_${suffix}`;
  byText.set(key, name);
  ren.set(st.name, name);
  into.push({ ...st, name, value });
}

/**
 * The value of a skip's side: the loop variables before level `upTo` (inclusive) known in env,
 * and integer lets of those levels; null when it reads the shared loop or anything else.
 */
function evaluate(e: Expr, env: ReadonlyMap<string, number>, levels: Nest['levels'], upTo: number): number | null {
  const lets = new Map<string, Expr>();
  for (let k = 0; k <= upTo; k++) for (const st of levels[k]!.pre) if (st.k === 'let' && st.int) lets.set(st.name, st.value);
  const ev = (x: Expr): number | null => {
    switch (x.k) {
      case 'num': return x.v;
      case 'int': case 'local': {
        const v = env.get(x.name);
        if (v !== undefined) return v;
        const l = lets.get(x.name);
        return l === undefined ? null : ev(l);
      }
      case 'bin': {
        const a = ev(x.a);
        const b = ev(x.b);
        if (a === null || b === null) return null;
        return x.op === '+' ? a + b : x.op === '-' ? a - b : a * b;
      }
      case 'max': {
        const a = ev(x.a);
        const b = ev(x.b);
        return a === null || b === null ? null : Math.max(a, b);
      }
      default: return null;
    }
  };
  return ev(e);
}

/** e with the loop variables in env replaced by their values (folded), and `from` renamed `to`. */
function fold(e: Expr, env: ReadonlyMap<string, number>, from: string, to: string): Expr {
  const f = (x: Expr): Expr => {
    switch (x.k) {
      case 'int': {
        if (x.name === from) return { ...x, name: to };
        const v = env.get(x.name);
        return v === undefined ? x : num(v);
      }
      case 'load': return { ...x, index: f(x.index) };
      case 'bin': {
        const a = f(x.a);
        const b = f(x.b);
        if (x.op === '+') return add(a, b);
        if (x.op === '*') return mul(a, b);
        return a.k === 'num' && b.k === 'num' ? num(a.v - b.v) : { ...x, a, b };
      }
      case 'max': {
        const a = f(x.a);
        const b = f(x.b);
        return a.k === 'num' && b.k === 'num' ? num(Math.max(a.v, b.v)) : { ...x, a, b };
      }
      case 'call': return { ...x, arg: f(x.arg) };
      default: return x;
    }
  };
  return f(e);
}

function rename(e: Expr, ren: ReadonlyMap<string, string>): Expr {
  switch (e.k) {
    case 'int': case 'local': {
      const to = ren.get(e.name);
      return to === undefined ? e : { ...e, name: to };
    }
    case 'load': return { ...e, index: rename(e.index, ren) };
    case 'bin': case 'max': return { ...e, a: rename(e.a, ren), b: rename(e.b, ren) };
    case 'call': return { ...e, arg: rename(e.arg, ren) };
    default: return e;
  }
}

// ---- element-wise nests of one kernel ------------------------------------------------------------
// The same for a kernel's blocks that store element by element along the batch (the Gram product's
// stacked sides: `for a { for b { lets; for s < N { lets; U[…] = … } } }`, one block per
// parameter): blocks that share a loop length become `for u { lets; for s < N { every store } }`,
// so that the per-sample factors they share are loaded once. Only when every store is an
// assignment U[R·N + s] = … to one buffer, R an integer row that differs between all the fused
// stores for every u (checked by listing the rows): then no two stores meet, and their order does
// not matter.

interface MapNest {
  readonly block: Extract<Stmt, { k: 'block' }>;
  readonly levels: readonly { readonly v: string; readonly n: number; readonly pre: readonly Stmt[] }[];
  readonly batch: For;
}

function asMapNest(block: Stmt): MapNest | null {
  if (block.k !== 'block' || block.pair || block.body.length !== 1 || block.body[0]!.k !== 'for') return null;
  const levels: { v: string; n: number; pre: Stmt[] }[] = [];
  let cur = block.body[0] as For;
  for (;;) {
    if (cur.kind !== 'parallel' || cur.from.k !== 'num' || cur.from.v !== 0) return null;
    if (cur.to.k !== 'num') {
      // The batch loop: lets, then one assignment.
      const store = cur.body[cur.body.length - 1];
      if (!store || store.k !== 'store' || store.accumulate || !cur.body.slice(0, -1).every((x) => x.k === 'let')) return null;
      return levels.length > 0 ? { block, levels, batch: cur } : null;
    }
    const last = cur.body[cur.body.length - 1];
    const pre = cur.body.slice(0, -1);
    if (!last || last.k !== 'for' || !pre.every((x) => x.k === 'let')) return null;
    levels.push({ v: cur.v, n: cur.to.v, pre });
    cur = last;
  }
}

/** A kernel with its element-wise nests that share a loop length fused (or the kernel as it was). */
export function fuseMaps(k: Kernel): Kernel {
  const nests = k.body.map(asMapNest);
  const lengths = new Map<number, number>();
  for (const n of nests) for (const len of new Set(n?.levels.map((l) => l.n) ?? [])) lengths.set(len, (lengths.get(len) ?? 0) + 1);
  const shared = [...lengths].filter(([len, c]) => len > 1 && c > 1).sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0];
  if (shared === undefined) return k;
  const group = nests.filter((n): n is MapNest => n !== null && n.levels.some((l) => l.n === shared));
  // (Next to each other in the kernel: nothing else runs between them.)
  const places = group.map((n) => k.body.indexOf(n.block));
  if (places.some((x, j) => j > 0 && x !== places[j - 1]! + 1)) return k;
  const U = 'iu';
  const S = 'ik';
  const range = JSON.stringify(group[0]!.batch.to);
  const buf = (group[0]!.batch.body[group[0]!.batch.body.length - 1] as Extract<Stmt, { k: 'store' }>).buf;
  const outer: Stmt[] = [];
  const inner: Stmt[] = [];
  const byText = new Map<string, string>();
  const stores: Stmt[] = [];
  const rows: number[][] = Array.from({ length: shared }, () => []);
  let e = 0;
  for (const nest of group) {
    if (JSON.stringify(nest.batch.to) !== range) return k;
    // (Nothing reads what is stored: the lets can all come before the stores.)
    if (buffersLoaded(nest.block).has(buf)) return k;
    const at = nest.levels.findIndex((l) => l.n === shared);
    const others = nest.levels.filter((_, j) => j !== at);
    if (others.reduce((x, l) => x * l.n, 1) > MAX_UNROLLED) return k;
    // (No skips in these nests: every combination.)
    const combos = combinations(nest.levels, at);
    if (combos === null) return k;
    for (const env of combos) {
      const local = new Map<string, string>([[nest.batch.v, S]]);
      const sub = (x: Expr): Expr => rename(fold(x, env, nest.levels[at]!.v, U), local);
      const lets = (sts: readonly Stmt[]) => sts as readonly Extract<Stmt, { k: 'let' }>[];
      for (const l of nest.levels) for (const st of lets(l.pre)) share({ ...st, value: sub(st.value) }, local, outer, byText, `${e}`);
      for (const st of lets(nest.batch.body.slice(0, -1))) share({ ...st, value: sub(st.value) }, local, inner, byText, `${e}`);
      const store = nest.batch.body[nest.batch.body.length - 1] as Extract<Stmt, { k: 'store' }>;
      if (store.buf !== buf) return k;
      const index = sub(store.index);
      // index = R(u)·N + s: its rows, listed for every u.
      for (let u = 0; u < shared; u++) {
        const r = rowOf(fold(index, new Map([[U, u]]), '', ''), nest.batch.to, S);
        if (r === null) return k;
        rows[u]!.push(r);
      }
      stores.push({ ...store, index, value: sub(store.value) });
      e++;
    }
  }
  // (Across u as well: all rows of all u distinct.)
  const all = rows.flat();
  if (new Set(all).size !== all.length) return k;
  const first = k.body.indexOf(group[0]!.block);
  const fused: Stmt = {
    k: 'block',
    comment: `${group.length} element-wise nests in one pass over the batch, for each of ${shared}`,
    body: [{ k: 'for', kind: 'parallel', v: U, from: num(0), to: num(shared), body: [...outer, { k: 'for', kind: 'parallel', v: S, from: num(0), to: group[0]!.batch.to, body: [...inner, ...stores] }] }],
  };
  const rest = k.body.filter((st) => !group.some((n) => n.block === st));
  return { ...k, body: [...rest.slice(0, first), fused, ...rest.slice(first)] };
}

/** R when e = R·len + s (R an integer, s the variable named `s`), else null. */
function rowOf(e: Expr, len: Expr, s: string): number | null {
  // Terms of the sum: each c·len, or s alone.
  const terms: Expr[] = [];
  const flat = (x: Expr): void => {
    if (x.k === 'bin' && x.op === '+') {
      flat(x.a);
      flat(x.b);
    } else terms.push(x);
  };
  flat(e);
  let row = 0;
  let sSeen = 0;
  const lenText = JSON.stringify(len);
  for (const t of terms) {
    if (t.k === 'int' && t.name === s) {
      sSeen++;
      continue;
    }
    const f = productFactors(t);
    const lens = f.filter((x) => JSON.stringify(x) === lenText);
    const nums = f.filter((x) => x.k === 'num');
    if (lens.length !== 1 || lens.length + nums.length !== f.length) return null;
    row += nums.reduce((p, x) => p * (x as { v: number }).v, 1);
  }
  return sSeen === 1 ? row : null;
}

// ---- element-wise nests into the sums' pass -------------------------------------------------------
// A kernel's fused element-wise nests (`for u { lets; for s { lets; stores } }`, above) and a fused
// sums kernel (`for u { lets; Σ_s …; stores }`) with the same loop of u and the same range of s
// become one pass: the element-wise stores run in the sums' loop (reduceN's body), and the
// per-sample factors both read are loaded once (the 3-5-1 MLP: the Gram product's stacked sides and
// the curvature sums, both per hidden unit over the samples: 5% of its Hessian). The nests move
// from their kernel into the sums' kernel, later in the entry points' lists; the kernels between
// the two are reordered where nothing changes by it: those that must still follow the nests (the
// Gram product, which reads what they store) run after the merged kernel, the others (the errors
// that the sums read) before it.

type ReduceN = Extract<Stmt, { k: 'reduceN' }>;

/** A kernel's block of fused element-wise nests: for u < n { lets; for s { lets; stores } }. */
function mapBlockOf(k: Kernel): { block: Extract<Stmt, { k: 'block' }>; loop: For; batch: For } | null {
  for (const block of k.body) {
    if (block.k !== 'block' || block.pair || block.body.length !== 1) continue;
    const loop = block.body[0]!;
    if (loop.k !== 'for' || loop.kind !== 'parallel' || loop.to.k !== 'num' || JSON.stringify(loop.from) !== JSON.stringify(num(0))) continue;
    const batch = loop.body[loop.body.length - 1];
    if (!batch || batch.k !== 'for' || batch.kind !== 'parallel' || !loop.body.slice(0, -1).every((x) => x.k === 'let')) continue;
    if (!batch.body.every((x) => x.k === 'let' || (x.k === 'store' && !x.accumulate)) || !batch.body.some((x) => x.k === 'store')) continue;
    return { block, loop, batch };
  }
  return null;
}

/** A fused sums kernel's loop of u (lets, one reduceN, stores) and its reduceN. */
function sumsLoopOf(k: Kernel): { block: Extract<Stmt, { k: 'block' }>; loop: For; reduce: ReduceN } | null {
  const block = k.body.length === 1 ? k.body[0]! : null;
  if (block?.k !== 'block') return null;
  const loop = block.body[block.body.length - 1];
  if (!loop || loop.k !== 'for' || loop.kind !== 'parallel' || loop.to.k !== 'num') return null;
  const reduces = loop.body.filter((x): x is ReduceN => x.k === 'reduceN');
  if (reduces.length !== 1 || reduces[0]!.body) return null;
  return { block, loop, reduce: reduces[0]! };
}

/** What statements read and store; `added`: the buffers they only add into (additions commute). */
interface Io {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
  readonly added: ReadonlySet<string>;
}

function ioOf(body: readonly Stmt[]): Io {
  const reads = buffersLoaded(body);
  const writes = new Set<string>();
  const assigned = new Set<string>();
  const walk = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      if (st.k === 'store' || st.k === 'storeSym' || st.k === 'fill') {
        writes.add(st.buf);
        if (st.k === 'fill' || (st.k === 'store' && !st.accumulate)) assigned.add(st.buf);
      } else if (st.k === 'denseBlock') {
        writes.add(st.out.buf);
        assigned.add(st.out.buf);
      } else if (st.k === 'for' || st.k === 'block') walk(st.body);
      else if (st.k === 'forStep') walk([...st.body, ...st.rest]);
      else if (st.k === 'reduceN' && st.body) walk(st.body);
    }
  };
  walk(body);
  return { reads, writes, added: new Set([...writes].filter((b) => !assigned.has(b))) };
}

/** Whether a and b can run in either order with the same results (up to the order of additions). */
function commute(a: Io, b: Io): boolean {
  const meet = (x: ReadonlySet<string>, y: ReadonlySet<string>) => [...x].filter((v) => y.has(v));
  return meet(a.writes, b.reads).length === 0 && meet(a.reads, b.writes).length === 0 && meet(a.writes, b.writes).every((v) => a.added.has(v) && b.added.has(v));
}

function mapsIntoSums(input: Program): Program {
  let p = input;
  for (;;) {
    const next = mergeOne(p);
    if (next === null) return p;
    p = next;
  }
}

/** The program with one kernel's element-wise nests moved into a sums kernel, or null when none can be. */
function mergeOne(p: Program): Program | null {
  const lists = Object.values(p.entries).flatMap((s) => [s.pre, s.stream, s.post]);
  const io = new Map(p.kernels.map((k) => [k.id, ioOf(k.body)]));
  for (const S of p.kernels) {
    const sums = sumsLoopOf(S);
    if (!sums) continue;
    for (const M of p.kernels) {
      const maps = M === S ? null : mapBlockOf(M);
      if (!maps || maps.loop.to.k !== 'num' || sums.loop.to.k !== 'num' || maps.loop.to.v !== sums.loop.to.v) continue;
      if (JSON.stringify([maps.batch.from, maps.batch.to]) !== JSON.stringify([sums.reduce.from, sums.reduce.to])) continue;
      const mIo = ioOf([maps.block]);
      const sIo = io.get(S.id)!;
      // (The sums read nothing the nests store, nor they anything the sums do.)
      if (!commute(mIo, sIo)) continue;
      const order = new Map<readonly KernelId[], KernelId[]>();
      let ok = true;
      for (const l of lists) {
        const i = l.indexOf(M.id);
        const j = l.indexOf(S.id);
        if (i < 0 && j < 0) continue;
        if (i < 0 || j < 0 || i > j) {
          ok = false;
          break;
        }
        const between = l.slice(i + 1, j);
        const after = between.filter((id) => !commute(io.get(id)!, mIo));
        const stay = between.filter((id) => !after.includes(id));
        // Those after the merged kernel pass the sums, and the kernels that stay behind them.
        ok &&= after.every((id) => commute(io.get(id)!, sIo) && between.slice(between.indexOf(id) + 1).every((o) => after.includes(o) || commute(io.get(id)!, io.get(o)!)));
        order.set(l, [...l.slice(0, i + 1), ...stay, S.id, ...after, ...l.slice(j + 1)]);
      }
      if (!ok || order.size === 0) continue;
      // The nests' locals renamed apart from the sums kernel's; their loops become the sums' loops.
      const taken = namesIn(S.body);
      const letNames = [...maps.loop.body, ...maps.batch.body].flatMap((st) => (st.k === 'let' ? [st.name] : []));
      if (letNames.some((n) => taken.has(`${n}_m`))) continue;
      const ren = new Map<string, string>([[maps.loop.v, sums.loop.v], [maps.batch.v, sums.reduce.v], ...letNames.map((n): [string, string] => [n, `${n}_m`])]);
      // A load the sums make too is written with the sums' very index (the emitter then loads it
      // once for both): indices compared as polynomials, integer lets substituted.
      const lets = new Map<string, Expr>();
      const movedLets = [...maps.loop.body, ...maps.batch.body].map((st) => (st.k === 'let' ? { ...st, name: ren.get(st.name)!, value: rename(st.value, ren) } : null));
      for (const st of [...sums.block.body, ...sums.loop.body, ...movedLets]) if (st?.k === 'let' && st.int) lets.set(st.name, st.value);
      const sumsLoads = new Map<string, Expr>();
      const keyOf = (l: Extract<Expr, { k: 'load' }>) => {
        const poly = polynomial(l.index, lets);
        return poly === null ? null : `${l.buf}|${polyText(poly)}`;
      };
      sums.reduce.values.forEach((v) => loadsIn(v, (l) => {
        const key = keyOf(l);
        if (key !== null && !sumsLoads.has(key)) sumsLoads.set(key, l.index);
      }));
      const same = (e: Expr): Expr => mapLoads(rename(e, ren), (l) => {
        const key = keyOf(l);
        const index = key === null ? undefined : sumsLoads.get(key);
        return index === undefined ? l : { ...l, index };
      });
      const moved = (st: Stmt): Stmt =>
        st.k === 'let' ? { ...st, name: ren.get(st.name)!, value: same(st.value) } : st.k === 'store' ? { ...st, index: same(st.index), value: same(st.value) } : st;
      const loop: For = {
        ...sums.loop,
        body: sums.loop.body.flatMap((st) =>
          st === sums.reduce ? [...maps.loop.body.slice(0, -1).map(moved), { ...sums.reduce, body: maps.batch.body.map(moved) }] : [st],
        ),
      };
      const writes = [...S.writes, ...M.writes.filter((w) => mIo.writes.has(w.buf) && !S.writes.some((x) => x.buf === w.buf && x.block === w.block))];
      const merged: Kernel = {
        ...S,
        comment: `${S.comment}; and ${M.name}'s ${maps.block.comment ?? 'element-wise nests'}`,
        writes,
        body: [{ ...sums.block, body: [...sums.block.body.slice(0, -1), loop] }],
      };
      const rest = M.body.filter((st) => st !== maps.block);
      const restIo = ioOf(rest);
      const kernels = p.kernels.map((k) => (k === S ? merged : k === M ? { ...M, body: rest, writes: M.writes.filter((w) => restIo.writes.has(w.buf)) } : k));
      const entries = Object.fromEntries(
        Object.entries(p.entries).map(([e, sch]): [string, Schedule] => [e, { ...sch, pre: order.get(sch.pre) ?? sch.pre, stream: order.get(sch.stream) ?? sch.stream, post: order.get(sch.post) ?? sch.post }]),
      ) as unknown as Program['entries'];
      return withoutKernels({ ...p, entries }, kernels, new Set(rest.length === 0 ? [M.id] : []));
    }
  }
  return null;
}

/**
 * An index as a polynomial in its atoms (loop variables, sizes, chunk extents and offsets), the
 * integer lets in `lets` substituted; null when it is anything else.
 */
function polynomial(e: Expr, lets: ReadonlyMap<string, Expr>): Poly | null {
  const atom = (key: string): Poly => new Map([[key, 1]]);
  switch (e.k) {
    case 'num': return polyConst(e.v);
    case 'int': {
      const v = lets.get(e.name);
      return v === undefined ? atom(`i:${e.name}`) : polynomial(v, lets);
    }
    case 'dim': return atom(`d:${e.name}:${e.role ?? ''}`);
    case 'extent': return atom(`e:${e.name}`);
    case 'offset': return atom(`o:${e.name}`);
    case 'bin': {
      const a = polynomial(e.a, lets);
      const b = polynomial(e.b, lets);
      if (a === null || b === null) return null;
      return e.op === '*' ? polyMul(a, b) : polyAdd(a, b, e.op === '-' ? -1 : 1);
    }
    default: return null;
  }
}
