// The sparse Newton solver (runtime/sparse-newton.ts) on generated modules' hessianSparse: known
// minima, the same iterates as dense Newton on the dense Hessian, indefinite Hessians on the way,
// and bad inputs.
import { describe, expect, it } from 'vitest';
import { sparseNewtonProblem, sparseNewtonSolve, type SparseHessianModule } from '../../runtime/sparse-newton.ts';
import { choleskyShifted, newtonSolve } from '../../runtime/newton.ts';
import { SparseCholesky } from '../../runtime/sparse-cholesky.ts';
import * as rosenbrock from '../../generated/rosenbrock.ts';
import { compileModel } from '../helpers/load.ts';
import { maxAbs } from './sparse-helpers.ts';

type Sparse = SparseHessianModule<undefined>;

describe('sparseNewtonSolve', () => {
  it('the example Rosenbrock (n = 10) from all −1.2: the same iterates as dense newtonSolve, all ones', () => {
    const sparseSteps: number[] = [];
    const denseSteps: number[] = [];
    const theta0 = new Float64Array(10).fill(-1.2);
    const sparse = sparseNewtonSolve(sparseNewtonProblem(rosenbrock, {}), theta0, { tolerance: 1e-10, onIteration: (it) => sparseSteps.push(it.value) });
    const dense = newtonSolve(
      { n: 10, evaluate: (t, g, H) => (rosenbrock.hessian(t, {}, H), rosenbrock.gradient(t, {}, g), rosenbrock.value(t)), value: (t) => rosenbrock.value(t) },
      theta0,
      { tolerance: 1e-10, onIteration: (it) => denseSteps.push(it.value) },
    );
    expect(sparse.converged && dense.converged).toBe(true);
    expect(sparse.iterations).toBe(dense.iterations);
    expect(sparse.factorizations).toBe(dense.factorizations);
    for (let i = 0; i < denseSteps.length; i++) expect(Math.abs(sparseSteps[i]! - denseSteps[i]!)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(denseSteps[i]!)));
    expect(maxAbs(sparse.theta.map((v, i) => v - dense.theta[i]!))).toBeLessThan(1e-10);
    expect(maxAbs(sparse.theta.map((v) => v - 1))).toBeLessThan(1e-9);
    // A chain: no fill.
    expect(sparse.analysis.nnzL).toBe(19);
  });

  it('chained Rosenbrock, n = 5000, from x = 0.5 (an indefinite Hessian there): all ones', async () => {
    const n = 5000;
    const src = `param x[${n}]\nminimize sum(100 * (x[2:end] - x[1:${n - 1}] .^ 2) .^ 2 + (1 - x[1:${n - 1}]) .^ 2)\n`;
    const mod = (await compileModel(src, 'rosen5000.hess')).module as never as Sparse;
    const theta0 = new Float64Array(n).fill(0.5);
    // H(θ0) is tridiagonal with 302 on the diagonal and −200 beside it: indefinite (λ_min ≈ −98),
    // so the unshifted factorization fails, sparse and dense alike (dense on a 50 × 50 section).
    const chol = SparseCholesky.fromPattern(mod.model.hessianPattern);
    expect(chol.factor(mod.hessianSparse(theta0, undefined))).toBe(false);
    const section = new Float64Array(50 * 50);
    for (let i = 0; i < 50; i++) {
      section[i * 50 + i] = 302;
      if (i + 1 < 50) section[i * 50 + i + 1] = section[(i + 1) * 50 + i] = -200;
    }
    expect(choleskyShifted(section, 0, new Float64Array(2500), 50)).toBe(false);
    let rejected = 0;
    const r = sparseNewtonSolve(sparseNewtonProblem(mod, undefined), theta0, { tolerance: 1e-9, maxIterations: 200, onIteration: (it) => (rejected += it.rejected) });
    expect(r.reason).toBe('converged');
    expect(maxAbs(r.theta.map((v) => v - 1))).toBeLessThan(1e-8);
    expect(r.analysis.nnzL).toBe(2 * n - 1);
    expect(rejected).toBeGreaterThan(0);
    expect(r.factorizations).toBeGreaterThan(r.iterations);
  });

  it('a banded model with cos terms (indefinite in places): reaches a point where ‖g‖∞ < 1e-9 and H is positive definite', async () => {
    const n = 400;
    const src = `param x[${n}]\nd2 = x[3:end] - 2 * x[2:end-1] + x[1:end-2]\nminimize sum(d2 .^ 2) + sum(cos(x)) + 0.1 * sum(x .^ 4)\n`;
    const mod = (await compileModel(src, 'band400.hess')).module as never as Sparse & { hessian(t: ArrayLike<number>): Float64Array };
    const theta0 = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const r = sparseNewtonSolve(sparseNewtonProblem(mod, undefined), theta0, { tolerance: 1e-9, ordering: 'rcm', maxIterations: 500 });
    expect(r.converged).toBe(true);
    // Positive definite at the solution: the unshifted sparse factorization succeeds.
    const check = sparseNewtonSolve(sparseNewtonProblem(mod, undefined), r.theta, { tolerance: 0, maxIterations: 1, lambdaInitial: 0 });
    expect(check.factorizations).toBe(1);
  });

  it('rejects bad inputs with RangeErrors naming them', () => {
    const p = sparseNewtonProblem(rosenbrock, {});
    expect(() => sparseNewtonSolve(p, new Float64Array(9))).toThrow(/theta0 has length 9, expected 10/);
    expect(() => sparseNewtonSolve({ ...p, pattern: { ...p.pattern, n: 9 } }, new Float64Array(10))).toThrow(/pattern.n is 9/);
    expect(() => sparseNewtonSolve(p, new Float64Array(10), { ordering: 'metis' as never })).toThrow(/ordering must be/);
    expect(() => sparseNewtonSolve(p, new Float64Array(10), { lambdaMax: 0 })).toThrow(/options.lambdaMax/);
    const asymmetric = { n: 2, rowPtr: new Int32Array([0, 2, 3]), colIdx: new Int32Array([0, 1, 1]) };
    expect(() => sparseNewtonSolve({ ...p, n: 2, pattern: asymmetric }, [0, 0])).toThrow(/not symmetric/);
  });
});
