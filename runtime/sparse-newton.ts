// Damped Newton on a sparse Hessian: the iteration of runtime/damped-newton.ts with (H + λI) p = −g
// solved by the sparse Cholesky factorization of runtime/sparse-cholesky.ts. For a hessgen module
// the pattern is `model.hessianPattern` and the values come from `hessianSparse(θ, data, values)`.
// The symbolic analysis (ordering, elimination tree, nnz(L)) is done once per solve; each
// factorization reuses it. Memory: O(n + nnz(H) + nnz(L)), all allocated before the first step.

import { dampedMinimize, checkStart, type DampedSystem, type NewtonOptions, type NewtonResult } from './damped-newton.ts';
import { analyzeCholesky, SparseCholesky, type CholeskyAnalysis } from './sparse-cholesky.ts';
import type { OrderingMethod, SymmetricPattern } from './sparse-ordering.ts';

export interface SparseNewtonProblem {
  readonly n: number;
  /** The Hessian's structure: CSR of the full symmetric matrix (e.g. a module's `model.hessianPattern`). */
  readonly pattern: SymmetricPattern;
  /** Writes g into `gradient` and the Hessian's entries, in pattern order, into `values`; returns f. */
  evaluate(theta: Float64Array, gradient: Float64Array, values: Float64Array): number;
  /** Optional: f alone, for trial points that may be rejected. */
  value?(theta: Float64Array): number;
}

export interface SparseNewtonOptions extends NewtonOptions {
  /** Fill-reducing ordering (default 'minimum-degree'; see runtime/sparse-ordering.ts). */
  readonly ordering?: OrderingMethod;
}

export interface SparseNewtonResult extends NewtonResult {
  /** The symbolic analysis used: ordering, nnzA, nnzL, …. */
  readonly analysis: CholeskyAnalysis;
}

/** What `sparseNewtonProblem` needs from a generated module. */
export interface SparseHessianModule<D> {
  readonly model: { readonly n: number; readonly hessianPattern: SymmetricPattern };
  value(theta: ArrayLike<number>, data: D): number;
  gradient(theta: ArrayLike<number>, data: D, out?: Float64Array): Float64Array;
  hessianSparse(theta: ArrayLike<number>, data: D, values?: Float64Array): Float64Array;
}

/** A generated module's value, gradient and hessianSparse as a SparseNewtonProblem. */
export function sparseNewtonProblem<D>(mod: SparseHessianModule<D>, data: D): SparseNewtonProblem {
  return {
    n: mod.model.n,
    pattern: mod.model.hessianPattern,
    evaluate(theta, gradient, values) {
      mod.hessianSparse(theta, data, values);
      mod.gradient(theta, data, gradient);
      return mod.value(theta, data);
    },
    value: (theta) => mod.value(theta, data),
  };
}

class SparseSystem implements DampedSystem {
  readonly values: Float64Array;
  readonly cholesky: SparseCholesky;

  constructor(analysis: CholeskyAnalysis) {
    this.values = new Float64Array(analysis.nnzA);
    this.cholesky = new SparseCholesky(analysis);
  }

  loaded(): void {}

  diagonal(out: Float64Array): void {
    const src = this.cholesky.analysis.diagonalSource;
    for (let i = 0; i < out.length; i++) out[i] = src[i]! >= 0 ? this.values[src[i]!]! : 0;
  }

  factor(lambda: number, d: Float64Array): boolean {
    return this.cholesky.factor(this.values, d, lambda);
  }

  solve(b: Float64Array): void {
    this.cholesky.solve(b);
  }
}

/** Minimizes `problem` from `theta0` (not modified); options and stopping rules as newtonSolve's. */
export function sparseNewtonSolve(problem: SparseNewtonProblem, theta0: ArrayLike<number>, options: SparseNewtonOptions = {}): SparseNewtonResult {
  const n = problem.n;
  checkStart('sparseNewtonSolve', n, theta0);
  if (problem.pattern == null || problem.pattern.n !== n)
    throw new RangeError(`sparseNewtonSolve: pattern.n is ${problem.pattern?.n}, expected n = ${n}`);
  const analysis = analyzeCholesky(problem.pattern, { ordering: options.ordering ?? 'minimum-degree' });
  const system = new SparseSystem(analysis);
  const values = system.values;
  const result = dampedMinimize(
    {
      n,
      evaluate: (theta, gradient) => problem.evaluate(theta, gradient, values),
      value: problem.value?.bind(problem),
    },
    system,
    theta0,
    { ...options, solver: 'sparseNewtonSolve', scaling: 'identity', shrinkLimit: 0.1 },
  );
  return { ...result, analysis };
}
