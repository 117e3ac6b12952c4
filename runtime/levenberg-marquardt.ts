// Levenberg–Marquardt on the generalized Gauss-Newton matrix G = Σ Jᵀ (∂²L/∂out²) J (plus the exact
// Hessian of terms outside the outputs), such as a hessgen module's `gaussNewton` for a model with
// `output` declarations. For a least-squares objective ½‖r(θ)‖², G = JᵀJ: classic LM.
//
// G is positive semi-definite for convex losses, so unlike Newton the damped system needs no
// search for a positive definite shift; the damping λ trades the Gauss-Newton step (λ → 0, fast
// near a small-residual minimum) against a short scaled gradient step (large λ). The iteration is
// runtime/damped-newton.ts: gain-ratio acceptance, Nielsen's λ update (shrink ≥ 1/3 per step,
// ν-doubling growth on rejection) and Marquardt's scaling D = diag(G) kept as its running maximum
// (Moré), so the method is invariant to the units of each parameter. Stops on ‖g‖∞, on a relative
// step below stepTolerance, on maxIterations, or when λ exceeds lambdaMax ('stalled').
//
// Memory: one n × n buffer for G and its in-place factor, and a few vectors of length n, allocated
// once per solve.

import { checkStart, dampedMinimize, type NewtonOptions, type NewtonResult } from './damped-newton.ts';
import { DenseSystem } from './newton.ts';

export interface GaussNewtonProblem {
  readonly n: number;
  value(theta: Float64Array): number;
  /** Writes ∇f(θ) into `out`. */
  gradient(theta: Float64Array, out: Float64Array): void;
  /** Writes the Gauss-Newton matrix, dense row-major n × n (the lower triangle is read), into `out`. */
  gaussNewton(theta: Float64Array, out: Float64Array): void;
}

export interface LevenbergMarquardtOptions extends NewtonOptions {
  /** D = diag(G) kept at its running maximum ('diagonal', Marquardt/Moré, the default) or D = I (Levenberg). */
  readonly scaling?: 'diagonal' | 'identity';
}

export type LevenbergMarquardtResult = NewtonResult;

/** What `gaussNewtonProblem` needs from a generated module (one with `output` declarations). */
export interface GaussNewtonModule<D> {
  readonly model: { readonly n: number };
  value(theta: ArrayLike<number>, data: D): number;
  gradient(theta: ArrayLike<number>, data: D, out?: Float64Array): Float64Array;
  gaussNewton(theta: ArrayLike<number>, data: D, out?: Float64Array): Float64Array;
}

/** A generated module's value, gradient and gaussNewton as a GaussNewtonProblem. */
export function gaussNewtonProblem<D>(mod: GaussNewtonModule<D>, data: D): GaussNewtonProblem {
  return {
    n: mod.model.n,
    value: (theta) => mod.value(theta, data),
    gradient: (theta, out) => void mod.gradient(theta, data, out),
    gaussNewton: (theta, out) => void mod.gaussNewton(theta, data, out),
  };
}

/** Minimizes `problem` from `theta0` (not modified). Defaults: tolerance 1e-8 on ‖g‖∞, stepTolerance 1e-12, 100 iterations, λ₀ = 1e-3. */
export function levenbergMarquardt(problem: GaussNewtonProblem, theta0: ArrayLike<number>, options: LevenbergMarquardtOptions = {}): LevenbergMarquardtResult {
  const n = problem.n;
  checkStart('levenbergMarquardt', n, theta0);
  for (const f of ['value', 'gradient', 'gaussNewton'] as const)
    if (typeof problem[f] !== 'function') throw new RangeError(`levenbergMarquardt: problem.${f} must be a function`);
  const scaling = options.scaling ?? 'diagonal';
  if (scaling !== 'diagonal' && scaling !== 'identity')
    throw new RangeError(`levenbergMarquardt: options.scaling must be 'diagonal' or 'identity', got ${JSON.stringify(scaling)}`);
  const system = new DenseSystem(n);
  const g = system.matrix;
  return dampedMinimize(
    {
      n,
      evaluate(theta, gradient) {
        problem.gaussNewton(theta, g);
        problem.gradient(theta, gradient);
        return problem.value(theta);
      },
      value: (theta) => problem.value(theta),
    },
    system,
    theta0,
    { stepTolerance: 1e-12, ...options, solver: 'levenbergMarquardt', scaling, shrinkLimit: 1 / 3 },
  );
}
