// Levenberg–Marquardt (runtime/levenberg-marquardt.ts) on hand-written least-squares problems whose
// Jacobian J and Gauss-Newton matrix JᵀJ are formed here: known minima, agreement with the dense
// Newton solver on the exact Hessian, stopping rules and bad inputs.
import { describe, expect, it } from 'vitest';
import { levenbergMarquardt, type GaussNewtonProblem } from '../../runtime/levenberg-marquardt.ts';
import { choleskyShifted, newtonSolve } from '../../runtime/newton.ts';
import { gaussNewtonProblem } from '../../runtime/levenberg-marquardt.ts';
import * as peaks from '../../generated/peaks.ts';
import * as mlp from '../../generated/mlp_classifier.ts';
import { makeRandom, maxAbs } from './sparse-helpers.ts';

/** f = ½‖r(θ)‖² from residuals r (length m) and Jacobian J (m × n row-major); G = JᵀJ, g = Jᵀr. */
function leastSquares(n: number, m: number, residuals: (x: Float64Array, r: Float64Array, J: Float64Array) => void): GaussNewtonProblem & { calls: number } {
  const r = new Float64Array(m);
  const J = new Float64Array(m * n);
  const problem = {
    n,
    calls: 0,
    value(x: Float64Array) {
      residuals(x, r, J);
      let s = 0;
      for (let i = 0; i < m; i++) s += r[i]! * r[i]!;
      return 0.5 * s;
    },
    gradient(x: Float64Array, out: Float64Array) {
      residuals(x, r, J);
      out.fill(0);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j] += J[i * n + j]! * r[i]!;
    },
    gaussNewton(x: Float64Array, out: Float64Array) {
      problem.calls++;
      residuals(x, r, J);
      out.fill(0);
      for (let i = 0; i < m; i++) for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out[a * n + b] += J[i * n + a]! * J[i * n + b]!;
    },
  };
  return problem;
}

/** Rosenbrock as least squares: r = (10 (x2 − x1²), 1 − x1) per chained pair; minimum at all ones. */
const rosenbrockLs = (n: number) =>
  leastSquares(n, 2 * (n - 1), (x, r, J) => {
    J.fill(0);
    for (let i = 0; i + 1 < n; i++) {
      r[2 * i] = 10 * (x[i + 1]! - x[i]! * x[i]!);
      J[2 * i * n + i] = -20 * x[i]!;
      J[2 * i * n + i + 1] = 10;
      r[2 * i + 1] = 1 - x[i]!;
      J[(2 * i + 1) * n + i] = -1;
    }
  });

/** y ≈ a e^(−b t) + c on t_i = i / 4. */
function expFit(t: Float64Array, y: Float64Array) {
  const m = t.length;
  return leastSquares(3, m, (x, r, J) => {
    const [a, b, c] = x as unknown as [number, number, number];
    for (let i = 0; i < m; i++) {
      const e = Math.exp(-b * t[i]!);
      r[i] = a * e + c - y[i]!;
      J[3 * i] = e;
      J[3 * i + 1] = -a * t[i]! * e;
      J[3 * i + 2] = 1;
    }
  });
}

describe('levenbergMarquardt', () => {
  it('2-D Rosenbrock as least squares from (−1.2, 1): the minimum (1, 1)', () => {
    const r = levenbergMarquardt(rosenbrockLs(2), [-1.2, 1], { tolerance: 1e-10 });
    expect(r.converged).toBe(true);
    expect(maxAbs(r.theta.map((v) => v - 1))).toBeLessThan(1e-9);
    expect(r.iterations).toBeLessThan(40);
  });

  it('chained Rosenbrock as least squares, n = 40, from all −1.2: all ones, with both scalings', () => {
    for (const scaling of ['diagonal', 'identity'] as const) {
      const r = levenbergMarquardt(rosenbrockLs(40), new Float64Array(40).fill(-1.2), { tolerance: 1e-9, maxIterations: 500, scaling });
      expect(r.reason).toBe('converged');
      expect(maxAbs(r.theta.map((v) => v - 1))).toBeLessThan(1e-8);
    }
  });

  it('an exponential fit with exact data recovers the parameters (zero residual: fast final convergence)', () => {
    const t = Float64Array.from({ length: 40 }, (_, i) => i / 4);
    const y = t.map((ti) => 2 * Math.exp(-0.7 * ti) + 0.5);
    const r = levenbergMarquardt(expFit(t, y), [1, 0.1, 0], { tolerance: 1e-12 });
    expect(r.converged).toBe(true);
    expect(maxAbs([r.theta[0]! - 2, r.theta[1]! - 0.7, r.theta[2]! - 0.5])).toBeLessThan(1e-10);
    expect(r.value).toBeLessThan(1e-20);
  });

  it('a noisy exponential fit: the same minimizer as dense Newton on the exact Hessian JᵀJ + Σ rᵢ ∇²rᵢ', () => {
    const rand = makeRandom(4);
    const t = Float64Array.from({ length: 60 }, (_, i) => i / 6);
    const y = t.map((ti) => 2 * Math.exp(-0.7 * ti) + 0.5 + 0.05 * (rand() - 0.5));
    const lm = levenbergMarquardt(expFit(t, y), [1, 0.3, 0], { tolerance: 1e-11 });
    const exact = expFit(t, y);
    const newton = newtonSolve(
      {
        n: 3,
        evaluate(x, g, H) {
          exact.gradient(x, g);
          exact.gaussNewton(x, H);
          const [a, b] = x as unknown as [number, number];
          for (let i = 0; i < t.length; i++) {
            const e = Math.exp(-b * t[i]!);
            const ri = a * e + x[2]! - y[i]!;
            H[1] += ri * -t[i]! * e; // ∂²r/∂a∂b
            H[3] += ri * -t[i]! * e;
            H[4] += ri * a * t[i]! * t[i]! * e; // ∂²r/∂b²
          }
          return exact.value(x);
        },
      },
      [1, 0.3, 0],
      { tolerance: 1e-11 },
    );
    expect(lm.converged && newton.converged).toBe(true);
    expect(maxAbs(lm.theta.map((v, i) => v - newton.theta[i]!))).toBeLessThan(1e-8);
    expect(Math.abs(lm.value - newton.value)).toBeLessThan(1e-14);
  });

  it('accepts only decreasing steps, and reports iteration 0 first', () => {
    const values: number[] = [];
    const r = levenbergMarquardt(rosenbrockLs(10), new Float64Array(10).fill(-1.2), { maxIterations: 300, onIteration: (it) => values.push(it.value) });
    expect(r.converged).toBe(true);
    expect(values.length).toBe(r.iterations + 1);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]!);
  });

  it('stops on maxIterations and on a small step', () => {
    expect(levenbergMarquardt(rosenbrockLs(2), [-1.2, 1], { maxIterations: 3 })).toMatchObject({ reason: 'max-iterations', iterations: 3, converged: false });
    // An unreachable gradient tolerance: the step criterion ends it.
    const r = levenbergMarquardt(rosenbrockLs(2), [-1.2, 1], { tolerance: 0, stepTolerance: 1e-6, maxIterations: 1000 });
    expect(r.reason).toBe('small-step');
    expect(maxAbs(r.theta.map((v) => v - 1))).toBeLessThan(1e-5);
  });

  it('rejects bad inputs with RangeErrors naming them', () => {
    const p = rosenbrockLs(2);
    expect(() => levenbergMarquardt(p, [1, 2, 3])).toThrow(/theta0 has length 3, expected 2/);
    expect(() => levenbergMarquardt({ ...p, gaussNewton: undefined } as never, [1, 2])).toThrow(/problem.gaussNewton must be a function/);
    expect(() => levenbergMarquardt(p, [1, 2], { scaling: 'unit' as never })).toThrow(/options.scaling/);
    expect(() => levenbergMarquardt(p, [1, 2], { maxIterations: -1 })).toThrow(/options.maxIterations/);
    expect(() => levenbergMarquardt(p, [1, 2], { tolerance: NaN })).toThrow(/options.tolerance/);
    expect(() => levenbergMarquardt({ ...p, n: 0 }, [])).toThrow(/n must be a positive integer/);
  });
});

describe('levenbergMarquardt on generated modules (gaussNewton of `output` models)', () => {
  it('examples/peaks.hess with exact data: recovers the peaks; the same minimizer as dense Newton', () => {
    const t = Float64Array.from({ length: 200 }, (_, i) => -3 + (6 * i) / 199);
    const truth = [1, 0.6, 0.8, -1, 0.3, 1.2, 4, 8, 2.5]; // a, m, c
    const y = t.map((x) => [0, 1, 2].reduce((s, k) => s + truth[k]! * Math.exp(-truth[6 + k]! * (x - truth[3 + k]!) ** 2), 0));
    const data = { t, y };
    const theta0 = [0.7, 0.7, 0.7, -1.3, 0.5, 1.0, 3, 3, 3];
    const lm = levenbergMarquardt(gaussNewtonProblem(peaks, data), theta0, { tolerance: 1e-12 });
    expect(lm.converged).toBe(true);
    expect(maxAbs(lm.theta.map((v, i) => v - truth[i]!))).toBeLessThan(1e-9);
    const newton = newtonSolve(
      { n: 9, evaluate: (th, g, H) => (peaks.hessian(th, data, H), peaks.gradient(th, data, g), peaks.value(th, data)), value: (th) => peaks.value(th, data) },
      theta0,
      { tolerance: 1e-12 },
    );
    expect(maxAbs(lm.theta.map((v, i) => v - newton.theta[i]!))).toBeLessThan(1e-9);
  });

  it('examples/mlp_classifier.hess (softmax cross-entropy through output Z): a stationary point, G positive semi-definite', () => {
    const rand = makeRandom(9);
    const N = 60;
    const X = Float64Array.from({ length: N * 4 }, () => 2 * rand() - 1);
    const Y = new Float64Array(N * 3);
    for (let s = 0; s < N; s++) Y[3 * s + (X[4 * s]! > 0 ? (X[4 * s + 1]! > 0 ? 0 : 1) : 2)] = 1;
    const data = { X, Y };
    const theta0 = Float64Array.from({ length: mlp.model.n }, () => 0.5 * (rand() - 0.5));
    // Gauss-Newton converges only linearly where the loss's curvature in the outputs matters
    // (a classifier's residuals do not vanish): a moderate tolerance.
    const lm = levenbergMarquardt(gaussNewtonProblem(mlp, data), theta0, { tolerance: 1e-6, maxIterations: 2000 });
    expect(lm.converged).toBe(true);
    expect(lm.value).toBeLessThan(0.5 * mlp.value(theta0, data));
    // Checked with the module itself, not the solver's bookkeeping.
    expect(maxAbs(mlp.gradient(lm.theta, data))).toBeLessThan(1e-6);
    expect(mlp.value(lm.theta, data)).toBe(lm.value);
    const n = mlp.model.n;
    const l = new Float64Array(n * n);
    expect(choleskyShifted(mlp.gaussNewton(lm.theta, data), 1e-12, l, n)).toBe(true);
  });
});
