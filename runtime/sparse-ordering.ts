// Fill-reducing orderings for the sparse Cholesky factorization (runtime/sparse-cholesky.ts).
//
// Factoring P A Pᵀ instead of A changes how many entries L has (the "fill"), not the solution.
// Two orderings are offered:
//   - 'minimum-degree' (the default): greedy elimination of a vertex of least degree in the
//     elimination graph, the graph that Gaussian elimination itself produces (eliminating v joins
//     all of v's neighbours into a clique). Degrees are exact, not approximate as in AMD, and the
//     graph is kept explicitly, as adjacency arrays (its edges are a subset of L's, so memory
//     stays O(nnz(L))). Rows
//     whose degree exceeds max(16, 10√n) are set aside and ordered last, as AMD does: they would
//     make every neighbour's clique dense for nothing, and a dense model's pattern then costs no
//     ordering work at all. Minimum degree gives no fill on chains, trees and arrowheads in any
//     input order, and much less than banded orderings on meshes (test/runtime/sparse-ordering.test.ts).
//   - 'rcm' (reverse Cuthill–McKee): breadth-first search from a pseudo-peripheral vertex,
//     neighbours by increasing degree, then reversed. It minimizes bandwidth, so the fill stays
//     inside the band: optimal for chains and banded Hessians, but on a k × k mesh it leaves k³
//     entries in L where minimum degree leaves far fewer.
//   - 'natural': the identity (for comparisons, and when the caller has ordered the unknowns).
//
// Every ordering returns `perm` with perm[k] = the original index of the k-th pivot.

/** A symmetric sparsity pattern in compressed sparse rows (both triangles; a diagonal is optional). */
export interface SymmetricPattern {
  readonly n: number;
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
}

export type OrderingMethod = 'minimum-degree' | 'rcm' | 'natural';

/** Checks a CSR pattern and throws a RangeError naming `what` on the first inconsistency. */
export function checkPattern(pattern: SymmetricPattern, what = 'pattern'): void {
  const { n, rowPtr, colIdx } = pattern;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what}.n must be a positive integer, got ${n}`);
  if (!(rowPtr instanceof Int32Array) || rowPtr.length !== n + 1)
    throw new RangeError(`${what}.rowPtr must be an Int32Array of length n + 1 = ${n + 1}`);
  if (!(colIdx instanceof Int32Array)) throw new RangeError(`${what}.colIdx must be an Int32Array`);
  if (rowPtr[0] !== 0 || rowPtr[n] !== colIdx.length)
    throw new RangeError(`${what}.rowPtr must start at 0 and end at colIdx.length = ${colIdx.length}, got ${rowPtr[0]} … ${rowPtr[n]}`);
  for (let i = 0; i < n; i++) {
    if (rowPtr[i + 1]! < rowPtr[i]!) throw new RangeError(`${what}.rowPtr decreases at row ${i}`);
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      const j = colIdx[p]!;
      if (j < 0 || j >= n) throw new RangeError(`${what}.colIdx[${p}] = ${j} is outside 0 … ${n - 1} (row ${i})`);
      if (p > rowPtr[i]! && j <= colIdx[p - 1]!) throw new RangeError(`${what}: row ${i}'s column indices are not strictly increasing at colIdx[${p}]`);
    }
  }
  // Symmetry: every (i, j) has its (j, i). Binary search in the sorted row j.
  for (let i = 0; i < n; i++) {
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      const j = colIdx[p]!;
      if (findInRow(pattern, j, i) < 0) throw new RangeError(`${what} is not symmetric: (${i}, ${j}) is present but (${j}, ${i}) is not`);
    }
  }
}

/** Position of column j in row i of a sorted CSR pattern, or −1. */
export function findInRow(pattern: SymmetricPattern, i: number, j: number): number {
  let lo = pattern.rowPtr[i]!;
  let hi = pattern.rowPtr[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = pattern.colIdx[mid]!;
    if (c === j) return mid;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A fill-reducing permutation of the pattern's unknowns (perm[k] = original index of pivot k). */
export function fillReducingOrder(pattern: SymmetricPattern, method: OrderingMethod = 'minimum-degree'): Int32Array {
  switch (method) {
    case 'minimum-degree':
      return minimumDegree(pattern);
    case 'rcm':
      return reverseCuthillMcKee(pattern);
    case 'natural':
      return Int32Array.from({ length: pattern.n }, (_, i) => i);
    default:
      throw new RangeError(`ordering must be 'minimum-degree', 'rcm' or 'natural', got ${JSON.stringify(method)}`);
  }
}

function minimumDegree(pattern: SymmetricPattern): Int32Array {
  const { n, rowPtr, colIdx } = pattern;
  const denseDegree = Math.max(16, Math.floor(10 * Math.sqrt(n)));
  const perm = new Int32Array(n);
  const isDense = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) if (colIdx[p] !== i) d++;
    if (d > denseDegree) isDense[i] = 1;
  }
  // The elimination graph among the sparse vertices, as adjacency arrays (rebuilt for each
  // neighbour of an eliminated vertex; deduplicated with a stamp per vertex).
  // A vertex's neighbours: its row of the pattern (minus itself and the dense rows) until its
  // first update, then an array of its own. Plain arrays, created only on update: V8 allocates
  // small typed arrays slowly, and a chain would otherwise build n arrays before starting.
  const adj: (number[] | null)[] = [];
  const initialDegree = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    adj.push(null);
    if (isDense[i]) continue;
    let d = 0;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) if (colIdx[p] !== i && !isDense[colIdx[p]!]) d++;
    initialDegree[i] = d;
  }
  const neighboursOf = (v: number, out: number[]): number[] => {
    const own = adj[v];
    if (own) return own;
    out.length = 0;
    for (let p = rowPtr[v]!; p < rowPtr[v + 1]!; p++) if (colIdx[p] !== v && !isDense[colIdx[p]!]) out.push(colIdx[p]!);
    return out;
  };
  const scratchV: number[] = [];
  const scratchU: number[] = [];
  // Vertices bucketed by degree in doubly linked lists (head[d] → next → …).
  const head = new Int32Array(n + 1).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  const degree = new Int32Array(n);
  const link = (v: number, d: number): void => {
    degree[v] = d;
    prev[v] = -1;
    next[v] = head[d]!;
    if (head[d]! >= 0) prev[head[d]!] = v;
    head[d] = v;
  };
  const unlink = (v: number): void => {
    const d = degree[v]!;
    if (prev[v]! >= 0) next[prev[v]!] = next[v]!;
    else head[d] = next[v]!;
    if (next[v]! >= 0) prev[next[v]!] = prev[v]!;
  };
  // Insert in decreasing index order so that ties go to the lowest index (deterministic, and the
  // natural order where it is already as good).
  let sparseCount = 0;
  for (let i = n - 1; i >= 0; i--) {
    if (!isDense[i]) {
      link(i, initialDegree[i]!);
      sparseCount++;
    }
  }
  const stamp = new Int32Array(n).fill(-1);
  let stampNow = 0;
  let minDegree = 0;
  for (let k = 0; k < sparseCount; k++) {
    while (head[minDegree]! < 0) minDegree++;
    const v = head[minDegree]!;
    unlink(v);
    perm[k] = v;
    const nv = neighboursOf(v, scratchV);
    adj[v] = null;
    // Eliminating v: its neighbours become a clique. Each neighbour u's list becomes
    // (adj[u] \ {v}) ∪ (adj[v] \ {u}).
    for (let a = 0; a < nv.length; a++) {
      const u = nv[a]!;
      const au = neighboursOf(u, scratchU);
      stampNow++;
      stamp[u] = stampNow;
      stamp[v] = stampNow;
      const merged: number[] = [];
      for (let b = 0; b < au.length; b++) {
        const w = au[b]!;
        if (stamp[w] !== stampNow) {
          stamp[w] = stampNow;
          merged.push(w);
        }
      }
      for (let b = 0; b < nv.length; b++) {
        const w = nv[b]!;
        if (stamp[w] !== stampNow) {
          stamp[w] = stampNow;
          merged.push(w);
        }
      }
      adj[u] = merged;
      if (merged.length !== degree[u]) {
        unlink(u);
        link(u, merged.length);
        if (merged.length < minDegree) minDegree = merged.length;
      }
    }
  }
  let k = sparseCount;
  for (let i = 0; i < n; i++) if (isDense[i]) perm[k++] = i;
  return perm;
}

function reverseCuthillMcKee(pattern: SymmetricPattern): Int32Array {
  const { n, rowPtr, colIdx } = pattern;
  const degree = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) if (colIdx[p] !== i) d++;
    degree[i] = d;
  }
  const order = new Int32Array(n);
  const visited = new Uint8Array(n);
  const level = new Int32Array(n);
  const scratch: number[] = [];
  let filled = 0;
  // Breadth-first search from `start` over unvisited vertices, writing into order[from…]; returns
  // the end and leaves each vertex's level in `level`. `mark` = 1 marks permanently.
  const bfs = (start: number, from: number, mark: number, out: Int32Array): number => {
    let tail = from;
    out[tail++] = start;
    visited[start] = 2;
    level[start] = 0;
    for (let h = from; h < tail; h++) {
      const v = out[h]!;
      scratch.length = 0;
      for (let p = rowPtr[v]!; p < rowPtr[v + 1]!; p++) {
        const u = colIdx[p]!;
        if (visited[u] === 0) {
          visited[u] = 2;
          level[u] = level[v]! + 1;
          scratch.push(u);
        }
      }
      scratch.sort((a, b) => degree[a]! - degree[b]! || a - b);
      for (const u of scratch) out[tail++] = u;
    }
    for (let h = from; h < tail; h++) visited[out[h]!] = mark;
    return tail;
  };
  const probe = new Int32Array(n);
  for (let seed = 0; seed < n; seed++) {
    if (visited[seed]) continue;
    // A pseudo-peripheral start (George–Liu): move to a least-degree vertex of the last level
    // while that makes the level structure deeper.
    let start = seed;
    let depth = -1;
    for (let tries = 0; tries < 8; tries++) {
      const end = bfs(start, 0, 0, probe);
      const last = level[probe[end - 1]!]!;
      if (last <= depth) break;
      depth = last;
      let best = -1;
      for (let h = 0; h < end; h++) {
        const v = probe[h]!;
        if (level[v] === last && (best < 0 || degree[v]! < degree[best]!)) best = v;
      }
      start = best;
    }
    filled = bfs(start, filled, 1, order);
  }
  const perm = new Int32Array(n);
  for (let k = 0; k < n; k++) perm[k] = order[n - 1 - k]!;
  return perm;
}
