// The Hessian's diagonal in closed form: in a diagonal block d²f/dP[p]dP[q], impose p = q (a
// Kronecker δ, resolved by substitution like every other δ), so each entry is computed alone:
// a dense block Σ_n R[p, n]·C[q, n] becomes Σ_n R[p, n]·C[p, n], n·N work instead of n²·N, and
// off-diagonal bands (q = p + 1) vanish at compile time.

import { unify, type Formula, type Term } from '../2-ir/index-form.ts';
import { simplifyFormula } from '../2-ir/nodes.ts';

/** diag(H) restricted to a parameter, from its diagonal block (out indices p then q, same shape). */
export function diagonalFormula(block: Formula, rank: number): Formula {
  const terms: Term[] = [];
  for (const t0 of block.terms) {
    let t: Term | null = t0;
    for (let k = 0; k < rank && t; k++) t = unify(t, t.out[k]!, t.out[rank + k]!, new Set());
    if (t) terms.push({ ...t, out: t.out.slice(0, rank) });
  }
  return simplifyFormula({ shape: block.shape.slice(0, rank), terms });
}
