// Pair symmetry of a diagonal Hessian block. A term of the block of a matrix parameter P[m, m′]
//   H[a, b, c, d] += coef · Σ_s A(s, a)·B(s, b)·A(s, c)·B(s, d) · w(s) · G(b, d) · K(a, c)
// (the form of every layer weight's own block: A the layer's inputs, B what flows back to its
// outputs) has a batch sum T[(a, c), (b, d)] that is unchanged when a and c trade places, and
// when b and d do. With the Hessian's own symmetry, an entry stands for up to four: only a ≤ c,
// b ≤ d is summed, about a quarter of the entries, half of what the upper triangle alone costs.
// This file recognizes the form and packs its parts into intermediates laid out for the loops
// (../5-lower/pair-nest.ts) and the CPU kernels: A[a, s] and B[b, s] with s innermost, the
// batch-only factors w[s], and the factors without the batch G[b, d] and K[a, c], which are
// evaluated at each entry's own indices (they need not be symmetric). A term with d = b
//   H[a, b, c, b] += coef · Σ_s A(s, a)·A(s, c)·E(s, b) · w(s) · G(b) · K(a, c)
// (the δ terms of the same blocks) has the row pairs alone: T[(a, c), b], half the upper triangle.

import { aff, type Factor, type Range, type Term, type Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';

export interface PairTerm {
  readonly coef: number;
  /** The summed (batch) variable and the block's four output variables, in output order. */
  readonly s: Var;
  readonly a: Var;
  readonly b: Var;
  readonly c: Var;
  readonly d: Var;
  /** d is b (the term has a δ between the column indices): B[b, s] enters once, G is G[b, b]. */
  readonly diagonal: boolean;
  readonly ranges: ReadonlyMap<Var, Range>;
  /** A[a, s], B[b, s]: the row parameter's two sides (the column's are the same with c, d). */
  readonly A: Factor;
  readonly B: Factor;
  /** w[s], or null. */
  readonly w: Factor | null;
  /** G[b, d] (G[b] when diagonal) and K[a, c], or null. */
  readonly G: Factor | null;
  readonly K: Factor | null;
  /** Factors without indices (a mean's 1/N, scalar intermediates). */
  readonly scalars: readonly Factor[];
}

type Side = 'a' | 'b' | 'c' | 'd';

/**
 * The term in pair form, or null when it is not one. `rowRank`: the coordinates of the row
 * parameter (the form needs a matrix parameter: 2).
 */
export function pairTerm(t: Term, rowRank: number, nodes: NodeTable): PairTerm | null {
  if (rowRank !== 2 || t.out.length !== 4 || t.sums.length !== 1) return null;
  if (t.out.some((o) => o.v === null || o.c !== 0)) return null;
  const [a, b, c, d] = t.out.map((o) => o.v!) as [Var, Var, Var, Var];
  // H[a, b, c, b] (a δ between the columns): pairs of rows only.
  const diagonal = b === d && new Set([a, b, c]).size === 3;
  if (!diagonal && new Set([a, b, c, d]).size !== 4) return null;
  const s = t.sums[0]!;
  const same = (x: Var, y: Var) => {
    const rx = t.ranges.get(x)!;
    const ry = t.ranges.get(y)!;
    return rx.lo === 0 && ry.lo === 0 && rx.hi === ry.hi && typeof rx.hi === 'number';
  };
  if (!same(a, c) || !same(b, d)) return null;
  if (t.ranges.get(s)!.lo !== 0) return null;

  const side: Record<Side, Factor[]> = { a: [], b: [], c: [], d: [] };
  const w: Factor[] = [];
  const G: Factor[] = [];
  const K: Factor[] = [];
  const scalars: Factor[] = [];
  const name: Record<Var, Side> = diagonal ? { [a]: 'a', [b]: 'b', [c]: 'c' } : { [a]: 'a', [b]: 'b', [c]: 'c', [d]: 'd' };
  for (const f of t.factors) {
    const vs = new Set(f.idx.map((x) => x.v).filter((v): v is Var => v !== null));
    const withS = vs.delete(s);
    const outs = [...vs];
    if (outs.some((v) => name[v] === undefined)) return null;
    const sides = new Set(outs.map((v) => name[v]!));
    if (withS) {
      if (sides.size === 0) w.push(f);
      else if (sides.size === 1) side[[...sides][0]!].push(f);
      else return null;
    } else if (sides.size === 0) scalars.push(f);
    else if ([...sides].every((x) => x === 'b' || x === 'd')) G.push(f);
    else if ([...sides].every((x) => x === 'a' || x === 'c')) K.push(f);
    else return null;
  }
  if (side.a.length === 0 || side.b.length === 0) return null;
  // The column side must be the row side with a, b renamed to c, d: then T is symmetric.
  if (!sameFactors(side.a, side.c, a, c) || (!diagonal && !sameFactors(side.b, side.d, b, d))) return null;

  const ranges = t.ranges;
  const packed = (fs: readonly Factor[], vars: readonly Var[]): Factor => {
    // A single factor already indexed by exactly these variables in this order needs no copy.
    const single = fs.length === 1 ? fs[0]! : null;
    if (single && single.idx.length === vars.length && single.idx.every((x, k) => x.v === vars[k] && x.c === 0)) return single;
    const rs = new Map<Var, Range>(vars.map((v) => [v, ranges.get(v)!]));
    const node = nodes.poly({ shape: vars.map((v) => ranges.get(v)!.hi), terms: [{ coef: 1, factors: fs, sums: [], out: vars.map(aff), ranges: rs }] });
    return { node, idx: vars.map(aff) };
  };
  return {
    coef: t.coef, s, a, b, c, d, diagonal, ranges,
    A: packed(side.a, [a, s]),
    B: packed(side.b, [b, s]),
    w: w.length > 0 ? packed(w, [s]) : null,
    G: G.length > 0 ? packed(G, diagonal ? [b] : [b, d]) : null,
    K: K.length > 0 ? packed(K, [a, c]) : null,
    scalars,
  };
}

/** Whether `ys` is `xs` with variable x renamed to y (the same nodes, the same index patterns). */
function sameFactors(xs: readonly Factor[], ys: readonly Factor[], x: Var, y: Var): boolean {
  if (xs.length !== ys.length) return false;
  const key = (f: Factor, from: Var | null) =>
    `${f.node.id}[${f.idx.map((i) => (i.v === null ? `${i.c}` : `${i.v === from ? 'X' : i.v}+${i.c}`)).join(',')}]`;
  const left = xs.map((f) => key(f, x)).sort();
  const right = ys.map((f) => key(f, y)).sort();
  return left.every((k, i) => k === right[i]);
}
