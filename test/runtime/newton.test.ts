// Tests of the damped Newton solver on hand-written objectives with known minima.
// No compiler involved: each objective is a closure returning value, gradient and Hessian.
import { describe, expect, it } from 'vitest';
import {
  choleskyShifted,
  choleskySolve,
  newtonSolve,
  type NewtonEvaluation,
  type NewtonIteration,
  type NewtonProblem,
} from '../../runtime/newton.ts';

/** f(x) = ½ (x − c)ᵀ A (x − c) + f0 with A symmetric positive definite. */
function quadratic(a: number[][], c: number[], f0 = 0): NewtonProblem {
  const n = c.length;
  return {
    n,
    evaluate(x) {
      const d = c.map((ci, i) => x[i] - ci);
      const gradient = new Float64Array(n);
      const hessian = new Float64Array(n * n);
      let value = f0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          gradient[i] += a[i][j] * d[j];
          hessian[i * n + j] = a[i][j];
        }
        value += 0.5 * d[i] * gradient[i];
      }
      return { value, gradient, hessian };
    },
  };
}

/** The chained (extended) Rosenbrock function: Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])², minimum 0 at all ones. */
function rosenbrock(n: number, options: { reuseBuffers?: boolean; withValue?: boolean } = {}): NewtonProblem & {
  calls: { evaluate: number; value: number };
} {
  const calls = { evaluate: 0, value: 0 };
  const g = new Float64Array(n);
  const h = new Float64Array(n * n);
  const valueOf = (x: ArrayLike<number>): number => {
    let f = 0;
    for (let i = 0; i + 1 < n; i++) {
      const r = x[i + 1] - x[i] * x[i];
      f += 100 * r * r + (1 - x[i]) * (1 - x[i]);
    }
    return f;
  };
  const problem: NewtonProblem & { calls: typeof calls } = {
    n,
    calls,
    evaluate(x) {
      calls.evaluate++;
      const gradient = options.reuseBuffers ? g : new Float64Array(n);
      const hessian = options.reuseBuffers ? h : new Float64Array(n * n);
      gradient.fill(0);
      hessian.fill(0);
      for (let i = 0; i + 1 < n; i++) {
        const r = x[i + 1] - x[i] * x[i];
        gradient[i] += -400 * x[i] * r - 2 * (1 - x[i]);
        gradient[i + 1] += 200 * r;
        hessian[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        hessian[i * n + i + 1] += -400 * x[i];
        hessian[(i + 1) * n + i] += -400 * x[i];
        hessian[(i + 1) * n + i + 1] += 200;
      }
      return { value: valueOf(x), gradient, hessian };
    },
  };
  if (options.withValue) {
    problem.value = (x) => {
      calls.value++;
      return valueOf(x);
    };
  }
  return problem;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('choleskyShifted / choleskySolve', () => {
  it('factors a symmetric positive definite matrix and solves with it', () => {
    const n = 4;
    // A = Bᵀ B + I is positive definite.
    const b = [
      [2, -1, 0, 3],
      [1, 4, -2, 0],
      [0, 1, 1, 1],
      [-3, 0, 2, 5],
    ];
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += b[k][i] * b[k][j];
        a[i * n + j] = s;
      }
    const l = new Float64Array(n * n);
    expect(choleskyShifted(a, 0, l, n)).toBe(true);
    // L Lᵀ reproduces A (lower triangle).
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k <= j; k++) s += l[i * n + k] * l[j * n + k];
        expect(s).toBeCloseTo(a[i * n + j], 12);
      }
    const x = [1, -2, 0.5, 3];
    const rhs = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rhs[i] += a[i * n + j] * x[j];
    choleskySolve(l, rhs, n);
    expect(maxAbsDiff(rhs, x)).toBeLessThan(1e-12);
  });

  it('reports failure on an indefinite matrix, and succeeds once shifted enough', () => {
    const a = new Float64Array([1, 2, 2, 1]); // eigenvalues 3 and −1
    const l = new Float64Array(4);
    expect(choleskyShifted(a, 0, l, 2)).toBe(false);
    expect(choleskyShifted(a, 0.5, l, 2)).toBe(false);
    expect(choleskyShifted(a, 1.5, l, 2)).toBe(true);
  });

  it('reports failure on NaN entries', () => {
    const l = new Float64Array(4);
    expect(choleskyShifted(new Float64Array([NaN, 0, 0, 1]), 0, l, 2)).toBe(false);
  });
});

describe('newtonSolve', () => {
  it('solves a positive definite quadratic in very few steps', () => {
    const a = [
      [4, 1, 0],
      [1, 3, -1],
      [0, -1, 2],
    ];
    const c = [1, -2, 3];
    const result = newtonSolve(quadratic(a, c, 5), [10, 10, 10], { tolerance: 1e-12 });
    expect(result.converged).toBe(true);
    expect(result.reason).toBe('converged');
    expect(result.iterations).toBeLessThanOrEqual(4);
    expect(maxAbsDiff(result.theta, c)).toBeLessThan(1e-10);
    expect(result.value).toBeCloseTo(5, 12);
  });

  it('takes the exact Newton step on a quadratic when started with λ = 0', () => {
    const c = [0.5, -0.25];
    const result = newtonSolve(quadratic([[2, 0.5], [0.5, 1]], c), [3, 3], { lambdaInitial: 0, tolerance: 1e-12 });
    expect(result.iterations).toBe(1);
    expect(maxAbsDiff(result.theta, c)).toBeLessThan(1e-14);
  });

  it('finds the minimum of the 2-D Rosenbrock function from the classic start (−1.2, 1)', () => {
    const result = newtonSolve(rosenbrock(2), [-1.2, 1], { tolerance: 1e-10 });
    expect(result.converged).toBe(true);
    expect(maxAbsDiff(result.theta, [1, 1])).toBeLessThan(1e-8);
    expect(result.value).toBeLessThan(1e-16);
    expect(result.iterations).toBeLessThan(60);
  });

  it('finds the minimum of the extended Rosenbrock function in 10 variables', () => {
    const result = newtonSolve(rosenbrock(10), new Array(10).fill(0), { tolerance: 1e-10, maxIterations: 200 });
    expect(result.converged).toBe(true);
    expect(maxAbsDiff(result.theta, new Array(10).fill(1))).toBeLessThan(1e-8);
    expect(result.value).toBeLessThan(1e-16);
  });

  it('stops at a stationary point with a positive definite Hessian (the chained Rosenbrock local minimum)', () => {
    // From (−1.2, 1, −1.2, 1, …) the chained function leads to its other local minimum, near x1 = −1.
    const problem = rosenbrock(10);
    const x0 = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
    const result = newtonSolve(problem, x0, { tolerance: 1e-10, maxIterations: 200 });
    expect(result.converged).toBe(true);
    expect(result.theta[0]).toBeLessThan(-0.9);
    const l = new Float64Array(100);
    const e = problem.evaluate(result.theta, new Float64Array(10), new Float64Array(100)) as NewtonEvaluation;
    expect(choleskyShifted(e.hessian, 0, l, 10)).toBe(true);
  });

  it('reports every iteration with a non-increasing value, starting at iteration 0', () => {
    const infos: Omit<NewtonIteration, 'theta'>[] = [];
    const result = newtonSolve(rosenbrock(2), [-1.2, 1], {
      onIteration: ({ theta: _theta, ...rest }) => infos.push(rest),
    });
    expect(infos.length).toBe(result.iterations + 1);
    expect(infos[0]).toMatchObject({ iteration: 0, stepNorm: 0, rejected: 0 });
    for (let k = 1; k < infos.length; k++) {
      expect(infos[k].iteration).toBe(k);
      expect(infos[k].value).toBeLessThanOrEqual(infos[k - 1].value);
      expect(infos[k].stepNorm).toBeGreaterThan(0);
      expect(infos[k].lambda).toBeGreaterThanOrEqual(0);
    }
    const last = infos[infos.length - 1];
    expect(last.value).toBe(result.value);
    expect(last.gradientNorm).toBe(result.gradientNorm);
    expect(last.gradientNorm).toBeLessThan(1e-8);
  });

  it('increases λ through an indefinite Hessian (a saddle at the start) and reaches a minimum', () => {
    // f(x, y) = x⁴ − x² + y², minima at x = ±1/√2, y = 0; the Hessian is indefinite near x = 0.
    const problem: NewtonProblem = {
      n: 2,
      evaluate: ([x, y]) => ({
        value: x ** 4 - x ** 2 + y ** 2,
        gradient: [4 * x ** 3 - 2 * x, 2 * y],
        hessian: [12 * x ** 2 - 2, 0, 0, 2],
      }),
    };
    let rejectedTotal = 0;
    const result = newtonSolve(problem, [0.05, 1], {
      lambdaInitial: 0,
      tolerance: 1e-12,
      onIteration: (info) => (rejectedTotal += info.rejected),
    });
    expect(result.converged).toBe(true);
    expect(rejectedTotal).toBeGreaterThan(0);
    expect(Math.abs(result.theta[0])).toBeCloseTo(Math.SQRT1_2, 10);
    expect(result.theta[1]).toBeCloseTo(0, 10);
    expect(result.value).toBeCloseTo(-0.25, 12);
  });

  it('works when the objective reuses its gradient and Hessian arrays between calls', () => {
    const x0 = [-1.2, 1, -1.2, 1];
    const fresh = newtonSolve(rosenbrock(4), x0, { tolerance: 1e-10 });
    const reused = newtonSolve(rosenbrock(4, { reuseBuffers: true }), x0, { tolerance: 1e-10 });
    expect(reused.converged).toBe(true);
    expect(Array.from(reused.theta)).toEqual(Array.from(fresh.theta));
    expect(reused.iterations).toBe(fresh.iterations);
  });

  it('uses the optional value function for trial points and gets the same answer', () => {
    const x0 = [-1.2, 1, -1.2, 1, -1.2, 1];
    const full = rosenbrock(6);
    const split = rosenbrock(6, { withValue: true });
    const a = newtonSolve(full, x0, { tolerance: 1e-10 });
    const b = newtonSolve(split, x0, { tolerance: 1e-10 });
    expect(b.converged).toBe(true);
    expect(maxAbsDiff(a.theta, b.theta)).toBeLessThan(1e-12);
    expect(split.calls.value).toBeGreaterThan(0);
    // Full evaluations: the start plus one per accepted step (plus rare rounding-level ties).
    expect(split.calls.evaluate).toBeLessThan(full.calls.evaluate);
    expect(b.evaluations).toBe(split.calls.evaluate + split.calls.value);
  });

  it('does not modify theta0 and returns a fresh array', () => {
    const x0 = new Float64Array([-1.2, 1]);
    const result = newtonSolve(rosenbrock(2), x0);
    expect(Array.from(x0)).toEqual([-1.2, 1]);
    expect(result.theta).not.toBe(x0);
  });

  it('stops at maxIterations', () => {
    const result = newtonSolve(rosenbrock(2), [-1.2, 1], { maxIterations: 3 });
    expect(result.converged).toBe(false);
    expect(result.reason).toBe('max-iterations');
    expect(result.iterations).toBe(3);
  });

  it('stops immediately when the start already satisfies the tolerance', () => {
    const result = newtonSolve(quadratic([[1]], [2]), [2]);
    expect(result).toMatchObject({ converged: true, iterations: 0, evaluations: 1, factorizations: 0 });
  });

  it('reports stalled when no damping gives a decrease (inconsistent gradient)', () => {
    // The gradient points the wrong way, so every step increases f.
    const problem: NewtonProblem = {
      n: 1,
      evaluate: ([x]): NewtonEvaluation => ({ value: x * x, gradient: [-2 * x], hessian: [2] }),
    };
    const result = newtonSolve(problem, [1], { lambdaMax: 1e6 });
    expect(result.reason).toBe('stalled');
    expect(result.theta[0]).toBe(1);
  });

  it('reports a non-finite start', () => {
    const problem: NewtonProblem = { n: 1, evaluate: () => ({ value: NaN, gradient: [0], hessian: [1] }) };
    expect(newtonSolve(problem, [0]).reason).toBe('non-finite');
  });

  it('rejects inconsistent sizes', () => {
    expect(() => newtonSolve(quadratic([[1]], [0]), [1, 2])).toThrow(RangeError);
    const bad: NewtonProblem = { n: 2, evaluate: () => ({ value: 0, gradient: [1], hessian: [1, 0, 0, 1] }) };
    expect(() => newtonSolve(bad, [1, 2])).toThrow(/gradient has length 1/);
  });

  it('allocates the Hessian once: every evaluate gets the same n × n buffer and the same two gradient buffers, and the answer equals the copying path', () => {
    const n = 10;
    const hessians = new Set<Float64Array>();
    const gradients = new Set<Float64Array>();
    const copying = rosenbrock(n, { withValue: true });
    const writing: NewtonProblem = {
      n,
      evaluate(x, g, H) {
        hessians.add(H);
        gradients.add(g);
        const e = copying.evaluate(x, g, H) as NewtonEvaluation;
        g.set(e.gradient);
        H.set(e.hessian);
        return e.value;
      },
      value: (x) => copying.value!(x),
    };
    const x0 = new Float64Array(n).fill(-1.2);
    const a = newtonSolve(writing, x0, { tolerance: 1e-10 });
    const b = newtonSolve(rosenbrock(n, { withValue: true }), x0, { tolerance: 1e-10 });
    expect(a.iterations).toBeGreaterThan(5);
    expect(hessians.size).toBe(1);
    expect([...hessians][0]!.length).toBe(n * n);
    expect(gradients.size).toBe(2);
    expect(Array.from(a.theta)).toEqual(Array.from(b.theta));
    expect(a.iterations).toBe(b.iterations);
  });

  it('a lower-triangle-only Hessian gives the same steps (the upper triangle is never trusted)', () => {
    const n = 6;
    const full = rosenbrock(n);
    const lowerOnly: NewtonProblem = {
      n,
      evaluate(x, g, H) {
        const e = full.evaluate(x, g, H) as NewtonEvaluation;
        g.set(e.gradient);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] = j <= i ? e.hessian[i * n + j] : 1e6;
        return e.value;
      },
    };
    const x0 = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1.2));
    const a = newtonSolve(lowerOnly, x0, { tolerance: 1e-10, maxIterations: 200 });
    const b = newtonSolve(rosenbrock(n), x0, { tolerance: 1e-10, maxIterations: 200 });
    expect(a.converged).toBe(true);
    expect(Array.from(a.theta)).toEqual(Array.from(b.theta));
  });

  it('rejects bad options with RangeErrors naming them', () => {
    const p = quadratic([[1]], [0]);
    expect(() => newtonSolve(p, [1], { maxIterations: 1.5 })).toThrow(/options.maxIterations/);
    expect(() => newtonSolve(p, [1], { lambdaInitial: -1 })).toThrow(/options.lambdaInitial/);
    expect(() => newtonSolve(p, [1], { tolerance: -1 })).toThrow(/options.tolerance/);
    expect(() => newtonSolve({ n: 1, evaluate: () => 'x' as never }, [1])).toThrow(/evaluate must return a number/);
  });
});
