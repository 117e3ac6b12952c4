// Hessian-vector products in closed form: the directional derivative of the gradient along a
// direction v (forward over reverse, on the symbolic form). For the gradient block of P,
//
//   (H v)[p] = Σ_Q Σ_q dg_P[p]/dQ[q] · v_Q[q],
//
// where v_Q is the part of v laid out like Q in θ. Each term of dg_P/dQ has out indices (p, q);
// multiplied by v_Q[q], the q indices that p does not share become summed, and the contraction
// planner (4-simplify) then sums them first: Σ_q C[q, n]·v[q] into an intermediate over n,
// before the sum over n. So a dense block costs what its gradient costs, never n², and no
// Hessian entry is formed. δ-diagonals and bands stay what they are (v indexed on the diagonal).

import { type Formula, type TNode, type Term, type Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';
import type { Differentiator } from './derivative.ts';

/** The name of the direction's node for parameter P: not an identifier, so no user name can meet it. */
export const directionName = (param: string): string => `v[${param}]`;

/** Whether a node is a direction's part (see directionNodes): loaded from v, not from θ. */
export const isDirection = (node: TNode): boolean => node.kind === 'param' && node.name.startsWith('v[');

/**
 * The parts of the direction, one per parameter, shaped like it. They are `param` nodes so that
 * they are laid out like θ (same offsets, in the buffer `v`), and constants for differentiation
 * (the differentiator only differentiates by the model's own parameter nodes).
 */
export function directionNodes(nodes: NodeTable, params: readonly TNode[]): TNode[] {
  return params.map((p) => {
    if (p.kind !== 'param') throw new Error('internal: a parameter that is not a param node');
    return nodes.param(directionName(p.name), p.shape, p.index);
  });
}

/** (H v) restricted to parameter i: Σ_j (d gradients[i] / d P_j) · v_j, as a formula shaped like P_i. */
export function hvpFormula(diff: Differentiator, gradients: readonly Formula[], params: readonly TNode[], directions: readonly TNode[], i: number): Formula {
  const g = gradients[i]!;
  const rank = g.shape.length;
  const terms: Term[] = [];
  params.forEach((Q, j) => {
    const block = diff.formula(g, Q);
    for (const t of block.terms) {
      const p = t.out.slice(0, rank);
      const q = t.out.slice(rank);
      const kept = new Set<Var>(p.flatMap((a) => (a.v === null ? [] : [a.v])));
      // Every variable of the term that is neither an output (p) variable nor already summed
      // is a q variable that p does not share: it becomes summed.
      const sums = [...t.ranges.keys()].filter((v) => !kept.has(v));
      terms.push({ ...t, out: p, sums, factors: [...t.factors, { node: directions[j]!, idx: q }] });
    }
  });
  return { shape: g.shape, terms };
}
