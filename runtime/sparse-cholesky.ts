// Sparse Cholesky factorization P (A + diag(s)) Pᵀ = L Lᵀ for a symmetric matrix given in a
// fixed CSR pattern, such as a hessgen module's `model.hessianPattern` with the values of
// `hessianSparse`. Memory is O(nnz(A) + nnz(L)); nothing n² is ever formed.
//
// `analyzeCholesky(pattern)` does everything that depends only on the pattern, once:
//   1. a fill-reducing ordering P (runtime/sparse-ordering.ts; minimum degree by default);
//   2. the upper triangle of C = P A Pᵀ by columns, as positions into A's values (so that a numeric
//      factorization reads the caller's values array directly, in any order of the pattern);
//   3. the elimination tree of C (Liu's algorithm with path compression);
//   4. the column counts of L, from the row subtrees of the tree (each row's nonzeros are the
//      vertices reached by walking up the tree from the row's entries of C), hence L's column
//      pointers: nnz(L) exactly, before any arithmetic.
// `SparseCholesky` then factors (up-looking, one row of L per step: a sparse triangular solve
// over the row's subtree) and solves, as often as needed, with all arrays allocated once.
// A shift s (a scalar, or one per unknown) is added to the diagonal, so that a damped Newton
// method can make an indefinite Hessian positive definite without rebuilding anything;
// `factor` returns false when a pivot is not positive (or not finite).

import { checkPattern, fillReducingOrder, type OrderingMethod, type SymmetricPattern } from './sparse-ordering.ts';

export interface CholeskyAnalysis {
  readonly n: number;
  /** Number of entries of the pattern (both triangles), the length of the values array. */
  readonly nnzA: number;
  /** Entries of L, diagonal included. */
  readonly nnzL: number;
  readonly ordering: OrderingMethod;
  /** perm[k] = original index of pivot k. */
  readonly perm: Int32Array;
  /** inversePerm[i] = pivot position of original unknown i. */
  readonly inversePerm: Int32Array;
  /** Elimination tree of P A Pᵀ: parent[k] (−1 at a root). */
  readonly parent: Int32Array;
  /** Column pointers of L (length n + 1). */
  readonly colPtr: Int32Array;
  /** Upper triangle of C = P A Pᵀ by columns: cRow[p] (≤ column) and cSource[p], the position in A's values. */
  readonly cPtr: Int32Array;
  readonly cRow: Int32Array;
  readonly cSource: Int32Array;
  /** Position of each original diagonal entry in A's values (−1 where the pattern has none). */
  readonly diagonalSource: Int32Array;
}

export interface AnalyzeOptions {
  /** Default 'minimum-degree'. */
  readonly ordering?: OrderingMethod;
}

/** The symbolic analysis of a symmetric CSR pattern (see the file comment). Checks the pattern. */
export function analyzeCholesky(pattern: SymmetricPattern, options: AnalyzeOptions = {}): CholeskyAnalysis {
  checkPattern(pattern, 'pattern');
  const ordering = options.ordering ?? 'minimum-degree';
  const perm = fillReducingOrder(pattern, ordering);
  const { n, rowPtr, colIdx } = pattern;
  const inversePerm = new Int32Array(n);
  for (let k = 0; k < n; k++) inversePerm[perm[k]!] = k;

  // C's upper triangle by columns: column k holds C(j, k) = A(perm[j], perm[k]) for j ≤ k, which
  // are row perm[k] of A (A is symmetric) restricted to inversePerm[col] ≤ k.
  const cPtr = new Int32Array(n + 1);
  const diagonalSource = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const i = perm[k]!;
    let count = 0;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      if (inversePerm[colIdx[p]!]! <= k) count++;
      if (colIdx[p] === i) diagonalSource[i] = p;
    }
    cPtr[k + 1] = cPtr[k]! + count;
  }
  const cRow = new Int32Array(cPtr[n]!);
  const cSource = new Int32Array(cPtr[n]!);
  for (let k = 0; k < n; k++) {
    const i = perm[k]!;
    let q = cPtr[k]!;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      const j = inversePerm[colIdx[p]!]!;
      if (j <= k) {
        cRow[q] = j;
        cSource[q++] = p;
      }
    }
  }

  // Elimination tree: for each column k, walk up from every j < k in column k to its current
  // root (compressing the path onto k); a root that is not k gets parent k.
  const parent = new Int32Array(n).fill(-1);
  const ancestor = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    for (let p = cPtr[k]!; p < cPtr[k + 1]!; p++) {
      let j = cRow[p]!;
      while (j !== -1 && j < k) {
        const next = ancestor[j]!;
        ancestor[j] = k;
        if (next === -1) parent[j] = k;
        j = next;
      }
    }
  }

  // Column counts: row k of L has a nonzero in every column of the row subtree reach(k).
  const counts = new Int32Array(n).fill(1); // the diagonal
  const flag = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    flag[k] = k;
    for (let p = cPtr[k]!; p < cPtr[k + 1]!; p++) {
      for (let j = cRow[p]!; flag[j] !== k; j = parent[j]!) {
        flag[j] = k;
        counts[j]!++;
      }
    }
  }
  const colPtr = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) colPtr[k + 1] = colPtr[k]! + counts[k]!;
  if (!Number.isSafeInteger(colPtr[n]) || colPtr[n]! < 0 || colPtr[n]! >= 2 ** 31 - 1)
    throw new RangeError(`pattern: L would have more than 2³¹ entries; the problem is too dense for the sparse factorization`);

  return {
    n,
    nnzA: colIdx.length,
    nnzL: colPtr[n]!,
    ordering,
    perm,
    inversePerm,
    parent,
    colPtr,
    cPtr,
    cRow,
    cSource,
    diagonalSource,
  };
}

/** Numeric factorization and solves for one analysis; every array is allocated in the constructor. */
export class SparseCholesky {
  readonly analysis: CholeskyAnalysis;
  /** L by columns: row indices and values (diagonal first in each column). */
  readonly rowIdx: Int32Array;
  readonly values: Float64Array;
  private readonly next: Int32Array;
  private readonly flag: Int32Array;
  private readonly stack: Int32Array;
  private readonly x: Float64Array;
  private factored = false;

  constructor(analysis: CholeskyAnalysis) {
    this.analysis = analysis;
    this.rowIdx = new Int32Array(analysis.nnzL);
    this.values = new Float64Array(analysis.nnzL);
    this.next = new Int32Array(analysis.n);
    this.flag = new Int32Array(analysis.n);
    this.stack = new Int32Array(analysis.n);
    this.x = new Float64Array(analysis.n);
  }

  /** Convenience: analysis and allocation in one. */
  static fromPattern(pattern: SymmetricPattern, options: AnalyzeOptions = {}): SparseCholesky {
    return new SparseCholesky(analyzeCholesky(pattern, options));
  }

  /**
   * Factors A + diag(shift) with A's entries in `a` (pattern order). `shift` is a number added to
   * every diagonal entry, or an array (length n, original order) of per-unknown shifts, each
   * multiplied by `scale` (so that λ·D needs no temporary array). Returns false when a pivot is
   * not positive (A + shift is not numerically positive definite) or not finite.
   */
  factor(a: ArrayLike<number>, shift: number | ArrayLike<number> = 0, scale = 1): boolean {
    const an = this.analysis;
    const n = an.n;
    if (a.length !== an.nnzA) throw new RangeError(`SparseCholesky.factor: values has length ${a.length}, expected nnz = ${an.nnzA}`);
    if (typeof shift !== 'number' && shift.length !== n)
      throw new RangeError(`SparseCholesky.factor: shift has length ${shift.length}, expected n = ${n}`);
    const { perm, parent, colPtr, cPtr, cRow, cSource } = an;
    const Li = this.rowIdx;
    const Lx = this.values;
    const next = this.next;
    const flag = this.flag;
    const stack = this.stack;
    const x = this.x;
    this.factored = false;
    for (let k = 0; k < n; k++) next[k] = colPtr[k]!;
    flag.fill(-1);
    x.fill(0);
    const uniform = typeof shift === 'number' ? shift : 0;
    const perUnknown = typeof shift === 'number' ? null : shift;
    for (let k = 0; k < n; k++) {
      // Scatter C(:, k)'s upper part into x and find the pattern of L(k, :) as a topologically
      // ordered stack (each path up the tree pushed in reverse so that children come first).
      let top = n;
      flag[k] = k;
      for (let p = cPtr[k]!; p < cPtr[k + 1]!; p++) {
        const j0 = cRow[p]!;
        x[j0]! += a[cSource[p]!]!;
        let len = 0;
        for (let j = j0; flag[j] !== k; j = parent[j]!) {
          stack[len++] = j;
          flag[j] = k;
        }
        while (len > 0) stack[--top] = stack[--len]!;
      }
      let d = x[k]! + (perUnknown === null ? uniform : perUnknown[perm[k]!]! * scale);
      x[k] = 0;
      // Sparse triangular solve: L(0:k−1, 0:k−1) y = C(0:k−1, k); y is row k of L.
      for (; top < n; top++) {
        const j = stack[top]!;
        const lkj = x[j]! / Lx[colPtr[j]!]!;
        x[j] = 0;
        const end = next[j]!;
        for (let p = colPtr[j]! + 1; p < end; p++) x[Li[p]!]! -= Lx[p]! * lkj;
        d -= lkj * lkj;
        Li[end] = k;
        Lx[end] = lkj;
        next[j] = end + 1;
      }
      // `!(d > 0)` also catches NaN; ∞ is not a usable pivot either.
      if (!(d > 0) || d === Infinity) return false;
      const at = next[k]!;
      Li[at] = k;
      Lx[at] = Math.sqrt(d);
      next[k] = at + 1;
    }
    this.factored = true;
    return true;
  }

  /** Solves (A + shift) x = b with the last successful factorization; b (original order) becomes x. */
  solve(b: Float64Array): void {
    const an = this.analysis;
    const n = an.n;
    if (!this.factored) throw new RangeError('SparseCholesky.solve: no successful factorization to solve with (factor() failed or was not called)');
    if (b.length !== n) throw new RangeError(`SparseCholesky.solve: b has length ${b.length}, expected n = ${n}`);
    const { perm, colPtr } = an;
    const Li = this.rowIdx;
    const Lx = this.values;
    const y = this.x;
    for (let k = 0; k < n; k++) y[k] = b[perm[k]!]!;
    // L y = P b, by columns.
    for (let j = 0; j < n; j++) {
      const p0 = colPtr[j]!;
      const yj = (y[j] = y[j]! / Lx[p0]!);
      for (let p = p0 + 1; p < colPtr[j + 1]!; p++) y[Li[p]!]! -= Lx[p]! * yj;
    }
    // Lᵀ z = y, by columns of L (rows of Lᵀ).
    for (let j = n - 1; j >= 0; j--) {
      const p0 = colPtr[j]!;
      let s = y[j]!;
      for (let p = p0 + 1; p < colPtr[j + 1]!; p++) s -= Lx[p]! * y[Li[p]!]!;
      y[j] = s / Lx[p0]!;
    }
    for (let k = 0; k < n; k++) b[perm[k]!] = y[k]!;
    y.fill(0);
  }
}
