// Structural patterns of Hessian blocks, exactly and without listing entries.
//
// A term of a block's formula writes the entries out(v) for every v in a box of variables, where
// each output index is a constant or one variable plus an offset (Kronecker δ's became shared
// variables when the term was differentiated). Such a set is a lattice. The intersection of two
// lattices is a lattice again (unify their indices position by position), so the union of a
// block's terms is an exact signed sum of lattices (inclusion–exclusion, pruned of empty sets,
// duplicates and subsets). Counts over any region are then sums of per-lattice counts: the
// entry count of a block at n = 10⁶ costs no more than at n = 4.

import type { Term } from '../2-ir/index-form.ts';
import type { LatticeIndex, PatternLattice } from './index.ts';

export interface Lattice {
  readonly index: readonly LatticeIndex[];
  readonly ranges: readonly (readonly [number, number])[];
}

/** Renumbers variables by first appearance, makes each one's first offset 0; null when empty. */
export function normalize(index: readonly LatticeIndex[], ranges: readonly (readonly [number, number])[]): Lattice | null {
  const renum = new Map<number, { id: number; shift: number }>();
  const outRanges: [number, number][] = [];
  const outIndex: LatticeIndex[] = [];
  for (const ix of index) {
    if (typeof ix === 'number') {
      outIndex.push(ix);
      continue;
    }
    const [v, c] = ix;
    let r = renum.get(v);
    if (!r) {
      const [lo, hi] = ranges[v]!;
      if (hi <= lo) return null;
      // The new variable is v + c: its range moves by c and its first offset becomes 0.
      r = { id: outRanges.length, shift: c };
      renum.set(v, r);
      outRanges.push([lo + c, hi + c]);
    }
    outIndex.push([r.id, c - r.shift]);
  }
  return { index: outIndex, ranges: outRanges };
}

export function latticeSize(l: Lattice): number {
  let s = 1;
  for (const [lo, hi] of l.ranges) s *= hi - lo;
  return s;
}

export function latticeKey(l: Lattice): string {
  return JSON.stringify(l);
}

/** The entries two lattices share, or null. Both must index the same block (same rank). */
export function intersect(a: Lattice, b: Lattice): Lattice | null {
  const na = a.ranges.length;
  const count = na + b.ranges.length;
  // Union–find with offsets: value(x) = value(root(x)) + off[x].
  const parent = Array.from({ length: count }, (_, k) => k);
  const off = new Array<number>(count).fill(0);
  const fixed = new Map<number, number>(); // root -> its value
  const find = (x: number): number => {
    let r = x;
    let o = 0;
    while (parent[r] !== r) {
      o += off[r]!;
      r = parent[r]!;
    }
    // Path compression, keeping offsets relative to the root.
    let y = x;
    let oy = o;
    while (parent[y] !== y) {
      const next = parent[y]!;
      const step = off[y]!;
      parent[y] = r;
      off[y] = oy;
      oy -= step;
      y = next;
    }
    return r;
  };
  const fix = (x: number, value: number): boolean => {
    const r = find(x);
    const v = value - off[x]!; // value of the root
    const had = fixed.get(r);
    if (had !== undefined) return had === v;
    fixed.set(r, v);
    return true;
  };
  const posOf = (ix: LatticeIndex, base: number): { v: number; c: number } | number =>
    typeof ix === 'number' ? ix : { v: ix[0] + base, c: ix[1] };
  for (let k = 0; k < a.index.length; k++) {
    const x = posOf(a.index[k]!, 0);
    const y = posOf(b.index[k]!, na);
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return null;
    } else if (typeof x === 'number') {
      if (!fix((y as { v: number; c: number }).v, x - (y as { c: number }).c)) return null;
    } else if (typeof y === 'number') {
      if (!fix(x.v, y - x.c)) return null;
    } else {
      // x.v + x.c = y.v + y.c
      const rx = find(x.v);
      const ry = find(y.v);
      // value(x.v) = value(rx) + off[x.v]; value(y.v) = value(ry) + off[y.v]
      const d = y.c - x.c + off[y.v]! - off[x.v]!; // value(rx) = value(ry) + d
      if (rx === ry) {
        if (d !== 0) return null;
        continue;
      }
      const fx = fixed.get(rx);
      const fy = fixed.get(ry);
      parent[rx] = ry;
      off[rx] = d;
      fixed.delete(rx);
      if (fx !== undefined) {
        const implied = fx - d;
        if (fy !== undefined && fy !== implied) return null;
        fixed.set(ry, implied);
      }
    }
  }
  // Each root's range: the intersection of its members' ranges, moved to the root.
  const rootRange = new Map<number, [number, number]>();
  for (let x = 0; x < count; x++) {
    const r = find(x);
    const [lo, hi] = x < na ? a.ranges[x]! : b.ranges[x - na]!;
    const shifted: [number, number] = [lo - off[x]!, hi - off[x]!];
    const cur = rootRange.get(r);
    rootRange.set(r, cur ? [Math.max(cur[0], shifted[0]), Math.min(cur[1], shifted[1])] : shifted);
  }
  for (const [r, [lo, hi]] of rootRange) {
    if (hi <= lo) return null;
    const f = fixed.get(r);
    if (f !== undefined && (f < lo || f >= hi)) return null;
  }
  const index: LatticeIndex[] = a.index.map((ix0) => {
    const ix = posOf(ix0, 0);
    if (typeof ix === 'number') return ix;
    const r = find(ix.v);
    const f = fixed.get(r);
    const c = off[ix.v]! + ix.c;
    return f !== undefined ? f + c : [r, c];
  });
  const ranges = Array.from({ length: count }, (_, r) => rootRange.get(r) ?? [0, 0]) as [number, number][];
  return normalize(index, ranges);
}

/** Too many pieces for an exact union: the caller keeps the (overlapping) terms instead. */
class UnionTooLarge extends Error {}

/** Drops empty sets, duplicates and sets contained in another; largest first, deterministic. */
export function prune(list: readonly Lattice[]): Lattice[] {
  const byKey = new Map<string, { l: Lattice; size: number }>();
  for (const l of list) {
    const size = latticeSize(l);
    if (size > 0) byKey.set(latticeKey(l), { l, size });
  }
  const items = [...byKey.entries()].sort((x, y) => y[1].size - x[1].size || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const kept: { l: Lattice; size: number }[] = [];
  for (const [, it] of items) {
    const inside = kept.some((k) => {
      const i = intersect(it.l, k.l);
      return i !== null && latticeSize(i) === it.size;
    });
    if (!inside) kept.push(it);
  }
  return kept.map((k) => k.l);
}

/**
 * The union of lattices as a signed sum: 1[∪ L] = Σ_k (1[L_k] − 1[L_k ∩ ∪_{j<k} L_j]), the
 * second part expanded the same way. `exact` is false when the expansion exceeded `limit`
 * pieces; the result is then the pruned list itself (each entry counted at least once).
 */
export function signedUnion(list: readonly Lattice[], limit = 20000): { pieces: PatternLattice[]; exact: boolean } {
  const top = prune(list);
  const out: PatternLattice[] = [];
  const expand = (ls: readonly Lattice[], sign: 1 | -1): void => {
    for (let k = 0; k < ls.length; k++) {
      const l = ls[k]!;
      out.push({ sign, index: l.index, ranges: l.ranges });
      if (out.length > limit) throw new UnionTooLarge();
      const overlaps: Lattice[] = [];
      for (let j = 0; j < k; j++) {
        const i = intersect(l, ls[j]!);
        if (i) overlaps.push(i);
      }
      if (overlaps.length > 0) expand(prune(overlaps), sign === 1 ? -1 : 1);
    }
  };
  try {
    expand(top, 1);
    return { pieces: out, exact: true };
  } catch (err) {
    if (!(err instanceof UnionTooLarge)) throw err;
    return { pieces: top.map((l) => ({ sign: 1, index: l.index, ranges: l.ranges })), exact: false };
  }
}

/** Σ sign · size: the number of entries of a signed sum. */
export function signedCount(pieces: readonly PatternLattice[]): number {
  let s = 0;
  for (const p of pieces) s += p.sign * latticeSize(p);
  return s;
}

/** Flattened row and column of a lattice: constant parts and per-variable coefficients. */
export function linearForms(l: Lattice, rowShape: readonly number[], colShape: readonly number[]): { r0: number; c0: number; alpha: number[]; beta: number[] } {
  const strides = (shape: readonly number[]) => shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const rs = strides(rowShape);
  const cs = strides(colShape);
  const alpha = new Array<number>(l.ranges.length).fill(0);
  const beta = new Array<number>(l.ranges.length).fill(0);
  let r0 = 0;
  let c0 = 0;
  l.index.forEach((ix, k) => {
    const row = k < rowShape.length;
    const stride = row ? rs[k]! : cs[k - rowShape.length]!;
    if (typeof ix === 'number') {
      if (row) r0 += stride * ix;
      else c0 += stride * ix;
    } else {
      if (row) {
        r0 += stride * ix[1];
        alpha[ix[0]] += stride;
      } else {
        c0 += stride * ix[1];
        beta[ix[0]] += stride;
      }
    }
  });
  return { r0, c0, alpha, beta };
}

/** The same lattice with rows and columns swapped (the mirror block's pattern). */
export function transposeLattice(l: Lattice, rowRank: number): Lattice {
  const index = [...l.index.slice(rowRank), ...l.index.slice(0, rowRank)];
  return normalize(index, l.ranges) ?? { index, ranges: l.ranges };
}

/** The entries a term writes, as a lattice over the block's axes (null when it writes none). */
export function termLattice(t: Term, shape: readonly number[]): Lattice | null {
  const ids = new Map<number, number>();
  const ranges: [number, number][] = [];
  const index = t.out.map((a, k) => {
    if (a.v === null) return a.c;
    let id = ids.get(a.v);
    if (id === undefined) {
      id = ranges.length;
      ids.set(a.v, id);
      const r = t.ranges.get(a.v);
      // Output variables run over parameter axes, whose sizes are known.
      ranges.push(r && typeof r.hi === 'number' ? [r.lo, r.hi] : [0 - a.c, shape[k]! - a.c]);
    }
    return [id, a.c] as const;
  });
  return normalize(index, ranges);
}
