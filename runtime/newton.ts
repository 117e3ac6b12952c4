// A damped Newton solver (Levenberg–Marquardt damping on the exact Hessian) for any smooth
// objective whose value, gradient and dense Hessian are available, such as the modules hessgen
// generates. The iteration (step, acceptance, damping by the gain ratio) is runtime/damped-newton.ts;
// this file is its dense linear algebra: (H + λI) p = −g by a Cholesky factorization.
//
// Memory: one n × n buffer, allocated once per solve. The objective writes H into it (both
// triangles; only the lower one is read, then mirrored), the factorization overwrites the lower
// triangle with L in place, and a retry with a larger λ restores the lower triangle from the
// upper one and a saved diagonal. Nothing n² is allocated per iteration.

import { checkStart, dampedMinimize, type DampedSystem, type NewtonOptions, type NewtonResult } from './damped-newton.ts';

export type { NewtonIteration, NewtonOptions, NewtonResult, NewtonStopReason } from './damped-newton.ts';

/** What an objective may return instead of writing into the solver's buffers (e.g. a module whose
 *  `evaluate` allocates): the solver copies it. */
export interface NewtonEvaluation {
  readonly value: number;
  /** Length n. */
  readonly gradient: ArrayLike<number>;
  /** Dense, row-major, length n·n. Only the lower triangle is read. */
  readonly hessian: ArrayLike<number>;
}

export interface NewtonProblem {
  /** Number of unknowns. */
  readonly n: number;
  /**
   * Value, gradient and Hessian at θ. Write g into `gradient` (length n) and H into `hessian`
   * (row-major n × n; the lower triangle is read) and return f, e.g. with a generated module:
   * `(θ, g, H) => (hessian(θ, data, H), gradient(θ, data, g), value(θ, data))`. Or return a
   * NewtonEvaluation and the solver copies it. θ and the buffers must not be kept: the solver reuses them.
   */
  evaluate(theta: Float64Array, gradient: Float64Array, hessian: Float64Array): number | NewtonEvaluation;
  /** Optional: the value alone, for trial points that may be rejected. Without it a rejected
   *  trial point costs a second `evaluate` (at θ, to restore H). */
  value?(theta: Float64Array): number;
}

/** Dense (M + λD) = L Lᵀ in one n × n buffer (see the file comment); also used by levenberg-marquardt.ts. */
export class DenseSystem implements DampedSystem {
  readonly matrix: Float64Array;
  private readonly savedDiagonal: Float64Array;
  private factoredInPlace = false;

  constructor(private readonly n: number) {
    this.matrix = new Float64Array(n * n);
    this.savedDiagonal = new Float64Array(n);
  }

  loaded(): void {
    const { n, matrix: m } = this;
    for (let i = 0; i < n; i++) {
      this.savedDiagonal[i] = m[i * n + i]!;
      for (let j = 0; j < i; j++) m[j * n + i] = m[i * n + j]!;
    }
    this.factoredInPlace = false;
  }

  diagonal(out: Float64Array): void {
    out.set(this.savedDiagonal);
  }

  factor(lambda: number, d: Float64Array): boolean {
    const { n, matrix: m } = this;
    if (this.factoredInPlace) {
      for (let i = 0; i < n; i++) {
        m[i * n + i] = this.savedDiagonal[i]!;
        for (let j = 0; j < i; j++) m[i * n + j] = m[j * n + i]!;
      }
    }
    this.factoredInPlace = true;
    for (let i = 0; i < n; i++) m[i * n + i]! += lambda * d[i]!;
    return choleskyShifted(m, 0, m, n);
  }

  solve(b: Float64Array): void {
    choleskySolve(this.matrix, b, this.n);
  }
}

/**
 * Minimizes `problem` from `theta0` (length n, not modified). Options and result: see
 * runtime/damped-newton.ts (defaults: tolerance 1e-8 on ‖g‖∞, 100 iterations, λ₀ = 1e-3 · max |H_ii|).
 */
export function newtonSolve(problem: NewtonProblem, theta0: ArrayLike<number>, options: NewtonOptions = {}): NewtonResult {
  const n = problem.n;
  checkStart('newtonSolve', n, theta0);
  const system = new DenseSystem(n);
  const h = system.matrix;
  return dampedMinimize(
    {
      n,
      evaluate(theta, gradient) {
        const e = problem.evaluate(theta, gradient, h);
        if (typeof e === 'number') return e;
        if (e === null || typeof e !== 'object') throw new RangeError(`newtonSolve: evaluate must return a number or { value, gradient, hessian }, got ${String(e)}`);
        if (e.gradient.length !== n) throw new RangeError(`newtonSolve: gradient has length ${e.gradient.length}, expected ${n}`);
        if (e.hessian.length !== n * n) throw new RangeError(`newtonSolve: hessian has length ${e.hessian.length}, expected ${n * n}`);
        if (e.gradient !== gradient) copyInto(gradient, e.gradient);
        if (e.hessian !== h) copyInto(h, e.hessian);
        return e.value;
      },
      value: problem.value?.bind(problem),
    },
    system,
    theta0,
    { ...options, solver: 'newtonSolve', scaling: 'identity', shrinkLimit: 0.1 },
  );
}

/**
 * Cholesky factorization of A + shift·I (A symmetric, row-major n×n; only its lower
 * triangle is read) into `out`'s lower triangle: A + shift·I = L Lᵀ. Returns false when
 * the matrix is not (numerically) positive definite. Row-oriented (Cholesky–Banachiewicz)
 * so that the inner products run over contiguous memory.
 */
export function choleskyShifted(a: ArrayLike<number>, shift: number, out: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j];
      if (i === j) s += shift;
      for (let k = 0; k < j; k++) s -= out[ri + k] * out[rj + k];
      if (i === j) {
        // `!(s > 0)` also catches NaN.
        if (!(s > 0)) return false;
        out[ri + i] = Math.sqrt(s);
      } else {
        out[ri + j] = s / out[rj + j];
      }
    }
  }
  return true;
}

/** Solves L Lᵀ x = b in place (b becomes x), L from `choleskyShifted`. */
export function choleskySolve(l: Float64Array, b: Float64Array, n: number): void {
  // Forward substitution: L y = b.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[k];
    b[i] = s / l[ri + i];
  }
  // Back substitution: Lᵀ x = y, column-oriented so that row i of L is read contiguously.
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const x = b[i] / l[ri + i];
    b[i] = x;
    for (let k = 0; k < i; k++) b[k] -= l[ri + k] * x;
  }
}

function copyInto(dst: Float64Array, src: ArrayLike<number>): void {
  if (src instanceof Float64Array) dst.set(src);
  else for (let i = 0; i < dst.length; i++) dst[i] = src[i]!;
}
