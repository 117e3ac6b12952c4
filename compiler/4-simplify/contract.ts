// Simplification of each term before it becomes loops: common subexpressions are factored out
// into shared, hash-consed intermediate tensors.
//  - contract: a summed index whose factors do not involve every loop of the term is contracted
//    first into an intermediate (cheapest first, as a contraction-order search would); this is
//    what turns forward-mode formulas into backpropagation-like sharing, and what makes
//    Σ_o W[b,o] W[d,o] one small matrix instead of a loop inside every Hessian entry;
//  - packSides: in a Hessian term with a batch sum, the factors that depend only on the row (P)
//    indices and those that depend only on the column (Q) indices become two intermediates with
//    the batch index innermost, so each entry is a dot product of two contiguous rows (and a
//    diagonal block's two sides are the same tensor).

import { aff, type Range, type Term, type Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';

const SYMBOLIC_GUESS = 1000; // planning size of a run-time dimension

function extent(r: Range): number {
  return typeof r.hi === 'number' ? r.hi - r.lo : SYMBOLIC_GUESS;
}

/** Contracts summed indices that do not span every loop of the term into intermediates. */
export function contract(t0: Term, nodes: NodeTable): Term {
  let t = t0;
  // Σ over an index that no factor uses is a count: its extent, or the rows of the run-time
  // dimension that the call holds as a factor (a loop that adds 1 N times would make Σ_i Σ_j Σ_k c
  // cost N³ instead of nothing; a shard holds some of the rows, see 2-ir/shards.ts).
  for (const x of t.sums) {
    const r = t.ranges.get(x)!;
    if (t.factors.every((f) => !f.idx.some((a) => a.v === x))) {
      const ranges = new Map(t.ranges);
      ranges.delete(x);
      const sums = t.sums.filter((s) => s !== x);
      t = typeof r.hi === 'number'
        ? { ...t, coef: t.coef * (r.hi - r.lo), sums, ranges }
        : { ...t, factors: [...t.factors, { node: nodes.dim(r.hi, 'rows'), idx: [] }], sums, ranges };
    }
  }
  for (;;) {
    const all = [...t.ranges.keys()];
    let best: { x: Var; cost: number; fs: number[]; vars: Var[] } | null = null;
    for (const x of t.sums) {
      const fs = t.factors.map((f, k) => (f.idx.some((a) => a.v === x) ? k : -1)).filter((k) => k >= 0);
      if (fs.length === 0) continue;
      const vs = new Set<Var>();
      for (const k of fs) for (const a of t.factors[k]!.idx) if (a.v !== null) vs.add(a.v);
      if (all.every((v) => vs.has(v))) continue; // this is the final loop nest itself
      let cost = 1;
      for (const v of vs) cost *= extent(t.ranges.get(v)!);
      if (!best || cost < best.cost) {
        vs.delete(x);
        best = { x, cost, fs, vars: orderVars([...vs], t) };
      }
    }
    if (!best) return t;
    const { x, fs, vars } = best;
    const ranges = new Map<Var, Range>();
    for (const v of [...vars, x]) ranges.set(v, t.ranges.get(v)!);
    const shape = vars.map((v) => t.ranges.get(v)!.hi);
    const inter = nodes.poly({
      shape,
      terms: [{ coef: 1, factors: fs.map((k) => t.factors[k]!), sums: [x], out: vars.map(aff), ranges }],
    });
    const rest = new Map(t.ranges);
    rest.delete(x);
    t = {
      ...t,
      factors: [...t.factors.filter((_, k) => !fs.includes(k)), { node: inter, idx: vars.map(aff) }],
      sums: t.sums.filter((s) => s !== x),
      ranges: rest,
    };
  }
}

/** Loop order: variables in the order of the output coordinates, then the others, sums last. */
export function orderVars(vs: Var[], t: Term): Var[] {
  const pos = (v: Var) => {
    const p = t.out.findIndex((o) => o.v === v);
    if (p >= 0) return p;
    const s = t.sums.indexOf(v);
    return s >= 0 ? 1000 + s : 500;
  };
  return [...vs].sort((a, b) => pos(a) - pos(b) || a - b);
}

/** Packs the row-only and column-only batch-dependent factors of a Hessian term into intermediates. */
export function packSides(t: Term, rowRank: number, nodes: NodeTable): Term {
  if (t.sums.length !== 1) return t;
  const s = t.sums[0]!;
  const rowVars = new Set<Var>();
  const colVars = new Set<Var>();
  t.out.forEach((o, k) => {
    if (o.v !== null) (k < rowRank ? rowVars : colVars).add(o.v);
  });
  const groups: number[][] = [[], []];
  const others: number[] = [];
  t.factors.forEach((f, k) => {
    const vs = f.idx.map((a) => a.v).filter((v): v is Var => v !== null);
    if (!vs.includes(s)) return others.push(k);
    const loopVs = vs.filter((v) => v !== s);
    if (loopVs.every((v) => rowVars.has(v))) groups[0]!.push(k);
    else if (loopVs.every((v) => colVars.has(v))) groups[1]!.push(k);
    else others.push(k);
  });
  let factors = others.map((k) => t.factors[k]!);
  for (const g of groups) {
    if (g.length === 0) continue;
    const fs = g.map((k) => t.factors[k]!);
    const vs = new Set<Var>();
    for (const f of fs) for (const a of f.idx) if (a.v !== null && a.v !== s) vs.add(a.v);
    const vars = [...orderVars([...vs], t), s];
    const single = fs.length === 1 ? fs[0]! : null;
    // A single factor already laid out with s innermost and contiguous needs no copy.
    if (single && single.idx.length > 0 && single.idx[single.idx.length - 1]!.v === s && single.idx.slice(0, -1).every((a) => a.v !== s)) {
      factors.push(single);
      continue;
    }
    const ranges = new Map<Var, Range>();
    for (const v of vars) ranges.set(v, t.ranges.get(v)!);
    const inter = nodes.poly({ shape: vars.map((v) => t.ranges.get(v)!.hi), terms: [{ coef: 1, factors: fs, sums: [], out: vars.map(aff), ranges }] });
    factors.push({ node: inter, idx: vars.map(aff) });
  }
  return { ...t, factors };
}
