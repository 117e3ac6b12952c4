// The Gram product of a small model's Hessian (CPU). When 4-simplify/gram-split.ts finds that the
// Gauss–Newton terms of every Hessian block are coef · Σ_n w · U_P[p, n] · U_Q[q, n], with one side
// U_P per parameter, they are all one product over the whole of θ:
//   H[r, c] += coef · Σ_n U[r, n] · V[c, n],   U = the sides stacked in θ order, V = U · diag(w),
// one workspace [n, batch] (V only when w depends on the sample) filled by one kernel, and one
// term whose loops the CPU's dense-blocks pass turns into a single call of the dense kernels. The
// other terms (the curvature: δ's, other sums) stay in their blocks. On the 3-5-1 MLP this takes
// the place of ten loop nests (one per block) over the samples and the kernels packing their sides.
//
// Only for models with at most GRAM_MAX_N parameters: a large model's blocks are large products
// already, and its diagonal blocks may be pair-symmetric, which halves their work and which one
// product over θ would give up.

import type { Factor, Formula, ParamNode, Range, Term, TNode, Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';
import { gramSplit } from '../4-simplify/gram-split.ts';
import { bufName, extentExpr, stridesOf } from './indexing.ts';
import type { Target } from './loop-nest.ts';
import { mul, num } from './loops.ts';

/** Largest θ whose product terms go through one Gram product. */
export const GRAM_MAX_N = 256;

export interface GramPlan {
  /** The stacked sides [n, batch]; `v` the weighted ones, or the same node when the weight has no sample index. */
  readonly u: TNode;
  readonly v: TNode;
  /** Terms that fill u and v, row range by row range, each with where it lands. */
  readonly fill: readonly { readonly buf: TNode; readonly term: Term; readonly target: Target }[];
  /** The product term, over the whole n × n Hessian (upper triangle, mirrored). */
  readonly product: Formula;
  readonly productTarget: Target;
  /** The Hessian blocks without their product terms. */
  readonly rest: readonly (readonly Formula[])[];
}

export function planGram(params: readonly ParamNode[], offsets: readonly number[], n: number, hessians: readonly (readonly Formula[])[], symbolicDims: readonly string[], nodes: NodeTable): GramPlan | null {
  if (n > GRAM_MAX_N || symbolicDims.length !== 1) return null;
  const split = gramSplit(params.map((p) => p.shape.length), hessians);
  if (!split || split.batchDim !== symbolicDims[0] || split.sides.some((s) => s === null)) return null;
  const B = split.batchDim;
  // Every side over its parameter's whole axes.
  const whole = (r: Range | undefined, hi: number) => r !== undefined && r.lo === 0 && r.hi === hi;
  if (!split.sides.every((s, k) => s!.vars.every((v, a) => whole(s!.ranges.get(v), params[k]!.shape[a]!)))) return null;

  const { weight } = split;
  const perSample = weight.factors.filter((f) => f.idx.some((a) => a.v !== null));
  const scalars = weight.factors.filter((f) => f.idx.every((a) => a.v === null));
  const u = nodes.workspace('gram_u', [n, B]);
  const v = perSample.length > 0 ? nodes.workspace('gram_v', [n, B]) : u;

  const extent = extentExpr(B);
  const fill: { buf: TNode; term: Term; target: Target }[] = [];
  split.sides.forEach((side, k) => {
    const s = side!;
    const target = (buf: TNode): Target => ({
      buf: bufName(buf),
      base: offsets[k] === 0 ? num(0) : mul(num(offsets[k]!), extent),
      strides: [...stridesOf(params[k]!.shape).map((st) => mul(st, extent)), num(1)],
    });
    const term = (factors: readonly Factor[]): Term => ({ coef: 1, factors, sums: [], out: [...s.vars, s.batch].map((x) => ({ v: x, c: 0 })), ranges: s.ranges });
    fill.push({ buf: u, term: term(s.factors), target: target(u) });
    if (v !== u) {
      // The weight's sample index is this side's.
      const w = perSample.map((f) => ({ node: f.node, idx: f.idx.map((a) => (a.v === weight.batch ? { v: s.batch, c: a.c } : a)) }));
      fill.push({ buf: v, term: term([...s.factors, ...w]), target: target(v) });
    }
  });

  const [r, c, k] = [0, 1, 2] as Var[];
  const product: Formula = {
    shape: [n, n],
    terms: [
      {
        coef: weight.coef,
        factors: [...scalars, { node: u, idx: [{ v: r, c: 0 }, { v: k, c: 0 }] }, { node: v, idx: [{ v: c, c: 0 }, { v: k, c: 0 }] }],
        sums: [k],
        out: [{ v: r, c: 0 }, { v: c, c: 0 }],
        ranges: new Map<Var, Range>([[r, { lo: 0, hi: n }], [c, { lo: 0, hi: n }], [k, { lo: 0, hi: B }]]),
      },
    ],
  };
  const productTarget: Target = {
    buf: 'hessian', base: num(0), strides: [num(n), num(1)], rowRank: 1, upperOnly: true,
    mirror: { base: num(0), strides: [num(1), num(n)], distinct: false },
  };
  return { u, v, fill, product, productTarget, rest: split.rest };
}
