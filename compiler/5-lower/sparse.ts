// The kernels of hessianSparse on the CPU, where the model has no run-time dims (its stores and
// their order are then fixed). Its cost is passes over memory, not arithmetic: every pass over
// a workspace or over the values costs about as much as a hand-written loop filling the values
// once. Two rewrites of the Hessian entry's kernels cut passes:
//  - workspaces written element-wise by one single loop (`t[i] = f(x[i], …)`) and read by the
//    Hessian's band and δ loops (one loop deep) are computed where they are read, so their
//    kernels, and their passes, drop out of the sparse entry point;
//  - a kernel's one-loop nests over the same variable (the terms of a band, each over its own
//    range) run as one loop, range by range, so each entry is visited once per range.
// Dense blocks (nests deeper than one loop, or with sums) are left as they are.

import { type Expr, type Kernel, type KernelId, type Program, type Stmt } from './loops.ts';

export interface SparseEntry {
  /** The kernels the sparse entry runs, in order: rewritten where they write the Hessian. */
  readonly kernels: readonly Kernel[];
}

type For = Extract<Stmt, { k: 'for' }>;

/** The sparse entry point of a program without run-time dims (its Hessian schedule, rewritten). */
export function sparseEntry(p: Program): SparseEntry {
  const sch = p.entries.hessian;
  const ids: KernelId[] = [...new Set([...sch.pre, ...sch.stream, ...sch.post])];
  const writesH = (k: Kernel) => k.writes.some((w) => w.buf === 'hessian');
  // Element-wise producers: the one kernel writing a temp, as t[v] = expr(v).
  const writers = new Map<string, Kernel[]>();
  for (const k of p.kernels) for (const w of k.writes) writers.set(w.buf, [...(writers.get(w.buf) ?? []), k]);
  const inline = new Map<string, { v: string; value: Expr; extent: number }>();
  for (const id of ids) {
    const k = p.kernels[id]!;
    const e = elementwise(k);
    if (e && writers.get(e.buf)?.length === 1 && p.buffers.find((b) => b.name === e.buf)?.kind === 'temp') inline.set(e.buf, e);
  }
  const rewritten = new Map<KernelId, Kernel>();
  for (const id of ids) {
    const k = p.kernels[id]!;
    if (!writesH(k)) continue;
    const body = fuseBands(k.body.map((st) => inlineStmt(st, inline, 0)));
    rewritten.set(id, { ...k, body });
  }
  // Keep the kernels whose temps are still read (by what is kept), in schedule order.
  const needed = new Set<string>();
  const reads = (sts: readonly Stmt[]) => forEachLoad(sts, (buf) => needed.add(buf));
  const keep = new Set<KernelId>();
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i]!;
    const k = rewritten.get(id) ?? p.kernels[id]!;
    const onlyTemps = k.writes.every((w) => p.buffers.find((b) => b.name === w.buf)?.kind === 'temp');
    if (!writesH(k) && onlyTemps && !k.writes.some((w) => needed.has(w.buf))) continue;
    keep.add(id);
    reads(k.body);
  }
  return { kernels: ids.filter((id) => keep.has(id)).map((id) => rewritten.get(id) ?? p.kernels[id]!) };
}

/** A kernel that is one loop `for v in [0, N)` of lets then `t[v] = value`: t and value with the lets substituted. */
function elementwise(k: Kernel): { buf: string; v: string; value: Expr; extent: number } | null {
  let body: readonly Stmt[] = k.body;
  while (body.length === 1 && body[0]!.k === 'block') body = body[0]!.body;
  if (body.length !== 1 || body[0]!.k !== 'for') return null;
  const loop = body[0]!;
  if (loop.from.k !== 'num' || loop.from.v !== 0 || loop.to.k !== 'num') return null;
  const lets = new Map<string, Expr>();
  const sts = loop.body;
  for (let i = 0; i < sts.length; i++) {
    const st = sts[i]!;
    if (st.k === 'let') lets.set(st.name, substitute(st.value, lets));
    else if (st.k === 'store' && i === sts.length - 1 && !st.accumulate && st.index.k === 'int' && st.index.name === loop.v) {
      return { buf: st.buf, v: loop.v, value: substitute(st.value, lets), extent: loop.to.v };
    } else return null;
  }
  return null;
}

/** e with names replaced (loop variables and locals alike). */
function substitute(e: Expr, env: ReadonlyMap<string, Expr>): Expr {
  switch (e.k) {
    case 'int': case 'local': return env.get(e.name) ?? e;
    case 'load': return { ...e, index: substitute(e.index, env) };
    case 'bin': case 'max': return { ...e, a: substitute(e.a, env), b: substitute(e.b, env) };
    case 'call': return { ...e, arg: substitute(e.arg, env) };
    default: return e;
  }
}

/** Loads of inlinable temps replaced by their values, in statements at most one loop deep (not in sums). */
function inlineStmt(st: Stmt, inline: ReadonlyMap<string, { v: string; value: Expr }>, depth: number): Stmt {
  const ex = (e: Expr): Expr => (depth <= 1 ? inlineExpr(e, inline) : e);
  switch (st.k) {
    case 'for': return { ...st, from: ex(st.from), to: ex(st.to), body: st.body.map((x) => inlineStmt(x, inline, depth + 1)) };
    case 'forStep': return { ...st, body: st.body.map((x) => inlineStmt(x, inline, depth + 1)), rest: st.rest.map((x) => inlineStmt(x, inline, depth + 1)) };
    case 'block': return { ...st, body: st.body.map((x) => inlineStmt(x, inline, depth)) };
    case 'let': return { ...st, value: ex(st.value) };
    case 'store': return { ...st, index: ex(st.index), value: ex(st.value) };
    case 'storeSym': return { ...st, index: ex(st.index), mirror: ex(st.mirror), value: ex(st.value) };
    default: return st;
  }
}

function inlineExpr(e: Expr, inline: ReadonlyMap<string, { v: string; value: Expr }>): Expr {
  switch (e.k) {
    case 'load': {
      const index = inlineExpr(e.index, inline);
      const def = inline.get(e.buf);
      // (The value may read other inlinable temps: inlined in turn.)
      return def ? inlineExpr(substitute(def.value, new Map([[def.v, index]])), inline) : { ...e, index };
    }
    case 'bin': case 'max': return { ...e, a: inlineExpr(e.a, inline), b: inlineExpr(e.b, inline) };
    case 'call': return { ...e, arg: inlineExpr(e.arg, inline) };
    default: return e;
  }
}

/** A block that is one loop over fixed bounds whose body has no inner loops or sums. */
function bandLoop(st: Stmt): { loop: For; comment: string | undefined } | null {
  if (st.k !== 'block' || st.body.length !== 1) return null;
  const loop = st.body[0]!;
  if (loop.k !== 'for' || loop.from.k !== 'num' || loop.to.k !== 'num') return null;
  const flat = (sts: readonly Stmt[]): boolean => sts.every((x) => x.k === 'let' || x.k === 'store' || x.k === 'storeSym' || (x.k === 'block' && flat(x.body)));
  return flat(loop.body) ? { loop, comment: st.comment } : null;
}

/**
 * Runs of neighbouring band loops over the same variable become one loop per range where the
 * same loops are active (each body in its own scope, in the original order within an iteration).
 */
function fuseBands(body: readonly Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (let i = 0; i < body.length; ) {
    const first = bandLoop(body[i]!);
    let j = i + 1;
    if (first) while (j < body.length && bandLoop(body[j]!)?.loop.v === first.loop.v) j++;
    if (!first || j - i < 2) {
      out.push(body[i]!);
      i++;
      continue;
    }
    const group = body.slice(i, j).map((st) => bandLoop(st)!);
    const bound = (e: Expr) => (e as { v: number }).v;
    const cuts = [...new Set(group.flatMap((g) => [bound(g.loop.from), bound(g.loop.to)]))].sort((a, b) => a - b);
    const comment = group.map((g) => g.comment).filter((c) => c !== undefined).join('\n');
    const ranges: Stmt[] = [];
    for (let c = 0; c + 1 < cuts.length; c++) {
      const [a, b] = [cuts[c]!, cuts[c + 1]!];
      const live = group.filter((g) => bound(g.loop.from) <= a && b <= bound(g.loop.to));
      if (live.length === 0 || b <= a) continue;
      ranges.push({ k: 'for', kind: 'parallel', v: first.loop.v, from: { k: 'num', v: a }, to: { k: 'num', v: b }, body: live.map((g) => ({ k: 'block', body: g.loop.body })) });
    }
    out.push({ k: 'block', body: ranges, comment: `${comment}\n(one loop per range of ${first.loop.v} where the same terms apply)` });
    i = j;
  }
  return out;
}

/** Every buffer a statement list loads from. */
function forEachLoad(sts: readonly Stmt[], f: (buf: string) => void): void {
  const ex = (e: Expr): void => {
    if (e.k === 'load') {
      f(e.buf);
      ex(e.index);
    } else if (e.k === 'bin' || e.k === 'max') {
      ex(e.a);
      ex(e.b);
    } else if (e.k === 'call') ex(e.arg);
  };
  for (const st of sts) {
    for (const [key, v] of Object.entries(st)) {
      if (key === 'body' || key === 'rest') forEachLoad(v as Stmt[], f);
      // (A dense block's loops are what the sparse entry runs: see 6-emit/typescript.ts.)
      else if (key === 'loops') forEachLoad([v as Stmt], f);
      else if (key === 'values') (v as Expr[]).forEach(ex);
      else if (v && typeof v === 'object' && 'k' in v) ex(v as Expr);
    }
  }
}
