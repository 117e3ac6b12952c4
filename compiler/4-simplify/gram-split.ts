// Gram split of the Hessian (used by 5-lower/gram.ts on the CPU).
//
// In a loss summed over a batch, most Hessian terms are Gauss–Newton products: in block (P, Q),
//   coef · w · Σ_n U_P[p, n] · U_Q[q, n]
// with factors of P's indices and n only on one side, of Q's indices and n only on the other, and
// a weight w of n (or nothing) in common. When every parameter has one side U_P shared by all of
// its blocks, and every pair of parameters with sides has exactly that one product term, those
// terms of the whole Hessian are one Gram product U·diag(w)·Uᵀ, U's rows in θ order; what is left
// (the curvature: terms with δ's, other sums) stays per block. On a small model this replaces a
// dozen small loop nests by one matrix product (bench/hand_mlp_3_5_1.ts is the same idea by hand).

import type { Affine, Factor, Formula, Range, Term, Var } from '../2-ir/index-form.ts';

/** One parameter's side: its factors, with the parameter's index variables and the batch variable. */
export interface GramSide {
  /** Canonical text: equal sides have equal keys. */
  readonly key: string;
  readonly factors: readonly Factor[];
  /** The term's variables for the parameter's axes, in order. */
  readonly vars: readonly Var[];
  readonly batch: Var;
  /** The ranges of vars and batch (whole axes). */
  readonly ranges: ReadonlyMap<Var, Range>;
}

export interface GramSplit {
  readonly batchDim: string;
  /** coef and the weight factors (of n only) common to every product term, canonical text. */
  readonly weightKey: string;
  /** The common coefficient and weight factors themselves (of one product term: the others' are equal). */
  readonly weight: { readonly coef: number; readonly factors: readonly Factor[]; readonly batch: Var };
  /** Per parameter: its side, or null when it has no product terms. */
  readonly sides: readonly (GramSide | null)[];
  /** Per block (i ≤ j): the terms that are not the Gram product's. */
  readonly rest: readonly (readonly Formula[])[];
}

interface Product {
  readonly weightKey: string;
  readonly weight: GramSplit['weight'];
  readonly batchDim: string;
  readonly p: GramSide;
  readonly q: GramSide;
}

const affText = (a: Affine, names: ReadonlyMap<Var, string>): string => (a.v === null ? String(a.c) : `${names.get(a.v) ?? '?'}${a.c ? `+${a.c}` : ''}`);
const factorText = (f: Factor, names: ReadonlyMap<Var, string>): string => `${f.node.id}[${f.idx.map((a) => affText(a, names)).join(',')}]`;

/** The term as a product of two sides, or null. `rankP`: how many of the output indices are P's. */
function asProduct(t: Term, rankP: number): Product | null {
  if (t.sums.length !== 1) return null;
  const n = t.sums[0]!;
  const nRange = t.ranges.get(n);
  if (!nRange || typeof nRange.hi !== 'string' || nRange.lo !== 0) return null;
  // Output indices: distinct plain variables over their whole axes (no δ, no band, no constant).
  const seen = new Set<Var>([n]);
  for (const a of t.out) {
    if (a.v === null || a.c !== 0 || seen.has(a.v)) return null;
    const r = t.ranges.get(a.v);
    if (!r || r.lo !== 0) return null;
    seen.add(a.v);
  }
  const pVars = t.out.slice(0, rankP).map((a) => a.v!);
  const qVars = t.out.slice(rankP).map((a) => a.v!);
  const pSet = new Set(pVars);
  const qSet = new Set(qVars);
  const weight: Factor[] = [];
  const pf: Factor[] = [];
  const qf: Factor[] = [];
  for (const f of t.factors) {
    const vars = f.idx.filter((a) => a.v !== null).map((a) => a.v!);
    if (vars.every((v) => v === n)) weight.push(f);
    else if (vars.every((v) => v === n || pSet.has(v))) pf.push(f);
    else if (vars.every((v) => v === n || qSet.has(v))) qf.push(f);
    else return null;
  }
  const side = (factors: Factor[], vars: Var[]): GramSide => {
    const names = new Map<Var, string>(vars.map((v, k) => [v, `a${k}`]));
    names.set(n, 'n');
    const ranges = new Map<Var, Range>([...vars, n].map((v) => [v, t.ranges.get(v)!]));
    return { key: factors.map((f) => factorText(f, names)).sort().join('·'), factors, vars, batch: n, ranges };
  };
  const wNames = new Map<Var, string>([[n, 'n']]);
  const weightKey = [String(t.coef), ...weight.map((f) => factorText(f, wNames)).sort()].join('·');
  return { weightKey, weight: { coef: t.coef, factors: weight, batch: n }, batchDim: nRange.hi, p: side(pf, pVars), q: side(qf, qVars) };
}

/**
 * The Gram split of the Hessian blocks (hessians[i][j] for i ≤ j, over params of the given ranks),
 * or null when the product terms do not share one side per parameter and one weight.
 */
export function gramSplit(ranks: readonly number[], hessians: readonly (readonly Formula[])[]): GramSplit | null {
  const sides: (GramSide | null)[] = ranks.map(() => null);
  let weightKey: string | null = null;
  let weight: GramSplit['weight'] | null = null;
  let batchDim: string | null = null;
  const found: boolean[][] = ranks.map(() => ranks.map(() => false));
  const rest: Formula[][] = ranks.map(() => []);
  const agrees = (i: number, s: GramSide): boolean => sides[i] === null || sides[i]!.key === s.key;
  for (let i = 0; i < ranks.length; i++) {
    for (let j = 0; j < ranks.length; j++) {
      const f = hessians[i]?.[j];
      if (j < i || !f) {
        rest[i]!.push({ shape: f?.shape ?? [], terms: [] });
        continue;
      }
      const others: Term[] = [];
      for (const t of f.terms) {
        const p = found[i]![j] ? null : asProduct(t, ranks[i]!);
        const fits = p !== null && (weightKey === null || p.weightKey === weightKey) && (batchDim === null || p.batchDim === batchDim);
        if (!fits || !agrees(i, p.p) || !agrees(j, p.q) || (i === j && p.p.key !== p.q.key)) {
          others.push(t);
          continue;
        }
        sides[i] ??= p.p;
        sides[j] ??= p.q;
        weightKey = p.weightKey;
        weight ??= p.weight;
        batchDim = p.batchDim;
        found[i]![j] = true;
      }
      rest[i]!.push({ shape: f.shape, terms: others });
    }
  }
  if (weightKey === null || weight === null || batchDim === null) return null;
  // Every pair of parameters with sides must have had its product term: the Gram computes all pairs.
  for (let i = 0; i < ranks.length; i++)
    for (let j = i; j < ranks.length; j++) if (sides[i] && sides[j] && !found[i]![j]) return null;
  return { batchDim, weightKey, weight, sides, rest };
}
