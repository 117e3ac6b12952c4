// The generalized Gauss-Newton matrix in closed form. The objective is split at the model's
// outputs (`output NAME = …`): L(θ) = ℓ(o₁(θ), …, o_K(θ), θ), where ℓ is the objective with
// every use of an output's value replaced by a variable O_a (2-ir/to-index-form.ts). Then
//
//   GGN = [J; I]ᵀ ∇²ℓ [J; I],   J_a = ∂o_a/∂θ,
//
// the Hessian of ℓ at the outputs' linearizations: the exact Hessian without the outputs' own
// second derivatives ∂²o_a/∂θ². Per block (P, Q), with ℓ's second derivatives taken with O and
// θ independent:
//
//   G[P,Q] = Σ_ab J_aPᵀ·ℓ_ab·J_bQ + Σ_a J_aPᵀ·ℓ_aQ + Σ_b ℓ_Pb·J_bQ + ℓ_PQ
//
// Each product is a substitution of J's formula into the terms of ℓ's block (the contracted
// output indices become summed), so δ's in J (a bias, a linear last layer) stay index
// equalities and the contraction planner factors the sums as it does for the Hessian. Terms
// of the objective that do not pass through an output (a weight decay) are in ℓ_PQ exactly.
// Finally each placeholder O_a is replaced by the output's value.

import { aff, freshVar, fullRange, substitute, type Affine, type Formula, type Range, type TNode, type Term, type Var } from '../2-ir/index-form.ts';
import { simplifyFormula, type NodeTable } from '../2-ir/nodes.ts';
import type { OutputSplit } from '../2-ir/to-index-form.ts';
import type { Differentiator } from './derivative.ts';

/**
 * The GGN blocks G[i][j] for i ≤ j (empty below the diagonal, like the Hessian's), over the
 * model's parameters, from the split objective ℓ and its outputs.
 */
export function gaussNewtonBlocks(diff: Differentiator, nodes: NodeTable, params: readonly TNode[], ell: Formula, outputs: readonly OutputSplit[]): Formula[][] {
  const O = outputs.map((o) => o.placeholder);
  // J[a][i] = ∂o_a/∂P_i (total: through other outputs too), shape o_a ++ P_i.
  const J = outputs.map((o) => params.map((P) => diff.formula(o.formula, P)));
  const gO = O.map((Oa) => diff.formula(ell, Oa));
  const gP = params.map((P) => diff.formula(ell, P));
  const value = new Map<TNode, TNode>(outputs.map((o, a) => [O[a]!, nodeOf(nodes, o.formula)]));
  const rewrite = new Rewriter(nodes, value);
  const empty: Formula = { shape: [], terms: [] };
  return params.map((P, i) =>
    params.map((Q, j) => {
      if (j < i) return empty;
      const terms: Term[] = [...diff.formula(gP[i]!, Q).terms];
      O.forEach((Ob, b) => {
        const JbQ = J[b]![j]!;
        if (JbQ.terms.length === 0) return;
        terms.push(...contract(diff.formula(gP[i]!, Ob), 'last', Ob.shape.length, JbQ, Q.shape));
      });
      O.forEach((Oa, a) => {
        const JaP = J[a]![i]!;
        if (JaP.terms.length === 0) return;
        terms.push(...contract(diff.formula(gO[a]!, Q), 'first', Oa.shape.length, JaP, P.shape));
        O.forEach((Ob, b) => {
          const JbQ = J[b]![j]!;
          if (JbQ.terms.length === 0) return;
          const left = contract(diff.formula(gO[a]!, Ob), 'first', Oa.shape.length, JaP, P.shape);
          terms.push(...contract({ shape: [...P.shape, ...Ob.shape], terms: left }, 'last', Ob.shape.length, JbQ, Q.shape));
        });
      });
      return rewrite.formula(simplifyFormula({ shape: [...P.shape, ...Q.shape], terms }));
    }),
  );
}

/**
 * Multiplies `mid` by a Jacobian J (shape o ++ p) over `rank` out indices of mid shaped like o:
 * at 'first', Σ_α J[α, p]·mid[α, r] (out p ++ r); at 'last', Σ_β mid[r, β]·J[β, p] (out r ++ p).
 */
function contract(mid: Formula, at: 'first' | 'last', rank: number, J: Formula, pShape: readonly (number | string)[]): Term[] {
  const out: Term[] = [];
  for (const t of mid.terms) {
    const n = t.out.length;
    const inner = at === 'first' ? t.out.slice(0, rank) : t.out.slice(n - rank);
    const keep = at === 'first' ? t.out.slice(rank) : t.out.slice(0, n - rank);
    const pv: Var[] = pShape.map(() => freshVar());
    const ranges = new Map<Var, Range>(t.ranges);
    pv.forEach((v, k) => ranges.set(v, fullRange(pShape[k]!)));
    const p = pv.map(aff);
    const newOut: Affine[] = at === 'first' ? [...p, ...keep] : [...keep, ...p];
    // The contracted indices become summed before J is substituted, so that unification
    // eliminates them rather than the new output indices.
    const outer: Term = { ...t, out: newOut, ranges, sums: summedOf(newOut, ranges) };
    for (const r of substitute(outer, J, [...inner, ...p])) out.push({ ...r, sums: summedOf(r.out, r.ranges) });
  }
  return out;
}

/** Every variable of a term that is not an output index is summed. */
function summedOf(out: readonly Affine[], ranges: ReadonlyMap<Var, Range>): Var[] {
  const free = new Set(out.flatMap((a) => (a.v === null ? [] : [a.v])));
  return [...ranges.keys()].filter((v) => !free.has(v));
}

/** The node holding a formula's value (the node itself when the formula only reads one whole). */
function nodeOf(nodes: NodeTable, f: Formula): TNode {
  return nodes.poly(f);
}

/** Rebuilds formulas and nodes with some nodes replaced (the outputs' placeholders by their values). */
class Rewriter {
  private readonly memo = new Map<TNode, TNode>();
  constructor(
    private readonly nodes: NodeTable,
    private readonly replace: ReadonlyMap<TNode, TNode>,
  ) {}

  formula(f: Formula): Formula {
    let changed = false;
    const terms = f.terms.map((t) => {
      const factors = t.factors.map((x) => {
        const node = this.node(x.node);
        if (node !== x.node) changed = true;
        return node === x.node ? x : { node, idx: x.idx };
      });
      return { ...t, factors };
    });
    return changed ? { shape: f.shape, terms } : f;
  }

  node(n: TNode): TNode {
    const r = this.replace.get(n);
    if (r) return r;
    let m = this.memo.get(n);
    if (m) return m;
    switch (n.kind) {
      case 'map': {
        const arg = this.node(n.arg);
        m = arg === n.arg ? n : this.nodes.map(n.fn, arg);
        break;
      }
      case 'max': {
        const arg = this.node(n.arg);
        m = arg === n.arg ? n : this.nodes.max(arg, n.axis);
        break;
      }
      case 'poly': {
        const f = this.formula(n.formula);
        m = f === n.formula ? n : this.nodes.poly(f);
        break;
      }
      default:
        m = n;
    }
    this.memo.set(n, m);
    return m;
  }
}
