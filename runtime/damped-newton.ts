// The iteration shared by the damped second-order solvers of hessgen/runtime: dense Newton
// (newton.ts), sparse Newton (sparse-newton.ts) and Levenberg–Marquardt on the Gauss-Newton
// matrix (levenberg-marquardt.ts). They differ only in the curvature matrix M (H or G) and in the
// linear algebra (a `DampedSystem`); this file owns the step, its acceptance and the damping.
//
// Each iteration solves (M + λD) p = −g, D a positive diagonal scaling, and tries θ + p:
//   - the factorization fails (M + λD is not positive definite)  → λ ← 10 λ, retry;
//   - the trial point does not decrease f (gain ratio ρ ≤ 0)      → λ ← ν λ, ν ← 2 ν, retry;
//   - it decreases f                                              → accept; Nielsen's update
//     λ ← λ · max(s, 1 − (2ρ − 1)³), ν ← 2 (Nielsen's s = 1/3 for Levenberg–Marquardt; 1/10 for
//     the exact-Hessian solvers, which are to reach the pure Newton step λ = 0 quickly), where ρ = actual / predicted decrease and the
//     predicted decrease is −(gᵀp + ½ pᵀMp) = ½ (λ pᵀDp − gᵀp) since (M + λD) p = −g.
// λ = 0 is the pure Newton (or Gauss-Newton) step; λ below `lambdaMin` becomes 0. D = I
// (Levenberg) or, with `scaling: 'diagonal'`, Moré's choice D_ii = the largest M_ii seen so far
// (Marquardt's scale invariance without D shrinking to zero where M_ii does). The iteration stops
// when ‖g‖∞ < tolerance ('converged'), when a step is below stepTolerance·(‖θ‖₂ + stepTolerance)
// ('small-step'), after maxIterations accepted steps, when no λ up to lambdaMax yields a decrease
// ('stalled'), or on a non-finite value or gradient at an accepted point.
//
// Near a minimum f stops resolving progress (its change is at the level of rounding); then a
// trial point is accepted when its gradient is smaller instead.
//
// Memory: θ, the trial point, two gradients, the step and D, all of length n, allocated once per
// solve; the matrix and its factor belong to the system, also allocated once.

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
  /** Stop when ‖p‖₂ ≤ stepTolerance · (‖θ‖₂ + stepTolerance). Default 0 (off) for Newton, 1e-12 for Levenberg–Marquardt. */
  stepTolerance?: number;
  /** Maximum number of accepted steps. Default 100. */
  maxIterations?: number;
  /** Initial damping. Default 1e-3 · max M_ii / max D_ii at the start (0 starts with a pure Newton step). */
  lambdaInitial?: number;
  /** Below this, a decreased λ becomes exactly 0 (pure Newton). Default 1e-12. */
  lambdaMin?: number;
  /** Give up (reason 'stalled') when λ would exceed this. Default 1e16. */
  lambdaMax?: number;
  /** Called for the starting point and after every accepted step. */
  onIteration?: (info: NewtonIteration) => void;
}

export type NewtonStopReason = 'converged' | 'small-step' | 'max-iterations' | 'stalled' | 'non-finite';

export interface NewtonResult {
  /** The final point (a fresh array owned by the caller). */
  readonly theta: Float64Array;
  readonly value: number;
  readonly gradientNorm: number;
  /** Accepted steps taken. */
  readonly iterations: number;
  /** Calls of the objective's full evaluation (value, gradient and curvature matrix) plus calls of `value` alone. */
  readonly evaluations: number;
  /** Factorizations attempted (including failed ones). */
  readonly factorizations: number;
  readonly converged: boolean;
  readonly reason: NewtonStopReason;
}

/** The linear algebra of one solver: a curvature matrix buffer and its damped factorization. */
export interface DampedSystem {
  /** Called after the objective has written a new matrix into the system's buffer. */
  loaded(): void;
  /** The matrix's diagonal M_ii (original order) into `out`. */
  diagonal(out: Float64Array): void;
  /** Factors M + λ·diag(d); false when that is not numerically positive definite. */
  factor(lambda: number, d: Float64Array): boolean;
  /** b ← (M + λD)⁻¹ b with the last successful factorization. */
  solve(b: Float64Array): void;
}

/** What the driver needs from an objective. */
export interface DampedObjective {
  readonly n: number;
  /** f at θ; writes g into `gradient` and the curvature matrix into the system's buffer. */
  evaluate(theta: Float64Array, gradient: Float64Array): number;
  /** f alone (for trial points that may be rejected), when cheaper than `evaluate`. */
  value?: ((theta: Float64Array) => number) | undefined;
}

export interface DampedSettings extends NewtonOptions {
  /** Names the solver in error messages. */
  readonly solver: string;
  readonly scaling: 'identity' | 'diagonal';
  /** The smallest factor λ shrinks by after a good step (s above). */
  readonly shrinkLimit: number;
}

const EPSILON = Number.EPSILON;

/** Checks the options every damped solver shares; throws a RangeError naming the option. */
export function checkOptions(solver: string, options: NewtonOptions): void {
  const positive = (name: keyof NewtonOptions, allowZero: boolean): void => {
    const v = options[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || Number.isNaN(v) || (allowZero ? v < 0 : v <= 0))
      throw new RangeError(`${solver}: options.${name} must be a number ${allowZero ? '>= 0' : '> 0'}, got ${String(v)}`);
  };
  positive('tolerance', true);
  positive('stepTolerance', true);
  positive('lambdaInitial', true);
  positive('lambdaMin', true);
  positive('lambdaMax', false);
  const m = options.maxIterations;
  if (m !== undefined && !(Number.isInteger(m) && m >= 0)) throw new RangeError(`${solver}: options.maxIterations must be an integer >= 0, got ${String(m)}`);
}

export function checkStart(solver: string, n: number, theta0: ArrayLike<number>): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${solver}: n must be a positive integer, got ${n}`);
  if (theta0 == null || typeof theta0.length !== 'number') throw new RangeError(`${solver}: theta0 must be an array of length ${n}`);
  if (theta0.length !== n) throw new RangeError(`${solver}: theta0 has length ${theta0.length}, expected ${n}`);
}

/** Minimizes `objective` from `theta0` (not modified) with the damped iteration described above. */
export function dampedMinimize(
  objective: DampedObjective,
  system: DampedSystem,
  theta0: ArrayLike<number>,
  settings: DampedSettings,
): NewtonResult {
  const n = objective.n;
  const solver = settings.solver;
  checkStart(solver, n, theta0);
  checkOptions(solver, settings);
  const tolerance = settings.tolerance ?? 1e-8;
  const stepTolerance = settings.stepTolerance ?? 0;
  const maxIterations = settings.maxIterations ?? 100;
  const lambdaMin = settings.lambdaMin ?? 1e-12;
  const lambdaMax = settings.lambdaMax ?? 1e16;
  const onIteration = settings.onIteration;
  const diagonalScaling = settings.scaling === 'diagonal';

  // Working memory, allocated once.
  const theta = Float64Array.from(theta0);
  const trial = new Float64Array(n);
  let gradient = new Float64Array(n);
  let trialGradient = new Float64Array(n);
  const step = new Float64Array(n);
  const d = new Float64Array(n).fill(1);
  const diag = new Float64Array(n);

  let evaluations = 0;
  let factorizations = 0;

  // Evaluates at `point` into `g` and the system's matrix.
  const evaluateAt = (point: Float64Array, g: Float64Array): number => {
    evaluations++;
    const f = objective.evaluate(point, g);
    system.loaded();
    return f;
  };
  /** max M_ii, and Moré's D update. */
  let maxDiagonal = 0;
  let maxD = 1;
  const updateScaling = (): void => {
    system.diagonal(diag);
    maxDiagonal = 0;
    for (let i = 0; i < n; i++) maxDiagonal = Math.max(maxDiagonal, Math.abs(diag[i]!));
    if (!diagonalScaling) return;
    // D_ii = max over iterations of M_ii, floored so that D stays positive definite.
    const floor = Math.max(maxDiagonal * 1e-12, 1e-300);
    maxD = 0;
    for (let i = 0; i < n; i++) maxD = Math.max(maxD, (d[i] = Math.max(d[i]!, diag[i]!, floor)));
  };
  if (diagonalScaling) d.fill(0);

  let value = evaluateAt(theta, gradient);
  updateScaling();
  let gradientNorm = infNorm(gradient);
  let lambda = settings.lambdaInitial ?? (1e-3 * maxDiagonal) / maxD;
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
  const increase = (factor: number): number => (lambda === 0 ? Math.max(lambdaMin, (1e-8 * maxDiagonal) / maxD) : lambda * factor);

  for (let iteration = 1; ; iteration++) {
    if (gradientNorm < tolerance) return finish(iteration - 1, 'converged');
    if (iteration > maxIterations) return finish(iteration - 1, 'max-iterations');

    let rejected = 0;
    for (;;) {
      if (lambda > lambdaMax) return finish(iteration - 1, 'stalled');
      factorizations++;
      if (!system.factor(lambda, d)) {
        rejected++;
        lambda = increase(10);
        continue;
      }
      // p = −(M + λD)⁻¹ g
      for (let i = 0; i < n; i++) step[i] = -gradient[i]!;
      system.solve(step);
      let stepNorm2 = 0;
      let thetaNorm2 = 0;
      let gp = 0;
      let pDp = 0;
      for (let i = 0; i < n; i++) {
        const p = step[i]!;
        trial[i] = theta[i]! + p;
        stepNorm2 += p * p;
        thetaNorm2 += theta[i]! * theta[i]!;
        gp += gradient[i]! * p;
        pDp += p * d[i]! * p;
      }
      const stepNorm = Math.sqrt(stepNorm2);
      if (stepTolerance > 0 && stepNorm <= stepTolerance * (Math.sqrt(thetaNorm2) + stepTolerance)) return finish(iteration - 1, 'small-step');
      const predicted = 0.5 * (lambda * pDp - gp);

      // Is the trial point better? Values first; within rounding of f, gradient norms.
      // `matrixAtTrial`: the system's matrix now holds M(trial), not M(θ).
      let matrixAtTrial = false;
      let trialValue: number;
      if (objective.value) {
        evaluations++;
        trialValue = objective.value(trial);
      } else {
        trialValue = evaluateAt(trial, trialGradient);
        matrixAtTrial = true;
      }
      let accepted = false;
      if (Number.isFinite(trialValue)) {
        const noise = 8 * EPSILON * Math.max(Math.abs(value), Math.abs(trialValue));
        if (trialValue < value - noise) {
          accepted = true;
        } else if (trialValue <= value + noise) {
          if (!matrixAtTrial) {
            trialValue = evaluateAt(trial, trialGradient);
            matrixAtTrial = true;
          }
          accepted = infNorm(trialGradient) < gradientNorm;
        }
      }

      if (!accepted) {
        rejected++;
        lambda = increase(nu);
        nu *= 2;
        // The next factorization needs M(θ) again.
        if (matrixAtTrial) evaluateAt(theta, gradient);
        continue;
      }

      if (!matrixAtTrial) trialValue = evaluateAt(trial, trialGradient);
      const rho = predicted > 0 ? (value - trialValue) / predicted : 1;
      theta.set(trial);
      value = trialValue;
      const swap = gradient;
      gradient = trialGradient;
      trialGradient = swap;
      gradientNorm = infNorm(gradient);
      updateScaling();
      const usedLambda = lambda;
      const r = 2 * Math.min(Math.max(rho, 0), 1) - 1;
      lambda *= Math.max(settings.shrinkLimit, 1 - r * r * r);
      if (lambda < lambdaMin) lambda = 0;
      nu = 2;
      report(iteration, usedLambda, stepNorm, rejected);
      if (!Number.isFinite(value) || !Number.isFinite(gradientNorm)) return finish(iteration, 'non-finite');
      break;
    }
  }
}

export function infNorm(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    // NaN propagates (a comparison with NaN is false, so test it explicitly).
    if (a > m || a !== a) m = a;
    if (m !== m) return m;
  }
  return m;
}
