// A damped Newton solver (Levenberg–Marquardt style) for any smooth objective whose
// value, gradient and dense Hessian are available, such as the modules hessgen generates.
//
// Each iteration solves (H + λI) p = −g with a Cholesky factorization and tries θ + p:
//   - the factorization fails (H + λI is not positive definite)  → λ ← 10 λ, retry;
//   - the trial point does not decrease f                          → λ ← ν λ, ν ← 2 ν, retry;
//   - the trial point decreases f                                  → accept; λ shrinks by a
//     factor between 1/3 and 1 depending on how well the quadratic model predicted the
//     decrease (the gain ratio ρ; after Nielsen: λ ← λ · max(1/10, 1 − (2ρ − 1)³), ν ← 2).
// λ = 0 is the pure Newton step (quadratic convergence near a minimum with a positive
// definite Hessian); a large λ gives a short step along −g. λ below `lambdaMin` becomes 0.
// The solver stops when ‖g‖∞ < tolerance, after maxIterations accepted steps, or when no λ
// up to lambdaMax yields an acceptable step (stalled).
//
// All working memory (θ, trial θ, g, H, the factor, the step) is allocated once per call
// of `newtonSolve`; the iterations themselves allocate nothing (the objective may).

/** What the objective returns at a point. The arrays may be reused by the objective
 *  between calls: the solver copies what it keeps. */
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
  /** Value, gradient and Hessian at θ. θ must not be kept: the solver reuses it. */
  evaluate(theta: Float64Array): NewtonEvaluation;
  /** Optional: the value alone, used for trial points that may be rejected (cheaper than
   *  `evaluate` when the Hessian is large). */
  value?(theta: Float64Array): number;
}

/** One accepted step, or the starting point (iteration 0). */
export interface NewtonIteration {
  /** 0 for the starting point, then 1, 2, … per accepted step. */
  readonly iteration: number;
  /** f at the current point (after the step). */
  readonly value: number;
  /** ‖g‖∞ at the current point. */
  readonly gradientNorm: number;
  /** The damping λ that produced this step (at iteration 0: the initial λ). */
  readonly lambda: number;
  /** ‖p‖₂ of the step just taken (0 at iteration 0). */
  readonly stepNorm: number;
  /** Trial steps rejected (failed factorization or no decrease) before this one was accepted. */
  readonly rejected: number;
  /** The current point. Valid only during the callback: copy it to keep it. */
  readonly theta: Float64Array;
}

export interface NewtonOptions {
  /** Stop when ‖g‖∞ < tolerance. Default 1e-8. */
  tolerance?: number;
  /** Maximum number of accepted steps. Default 100. */
  maxIterations?: number;
  /** Initial damping. Default 1e-3 · max |H_ii| at the start (0 starts with a pure Newton step). */
  lambdaInitial?: number;
  /** Below this, a decreased λ becomes exactly 0 (pure Newton). Default 1e-12. */
  lambdaMin?: number;
  /** Give up (reason 'stalled') when λ would exceed this. Default 1e16. */
  lambdaMax?: number;
  /** Called for the starting point and after every accepted step. */
  onIteration?: (info: NewtonIteration) => void;
}

export type NewtonStopReason = 'converged' | 'max-iterations' | 'stalled' | 'non-finite';

export interface NewtonResult {
  /** The final point (a fresh array owned by the caller). */
  readonly theta: Float64Array;
  readonly value: number;
  readonly gradientNorm: number;
  /** Accepted steps taken. */
  readonly iterations: number;
  /** Calls of `evaluate` plus calls of `value`. */
  readonly evaluations: number;
  /** Cholesky factorizations attempted (including failed ones). */
  readonly factorizations: number;
  readonly converged: boolean;
  readonly reason: NewtonStopReason;
}

const EPSILON = Number.EPSILON;

/**
 * Minimizes `problem` from `theta0` (length n, not modified).
 */
export function newtonSolve(
  problem: NewtonProblem,
  theta0: ArrayLike<number>,
  options: NewtonOptions = {},
): NewtonResult {
  const n = problem.n;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`newtonSolve: n must be a positive integer, got ${n}`);
  if (theta0.length !== n) throw new RangeError(`newtonSolve: theta0 has length ${theta0.length}, expected ${n}`);
  const tolerance = options.tolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 100;
  const lambdaMin = options.lambdaMin ?? 1e-12;
  const lambdaMax = options.lambdaMax ?? 1e16;
  if (options.lambdaInitial !== undefined && !(options.lambdaInitial >= 0))
    throw new RangeError('newtonSolve: lambdaInitial must be >= 0');
  const onIteration = options.onIteration;

  // Working memory, allocated once.
  const theta = Float64Array.from(theta0);
  const trial = new Float64Array(n);
  const gradient = new Float64Array(n);
  const hessian = new Float64Array(n * n);
  const factor = new Float64Array(n * n);
  const step = new Float64Array(n);

  let evaluations = 0;
  let factorizations = 0;

  // Evaluates at `point`, checking the lengths of what comes back.
  const evaluateFull = (point: Float64Array): NewtonEvaluation => {
    evaluations++;
    const e = problem.evaluate(point);
    if (e.gradient.length !== n) throw new RangeError(`newtonSolve: gradient has length ${e.gradient.length}, expected ${n}`);
    if (e.hessian.length !== n * n) throw new RangeError(`newtonSolve: hessian has length ${e.hessian.length}, expected ${n * n}`);
    return e;
  };
  // Copies g and H into the solver's buffers (the objective may reuse its arrays).
  const keep = (e: NewtonEvaluation): void => {
    copyInto(gradient, e.gradient);
    copyInto(hessian, e.hessian);
  };
  // max |H_ii|: the scale of the damping, whatever the units of the problem.
  const diagonalScale = (): number => {
    let d = 0;
    for (let i = 0; i < n; i++) d = Math.max(d, Math.abs(hessian[i * n + i]));
    return d;
  };

  const first = evaluateFull(theta);
  let value = first.value;
  keep(first);
  let gradientNorm = infNorm(gradient);
  let lambda = options.lambdaInitial ?? 1e-3 * diagonalScale();
  if (lambda < lambdaMin) lambda = 0;
  let nu = 2;

  const report = (iteration: number, usedLambda: number, stepNorm: number, rejected: number): void => {
    onIteration?.({ iteration, value, gradientNorm, lambda: usedLambda, stepNorm, rejected, theta });
  };
  report(0, lambda, 0, 0);

  const finish = (iterations: number, reason: NewtonStopReason): NewtonResult => ({
    theta: Float64Array.from(theta),
    value,
    gradientNorm,
    iterations,
    evaluations,
    factorizations,
    converged: reason === 'converged',
    reason,
  });

  if (!Number.isFinite(value) || !Number.isFinite(gradientNorm)) return finish(0, 'non-finite');

  // λ after a rejection: multiply, or start from a small multiple of the diagonal when λ is 0.
  const increase = (factor: number): number =>
    lambda === 0 ? Math.max(lambdaMin, 1e-8 * diagonalScale()) : lambda * factor;

  for (let iteration = 1; ; iteration++) {
    if (gradientNorm < tolerance) return finish(iteration - 1, 'converged');
    if (iteration > maxIterations) return finish(iteration - 1, 'max-iterations');

    let rejected = 0;
    for (;;) {
      if (lambda > lambdaMax) return finish(iteration - 1, 'stalled');
      factorizations++;
      if (!choleskyShifted(hessian, lambda, factor, n)) {
        rejected++;
        lambda = increase(10);
        continue;
      }
      // p = −(H + λI)⁻¹ g
      for (let i = 0; i < n; i++) step[i] = -gradient[i];
      choleskySolve(factor, step, n);
      let stepNorm2 = 0;
      let gp = 0;
      for (let i = 0; i < n; i++) {
        trial[i] = theta[i] + step[i];
        stepNorm2 += step[i] * step[i];
        gp += gradient[i] * step[i];
      }
      // Decrease predicted by the quadratic model: −(gᵀp + ½ pᵀHp) = ½ (λ‖p‖² − gᵀp),
      // using (H + λI) p = −g.
      const predicted = 0.5 * (lambda * stepNorm2 - gp);

      // Is the trial point better? Compare values; when the change is at the level of
      // rounding (near a minimum, f no longer resolves progress), compare gradient norms.
      let accepted = false;
      let full: NewtonEvaluation | undefined;
      let trialValue: number;
      if (problem.value) {
        evaluations++;
        trialValue = problem.value(trial);
      } else {
        full = evaluateFull(trial);
        trialValue = full.value;
      }
      if (Number.isFinite(trialValue)) {
        const noise = 8 * EPSILON * Math.max(Math.abs(value), Math.abs(trialValue));
        if (trialValue < value - noise) {
          accepted = true;
        } else if (trialValue <= value + noise) {
          full ??= evaluateFull(trial);
          accepted = infNorm(full.gradient) < gradientNorm;
        }
      }

      if (!accepted) {
        rejected++;
        lambda = increase(nu);
        nu *= 2;
        continue;
      }

      full ??= evaluateFull(trial);
      const rho = predicted > 0 ? (value - full.value) / predicted : 1;
      theta.set(trial);
      value = full.value;
      keep(full);
      gradientNorm = infNorm(gradient);
      const usedLambda = lambda;
      const r = 2 * Math.min(Math.max(rho, 0), 1) - 1;
      lambda *= Math.max(0.1, 1 - r * r * r);
      if (lambda < lambdaMin) lambda = 0;
      nu = 2;
      report(iteration, usedLambda, Math.sqrt(stepNorm2), rejected);
      if (!Number.isFinite(value) || !Number.isFinite(gradientNorm)) return finish(iteration, 'non-finite');
      break;
    }
  }
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

function infNorm(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    // NaN propagates (a comparison with NaN is false, so test it explicitly).
    if (a > m || a !== a) m = a;
    if (m !== m) return m;
  }
  return m;
}

function copyInto(dst: Float64Array, src: ArrayLike<number>): void {
  if (src instanceof Float64Array) dst.set(src);
  else for (let i = 0; i < dst.length; i++) dst[i] = src[i];
}
