// The lattice algebra behind the patterns, against brute force on random small lattices:
// intersections are the set intersections, and the signed union is the indicator of the union
// (every entry counted once); past the piece limit it falls back to the pruned, overlapping list.
import { describe, expect, it } from 'vitest';
import type { LatticeIndex } from '../../compiler/inspect/index.ts';
import { intersect, normalize, prune, signedCount, signedUnion, transposeLattice, type Lattice } from '../../compiler/inspect/lattice.ts';
import { makeRng, type Rng } from '../helpers/rng.ts';

const SHAPE = [3, 2, 3, 2];

function randomLattice(rng: Rng): Lattice | null {
  const vars = rng.int(1, 3);
  const ranges: [number, number][] = [];
  for (let v = 0; v < vars; v++) {
    const lo = rng.int(-1, 2);
    ranges.push([lo, lo + rng.int(1, 4)]);
  }
  const index: LatticeIndex[] = SHAPE.map((size) => (rng.next() < 0.1 ? rng.int(0, size - 1) : ([rng.int(0, vars - 1), rng.int(-1, 1)] as const)));
  // Clip each variable's range so that every index stays inside its axis, as terms do.
  index.forEach((ix, k) => {
    if (typeof ix === 'number') return;
    const r = ranges[ix[0]]!;
    r[0] = Math.max(r[0], -ix[1]);
    r[1] = Math.min(r[1], SHAPE[k]! - ix[1]);
  });
  return normalize(index, ranges);
}

function entries(l: Pick<Lattice, 'index' | 'ranges'>): string[] {
  const out: string[] = [];
  const vals: number[] = [];
  const visit = (v: number): void => {
    if (v === l.ranges.length) {
      out.push(l.index.map((ix) => (typeof ix === 'number' ? ix : vals[ix[0]]! + ix[1])).join(','));
      return;
    }
    for (let x = l.ranges[v]![0]; x < l.ranges[v]![1]; x++) {
      vals[v] = x;
      visit(v + 1);
    }
  };
  visit(0);
  return out;
}

describe('lattices', () => {
  it('intersect is the set intersection (4000 random pairs)', () => {
    const rng = makeRng('lattice-intersect');
    let nonEmpty = 0;
    for (let t = 0; t < 4000; t++) {
      const a = randomLattice(rng);
      if (!a) continue;
      // Half the time a relative of a (same δ's, ranges moved), so that many pairs meet.
      const b = rng.next() < 0.5 ? randomLattice(rng) : normalize(a.index, a.ranges.map(([lo, hi]) => [lo + rng.int(-1, 1), hi + rng.int(-1, 1)] as [number, number]));
      if (!b) continue;
      const want = new Set(entries(a).filter((e) => new Set(entries(b)).has(e)));
      const got = intersect(a, b);
      const gotSet = got ? entries(got) : [];
      expect(new Set(gotSet).size).toBe(gotSet.length); // a lattice lists each entry once
      expect(new Set(gotSet)).toEqual(want);
      if (want.size > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(200);
  });

  it('signedUnion counts every entry of the union once (500 random lists)', () => {
    const rng = makeRng('lattice-union');
    for (let t = 0; t < 500; t++) {
      const list: Lattice[] = [];
      for (let k = rng.int(1, 6); k > 0; k--) {
        const l = randomLattice(rng);
        if (l) list.push(l);
      }
      const union = new Set(list.flatMap(entries));
      const { pieces, exact } = signedUnion(list);
      expect(exact).toBe(true);
      const count = new Map<string, number>();
      for (const p of pieces) for (const e of entries(p)) count.set(e, (count.get(e) ?? 0) + p.sign);
      for (const [e, c] of count) expect(c, e).toBe(union.has(e) ? 1 : 0);
      for (const e of union) expect(count.get(e)).toBe(1);
      expect(signedCount(pieces)).toBe(union.size);
      // prune keeps the union and drops contained sets.
      expect(new Set(prune(list).flatMap(entries))).toEqual(union);
    }
  });

  it('past the piece limit: the pruned list, marked inexact, still covering the union', () => {
    const rng = makeRng('lattice-limit');
    const list: Lattice[] = [];
    while (list.length < 8) {
      const l = randomLattice(rng);
      if (l) list.push(l);
    }
    const { pieces, exact } = signedUnion(list, 2);
    expect(exact).toBe(false);
    expect(pieces.every((p) => p.sign === 1)).toBe(true);
    expect(new Set(pieces.flatMap(entries))).toEqual(new Set(list.flatMap(entries)));
  });

  it('transposeLattice swaps the row and column halves', () => {
    const l = normalize([[0, 0], 2, [1, 1], [0, -1]], [[1, 3], [0, 2]])!;
    const t = transposeLattice(l, 2);
    const swap = (e: string) => {
      const p = e.split(',');
      return [...p.slice(2), ...p.slice(0, 2)].join(',');
    };
    expect(new Set(entries(t))).toEqual(new Set(entries(l).map(swap)));
  });
});
