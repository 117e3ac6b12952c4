// Helpers for the sparse-solver tests: patterns from edge lists, dense copies, a seeded generator.
import type { SymmetricPattern } from '../../runtime/sparse-ordering.ts';

export function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The symmetric CSR pattern with a full diagonal and both (i, j) and (j, i) for each edge. */
export function patternFromEdges(n: number, edges: readonly (readonly [number, number])[]): SymmetricPattern {
  const rows: Set<number>[] = Array.from({ length: n }, (_, i) => new Set([i]));
  for (const [i, j] of edges) {
    rows[i]!.add(j);
    rows[j]!.add(i);
  }
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    cols.push(...[...rows[i]!].sort((a, b) => a - b));
    rowPtr[i + 1] = cols.length;
  }
  return { n, rowPtr, colIdx: Int32Array.from(cols) };
}

/** Relabels a pattern: vertex i becomes q[i]. */
export function relabel(p: SymmetricPattern, q: ArrayLike<number>): SymmetricPattern {
  const edges: [number, number][] = [];
  for (let i = 0; i < p.n; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) if (p.colIdx[k]! > i) edges.push([q[i]!, q[p.colIdx[k]!]!]);
  return patternFromEdges(p.n, edges);
}

export function shuffled(n: number, rand: () => number): Int32Array {
  const q = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
  return q;
}

/** Symmetric values for a pattern: off-diagonals uniform in (−1, 1), diagonal = row sum of |·| + margin (SPD when margin > 0). */
export function spdValues(p: SymmetricPattern, rand: () => number, margin: number): Float64Array {
  const v = new Float64Array(p.colIdx.length);
  const dense = new Map<number, number>();
  for (let i = 0; i < p.n; i++)
    for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) {
      const j = p.colIdx[k]!;
      if (j > i) dense.set(i * p.n + j, 2 * rand() - 1);
    }
  const rowSum = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++)
    for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) {
      const j = p.colIdx[k]!;
      if (j === i) continue;
      const x = dense.get(Math.min(i, j) * p.n + Math.max(i, j))!;
      v[k] = x;
      rowSum[i] += Math.abs(x);
    }
  for (let i = 0; i < p.n; i++)
    for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) if (p.colIdx[k] === i) v[k] = rowSum[i]! + margin;
  return v;
}

/** The dense row-major matrix of a pattern's values. */
export function toDense(p: SymmetricPattern, values: ArrayLike<number>): Float64Array {
  const a = new Float64Array(p.n * p.n);
  for (let i = 0; i < p.n; i++) for (let k = p.rowPtr[i]!; k < p.rowPtr[i + 1]!; k++) a[i * p.n + p.colIdx[k]!] = values[k]!;
  return a;
}

export function denseMatVec(a: Float64Array, x: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
    y[i] = s;
  }
  return y;
}

export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}
