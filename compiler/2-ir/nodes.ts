// Hash-consing of index-form tensor nodes. Two formulas that differ only in the names of their
// index variables get the same canonical key, so the same tensor is one node wherever it is
// built: in the forward pass, in derivative formulas, or as an intermediate of the lowering.

import type { Dim, DimRole } from './graph.ts';
import type { Affine, Formula, MapFn, Range, TNode, Term, Var } from './index-form.ts';

const affText = (a: Affine, names: ReadonlyMap<Var, number>): string => {
  if (a.v === null) return `#${a.c}`;
  const n = names.get(a.v);
  const base = n === undefined ? '?' : `v${n}`;
  return a.c === 0 ? base : `${base}${a.c > 0 ? '+' : ''}${a.c}`;
};

/**
 * Canonical form of a term up to renaming of its variables: the key (coefficient excluded, so
 * that like terms can be merged) and the variables in canonical order.
 */
export function canonicalTerm(t: Term): { key: string; order: Var[] } {
  let names = new Map<Var, number>();
  const name = (v: Var | null) => {
    if (v !== null && !names.has(v)) names.set(v, names.size);
  };
  for (const o of t.out) name(o.v);
  const outNames = new Map(names);
  const sig = (f: Term['factors'][number]) => `${f.node.id}[${f.idx.map((a) => affText(a, names)).join(',')}]`;
  const sortFactors = (fs: readonly Term['factors'][number][]) =>
    fs
      .map((f) => ({ f, s: sig(f) }))
      .sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0))
      .map((x) => x.f);
  // Sort by what the output names tell, name the rest in that order, sort again with all names.
  let factors = sortFactors(t.factors);
  for (const f of factors) for (const a of f.idx) name(a.v);
  factors = sortFactors(factors);
  names = new Map(outNames);
  for (const f of factors) for (const a of f.idx) name(a.v);
  for (const s of t.sums) name(s);
  for (const v of t.ranges.keys()) name(v);
  const order = [...names.entries()].sort((a, b) => a[1] - b[1]).map(([v]) => v);
  const rangeText = order.map((v) => {
    const r: Range = t.ranges.get(v)!;
    return `${r.lo}:${r.hi}`;
  });
  const sums = t.sums.map((s) => names.get(s)!).sort((a, b) => a - b);
  const key =
    `o(${t.out.map((a) => affText(a, names)).join(',')})` +
    `f(${factors.map(sig).join('*')})s(${sums.join(',')})r(${rangeText.join(',')})`;
  return { key, order };
}

/** Merges like terms (same canonical key) and drops zero ones, in a deterministic order. */
export function simplifyFormula(f: Formula): Formula {
  const byKey = new Map<string, { term: Term; coef: number }>();
  for (const t of f.terms) {
    const { key } = canonicalTerm(t);
    const found = byKey.get(key);
    if (found) found.coef += t.coef;
    else byKey.set(key, { term: t, coef: t.coef });
  }
  const terms: Term[] = [];
  for (const { term, coef } of byKey.values()) if (coef !== 0) terms.push(coef === term.coef ? term : { ...term, coef });
  return { shape: f.shape, terms };
}

export function formulaKey(f: Formula): string {
  const keys = f.terms.map((t) => `${t.coef}·${canonicalTerm(t).key}`).sort();
  return `[${f.shape.join(',')}]{${keys.join(' + ')}}`;
}

/** The node a formula merely reads whole (one factor, coefficient 1, indices = output), if any. */
export function viewedNode(f: Formula): TNode | null {
  if (f.terms.length !== 1) return null;
  const t = f.terms[0]!;
  if (t.coef !== 1 || t.factors.length !== 1 || t.sums.length > 0) return null;
  const fac = t.factors[0]!;
  if (fac.node.shape.length !== f.shape.length || fac.idx.length !== t.out.length) return null;
  for (let k = 0; k < t.out.length; k++) {
    const o = t.out[k]!;
    const i = fac.idx[k]!;
    if (o.v === null || o.c !== 0 || i.v !== o.v || i.c !== 0) return null;
    const r = t.ranges.get(o.v)!;
    if (r.lo !== 0 || r.hi !== f.shape[k] || fac.node.shape[k] !== f.shape[k]) return null;
  }
  if (new Set(t.out.map((o) => o.v)).size !== t.out.length) return null;
  return fac.node;
}

export class NodeTable {
  private readonly table = new Map<string, TNode>();
  /** Every node in creation order (a valid topological order). */
  readonly nodes: TNode[] = [];

  private intern<T extends TNode>(key: string, make: (id: number) => T): T {
    const found = this.table.get(key);
    if (found) return found as T;
    const node = make(this.nodes.length);
    this.table.set(key, node);
    this.nodes.push(node);
    return node;
  }

  param(name: string, shape: readonly number[], index: number): TNode {
    return this.intern(`param:${name}`, (id) => ({ kind: 'param', id, name, shape, index }));
  }
  data(name: string, shape: readonly Dim[]): TNode {
    return this.intern(`data:${name}`, (id) => ({ kind: 'data', id, name, shape }));
  }
  dim(name: string, role?: DimRole): TNode {
    if (role !== undefined) return this.intern(`${role}:${name}`, (id) => ({ kind: 'dim', id, name, shape: [], role }));
    return this.intern(`dim:${name}`, (id) => ({ kind: 'dim', id, name, shape: [] }));
  }
  map(fn: MapFn, arg: TNode): TNode {
    return this.intern(`map:${fn.name}:${fn.p}:${arg.id}`, (id) => ({ kind: 'map', id, fn, arg, shape: arg.shape }));
  }
  max(arg: TNode, axis: 0 | 1 | null): TNode {
    const shape = axis === null ? [] : arg.shape.filter((_, k) => k !== axis);
    return this.intern(`max:${axis}:${arg.id}`, (id) => ({ kind: 'max', id, arg, axis, shape }));
  }
  /**
   * A workspace that a lowering fills with kernels of its own (5-lower/gram.ts: the Hessian's
   * sides stacked in θ order, which no formula can say). Its formula is empty: nothing may read it
   * as one; the lowering registers the kernel that writes it before anything asks.
   */
  workspace(name: string, shape: readonly Dim[]): TNode {
    return this.intern(`workspace:${name}`, (id) => ({ kind: 'poly', id, formula: { shape, terms: [] }, shape }));
  }
  poly(formula: Formula): TNode {
    const simple = simplifyFormula(formula);
    const viewed = viewedNode(simple);
    if (viewed) return viewed;
    return this.intern(`poly:${formulaKey(simple)}`, (id) => ({ kind: 'poly', id, formula: simple, shape: simple.shape }));
  }
}
