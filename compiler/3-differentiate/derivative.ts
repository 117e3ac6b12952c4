// Symbolic differentiation of index-form formulas with respect to a parameter tensor P.
//
// d F / d P[p̄] is a formula with P's axes appended to F's. The rules, per factor of a term:
//   P[idx]            -> δ(idx, p̄): the term with idx unified to p̄ (no factor, no loop)
//   map f(A)[idx]     -> f'(A)[idx] · dA[idx]   (f' a new map node, a constant, or A itself)
//   poly T[idx]       -> (dT/dP)[idx, p̄]        (T's derivative formula, cached, substituted)
//   data, dim, max    -> 0
// plus the product rule over the factors of each term. Differentiating the gradient formula
// again gives every Hessian block, cross blocks included, in closed form.

import {
  aff, freshVar, fullRange, substitute, unify,
  type Affine, type Factor, type Formula, type Range, type TNode, type Term, type Var,
} from '../2-ir/index-form.ts';
import { simplifyFormula, type NodeTable } from '../2-ir/nodes.ts';
import { derivative } from './functions.ts';

export class Differentiator {
  private readonly cache = new Map<string, Formula>();
  constructor(private readonly nodes: NodeTable) {}

  /** dF/dP: shape F.shape ++ P.shape. */
  formula(F: Formula, P: TNode): Formula {
    const terms: Term[] = [];
    for (const t of F.terms) {
      const pv: Var[] = P.shape.map(() => freshVar());
      const ranges = new Map<Var, Range>(t.ranges);
      pv.forEach((v, k) => ranges.set(v, fullRange(P.shape[k]!)));
      const base: Term = { ...t, out: [...t.out, ...pv.map(aff)], ranges };
      const pIdx = pv.map(aff);
      for (let k = 0; k < t.factors.length; k++) {
        const rest: Term = { ...base, factors: base.factors.filter((_, j) => j !== k) };
        terms.push(...this.factor(rest, t.factors[k]!, P, pIdx));
      }
    }
    return simplifyFormula({ shape: [...F.shape, ...P.shape], terms });
  }

  /** rest · d(factor)/dP[pIdx]. */
  private factor(rest: Term, f: Factor, P: TNode, pIdx: readonly Affine[]): Term[] {
    const node = f.node;
    switch (node.kind) {
      case 'param': {
        if (node !== P) return [];
        // The pairs ride along in `out` so that each unification updates the ones after it.
        const L = rest.out.length;
        const R = f.idx.length;
        let t: Term | null = { ...rest, out: [...rest.out, ...f.idx, ...pIdx] };
        for (let k = 0; k < R && t; k++) t = unify(t, t.out[L + k]!, t.out[L + R + k]!, new Set());
        return t ? [{ ...t, out: t.out.slice(0, L) }] : [];
      }
      case 'map': {
        const d = derivative(node.fn);
        const inner: Factor = { node: node.arg, idx: f.idx };
        switch (d.kind) {
          case 'const':
            return d.value === 0 ? [] : this.factor({ ...rest, coef: rest.coef * d.value }, inner, P, pIdx);
          case 'arg':
            return this.factor({ ...rest, coef: rest.coef * d.coef, factors: [...rest.factors, inner] }, inner, P, pIdx);
          case 'fn': {
            const dNode = this.nodes.map(d.fn, node.arg);
            return this.factor({ ...rest, coef: rest.coef * d.coef, factors: [...rest.factors, { node: dNode, idx: f.idx }] }, inner, P, pIdx);
          }
        }
        break;
      }
      case 'poly': {
        const dT = this.poly(node, P);
        if (dT.terms.length === 0) return [];
        return substitute(rest, dT, [...f.idx, ...pIdx]);
      }
      default:
        return [];
    }
    return [];
  }

  /** The cached derivative formula of a materialized tensor. */
  private poly(T: Extract<TNode, { kind: 'poly' }>, P: TNode): Formula {
    const key = `${T.id}/${P.id}`;
    let d = this.cache.get(key);
    if (!d) {
      d = this.formula(T.formula, P);
      this.cache.set(key, d);
    }
    return d;
  }
}

