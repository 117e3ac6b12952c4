// Index form: every tensor quantity is a sum of terms in index (Einstein) notation,
//
//   T[out(v)] += coef · Σ_{sums} Π factor_k[idx_k(v)]      for v over the term's ranges,
//
// where indices are affine (`v + c` or a constant) and factors are accesses of tensor nodes.
// Nonlinear functions live inside `map` nodes, so formulas stay polynomial in accesses and
// derivatives are formulas again. A Kronecker δ is not a tensor here: it is an equality of two
// index expressions, resolved at once by substituting one variable (`unify`), so δ terms
// become diagonals and shifted bands instead of loops over zeros.

import type { Dim, DimRole } from './graph.ts';

export type Var = number;

/** `v + c`, or the constant `c` when v is null. */
export interface Affine {
  readonly v: Var | null;
  readonly c: number;
}

/** Half-open range of a variable. A symbolic `hi` (a run-time dimension) always has lo = 0. */
export interface Range {
  readonly lo: number;
  readonly hi: Dim;
}

/** A reference to an element-wise function and its derivative order (see functions.ts). */
export interface MapFn {
  readonly name: string;
  /** pow's exponent; 0 for the other functions. */
  readonly p: number;
}

export type TNode =
  | { readonly kind: 'param'; readonly id: number; readonly shape: readonly number[]; readonly name: string; readonly index: number }
  | { readonly kind: 'data'; readonly id: number; readonly shape: readonly Dim[]; readonly name: string }
  /** The size of a run-time dimension, or with a role, the rows a call holds or `once` (see graph.ts). */
  | { readonly kind: 'dim'; readonly id: number; readonly shape: readonly Dim[]; readonly name: string; readonly role?: DimRole }
  | { readonly kind: 'map'; readonly id: number; readonly shape: readonly Dim[]; readonly fn: MapFn; readonly arg: TNode }
  /** Maximum along an axis (null: all): the logsumexp stabilizer. Constant for differentiation. */
  | { readonly kind: 'max'; readonly id: number; readonly shape: readonly Dim[]; readonly axis: 0 | 1 | null; readonly arg: TNode }
  | { readonly kind: 'poly'; readonly id: number; readonly shape: readonly Dim[]; readonly formula: Formula };

export interface Factor {
  readonly node: TNode;
  readonly idx: readonly Affine[];
}

export interface Term {
  readonly coef: number;
  readonly factors: readonly Factor[];
  readonly sums: readonly Var[];
  readonly out: readonly Affine[];
  readonly ranges: ReadonlyMap<Var, Range>;
}

export interface Formula {
  readonly shape: readonly Dim[];
  readonly terms: readonly Term[];
}

// ---------------------------------------------------------------------------------------------
// Variables

/**
 * What one compilation owns: the numbering of index variables (numbered from 0 in each
 * compilation, so that its output is deterministic). `withCompileContext` makes a context the
 * current one for the duration of a synchronous call and restores the previous one after, so a
 * compilation started inside another (a plugin, a test helper) neither sees nor disturbs its
 * numbering.
 */
export class CompileContext {
  private nextVar = 0;
  freshVar(): Var {
    return this.nextVar++;
  }
}

/** The context of the compilation running now (compilations are synchronous; nested ones stack). */
let active: CompileContext | null = null;

/** Runs `f` with a fresh compile context (its own variable numbering). */
export function withCompileContext<T>(f: (ctx: CompileContext) => T): T {
  const outer = active;
  const ctx = new CompileContext();
  active = ctx;
  try {
    return f(ctx);
  } finally {
    active = outer;
  }
}

export function freshVar(): Var {
  // Numbering outside a compilation would leak between compilations: a caller bug, not user input.
  if (active === null) throw new Error('hessgen internal error: index variables are numbered only inside withCompileContext');
  return active.freshVar();
}

export function fullRange(d: Dim): Range {
  return { lo: 0, hi: d };
}

export const aff = (v: Var): Affine => ({ v, c: 0 });
export const constIdx = (c: number): Affine => ({ v: null, c });

/** A term with no factors that maps fresh variables over `shape` to the output: the start of a formula. */
export function identityTerm(shape: readonly Dim[], coef = 1): { term: Term; vars: Var[] } {
  const vars = shape.map(() => freshVar());
  const ranges = new Map<Var, Range>();
  vars.forEach((v, k) => ranges.set(v, fullRange(shape[k]!)));
  return { term: { coef, factors: [], sums: [], out: vars.map(aff), ranges }, vars };
}

/** The formula `node[i, j, …]`: one factor, indices over the whole node. */
export function accessFormula(node: TNode): Formula {
  const { term, vars } = identityTerm(node.shape);
  return { shape: node.shape, terms: [{ ...term, factors: [{ node, idx: vars.map(aff) }] }] };
}

export function constantFormula(value: number): Formula {
  return { shape: [], terms: value === 0 ? [] : [identityTerm([], value).term] };
}

// ---------------------------------------------------------------------------------------------
// Substitution and unification

function mapAffine(a: Affine, x: Var, r: Affine): Affine {
  if (a.v !== x) return a;
  return { v: r.v, c: r.c + a.c };
}

function intersect(a: Range, b: Range): Range | null {
  if (typeof a.hi === 'number' && typeof b.hi === 'number') {
    const lo = Math.max(a.lo, b.lo);
    const hi = Math.min(a.hi, b.hi);
    return lo < hi ? { lo, hi } : null;
  }
  if (a.hi === b.hi && a.lo === b.lo) return a;
  throw new Error(`internal: cannot intersect ranges [${a.lo}, ${a.hi}) and [${b.lo}, ${b.hi})`);
}

/** Replaces variable x by the affine r everywhere, carrying x's range over to r's variable. Null: the term is empty. */
export function substituteVar(t: Term, x: Var, r: Affine): Term | null {
  const rx = t.ranges.get(x);
  if (!rx) throw new Error(`internal: variable ${x} has no range`);
  const ranges = new Map(t.ranges);
  ranges.delete(x);
  if (r.v === null) {
    if (r.c < rx.lo || (typeof rx.hi === 'number' && r.c >= rx.hi)) return null;
  } else {
    const ry = ranges.get(r.v);
    if (!ry) throw new Error(`internal: variable ${r.v} has no range`);
    let shifted: Range;
    if (typeof rx.hi === 'number') shifted = { lo: rx.lo - r.c, hi: rx.hi - r.c };
    else if (r.c === 0) shifted = rx;
    else throw new Error('internal: shifted index on a run-time dimension');
    const both = intersect(ry, shifted);
    if (!both) return null;
    ranges.set(r.v, both);
  }
  return {
    coef: t.coef,
    factors: t.factors.map((f) => ({ node: f.node, idx: f.idx.map((a) => mapAffine(a, x, r)) })),
    sums: t.sums.filter((s) => s !== x),
    out: t.out.map((a) => mapAffine(a, x, r)),
    ranges,
  };
}

/**
 * Imposes a = b (a Kronecker δ) by eliminating one variable. Variables in `transient` (free
 * variables of a formula being substituted) go first, then summed ones, then the output
 * variable that appears later in `out`, so that loops stay over the earliest axes.
 */
export function unify(t: Term, a: Affine, b: Affine, transient: ReadonlySet<Var>): Term | null {
  if (a.v === null && b.v === null) return a.c === b.c ? t : null;
  if (a.v === null) return unify(t, b, a, transient);
  if (b.v === null) return substituteVar(t, a.v, { v: null, c: b.c - a.c });
  if (a.v === b.v) return a.c === b.c ? t : null;
  const eliminateA = eliminationRank(t, a.v, transient) >= eliminationRank(t, b.v, transient);
  return eliminateA
    ? substituteVar(t, a.v, { v: b.v, c: b.c - a.c })
    : substituteVar(t, b.v, { v: a.v, c: a.c - b.c });
}

function eliminationRank(t: Term, x: Var, transient: ReadonlySet<Var>): number {
  if (transient.has(x)) return 3e9 + x;
  if (t.sums.includes(x)) return 2e9 + x;
  const pos = t.out.findIndex((o) => o.v === x);
  return pos < 0 ? 1e9 + x : pos;
}

/** The same term with every variable renamed to a fresh one. */
export function freshen(t: Term): { term: Term; rename: Map<Var, Var> } {
  const rename = new Map<Var, Var>();
  for (const v of t.ranges.keys()) rename.set(v, freshVar());
  const ra = (a: Affine): Affine => (a.v === null ? a : { v: rename.get(a.v)!, c: a.c });
  const ranges = new Map<Var, Range>();
  for (const [v, r] of t.ranges) ranges.set(rename.get(v)!, r);
  return {
    term: {
      coef: t.coef,
      factors: t.factors.map((f) => ({ node: f.node, idx: f.idx.map(ra) })),
      sums: t.sums.map((s) => rename.get(s)!),
      out: t.out.map(ra),
      ranges,
    },
    rename,
  };
}

/**
 * Multiplies `outer` by formula F evaluated at indices `idx` (in outer's variables): one term
 * per term of F, with F's summed variables joining outer's and F's free variables unified away.
 */
export function substitute(outer: Term, formula: Formula, idx: readonly Affine[]): Term[] {
  if (idx.length !== formula.shape.length) throw new Error('internal: substitute rank mismatch');
  const result: Term[] = [];
  for (const inner0 of formula.terms) {
    const { term: inner } = freshen(inner0);
    const ranges = new Map(outer.ranges);
    for (const [v, r] of inner.ranges) ranges.set(v, r);
    // Inner coordinates and the indices ride along in `out` while unifying, so that every
    // substitution also updates the pairs still to be unified.
    const L = outer.out.length;
    const R = idx.length;
    let t: Term | null = {
      coef: outer.coef * inner.coef,
      factors: [...outer.factors, ...inner.factors],
      sums: [...outer.sums, ...inner.sums],
      out: [...outer.out, ...inner.out, ...idx],
      ranges,
    };
    const transient = new Set<Var>();
    for (const o of inner.out) if (o.v !== null && !inner.sums.includes(o.v)) transient.add(o.v);
    for (let k = 0; k < R && t; k++) t = unify(t, t.out[L + k]!, t.out[L + R + k]!, transient);
    if (t && t.coef !== 0) result.push({ ...t, out: t.out.slice(0, L) });
  }
  return result;
}

export function scaleFormula(f: Formula, s: number): Formula {
  if (s === 0) return { shape: f.shape, terms: [] };
  return { shape: f.shape, terms: f.terms.map((t) => ({ ...t, coef: t.coef * s })) };
}

export type ParamNode = Extract<TNode, { kind: 'param' }>;
