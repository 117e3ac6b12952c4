// The truncated Newton solver (runtime/newton-cg.ts) driven by a generated module's hvp: it
// reaches the known minima to the gradient tolerance without ever forming a Hessian.
import { describe, expect, it } from 'vitest';
import { newtonCgSolve, type HvpObjective } from '../../runtime/newton-cg.ts';
import { compileModel, type GeneratedModule } from '../helpers/load.ts';

type WithHvp = GeneratedModule & { hvp(theta: ArrayLike<number>, data: undefined, v: ArrayLike<number>, out?: Float64Array): Float64Array };

function objective(mod: WithHvp): HvpObjective & { hessians: number } {
  const o = {
    n: mod.model.n,
    hessians: 0,
    value: (t: Float64Array) => mod.value(t),
    gradient: (t: Float64Array, out: Float64Array) => void mod.gradient(t, undefined, out),
    hvp: (t: Float64Array, v: Float64Array, out: Float64Array) => void mod.hvp(t, undefined, v, out),
  };
  return o;
}

describe('newtonCgSolve (Steihaug trust region, H·v only)', () => {
  it('extended Rosenbrock (Moré–Garbow–Hillstrom), n = 20000, from (−1.2, 1, …): the minimum at all ones', async () => {
    const src = 'dim M = 10000\nparam a[M]\nparam b[M]\nminimize sum(100 * (b - a .^ 2) .^ 2 + (1 - a) .^ 2)\n';
    const mod = (await compileModel(src, 'rosenbrock_mgh.hess')).module as WithHvp;
    const n = mod.model.n;
    expect(n).toBe(20000);
    const theta0 = Float64Array.from({ length: n }, (_, k) => (k < n / 2 ? -1.2 : 1));
    const r = newtonCgSolve(objective(mod), theta0, { tolerance: 1e-8 });
    expect(r.converged).toBe(true);
    expect(Math.max(...r.theta.map((x) => Math.abs(x - 1)))).toBeLessThan(1e-7);
    console.log(`extended Rosenbrock n=${n}: ${r.iterations} iterations, ${r.hvpCalls} H·v products`);
  }, 120_000);

  it('chained Rosenbrock, n = 100: a stationary point to the tolerance', async () => {
    const n = 100;
    const src = `param x[${n}]\nminimize sum(100 * (x[2:end] - x[1:${n - 1}] .^ 2) .^ 2 + (1 - x[1:${n - 1}]) .^ 2)\n`;
    const mod = (await compileModel(src, 'rosenbrock_chain.hess')).module as WithHvp;
    const theta0 = Float64Array.from({ length: n }, (_, k) => (k % 2 === 0 ? -1.2 : 1));
    const r = newtonCgSolve(objective(mod), theta0, { tolerance: 1e-8, maxIterations: 2000 });
    console.log(JSON.stringify({ g: r.gradientNorm, f: r.value, it: r.iterations, hv: r.hvpCalls }));
    expect(r.converged).toBe(true);
  }, 120_000);

  it('a nonconvex start on the banana function (negative curvature on the way)', async () => {
    const mod = (await compileModel('param x\nparam y\nminimize (1 - x) ^ 2 + 100 * (y - x ^ 2) ^ 2\n', 'rosenbrock.hess')).module as WithHvp;
    const r = newtonCgSolve(objective(mod), [-1.2, 1]);
    expect(r.converged).toBe(true);
    expect(Math.abs(r.theta[0]! - 1)).toBeLessThan(1e-8);
    expect(Math.abs(r.theta[1]! - 1)).toBeLessThan(1e-8);
  });

  it('rejects a θ0 of the wrong length', async () => {
    const mod = (await compileModel('param x\nminimize x^2\n', 'sq.hess')).module as WithHvp;
    expect(() => newtonCgSolve(objective(mod), [1, 2])).toThrow(RangeError);
  });

  it('rejects bad options and objectives with RangeErrors naming them', async () => {
    const mod = (await compileModel('param x\nminimize x^2\n', 'sq.hess')).module as WithHvp;
    const f = objective(mod);
    expect(() => newtonCgSolve(f, [1], { maxIterations: -1 })).toThrow(/options.maxIterations/);
    expect(() => newtonCgSolve(f, [1], { radius: 0 })).toThrow(/options.radius/);
    expect(() => newtonCgSolve(f, [1], { maxCgSteps: 1.5 })).toThrow(/options.maxCgSteps/);
    expect(() => newtonCgSolve(f, [1], { tolerance: NaN })).toThrow(/options.tolerance/);
    expect(() => newtonCgSolve({ ...f, hvp: undefined } as never, [1])).toThrow(/f.hvp must be a function/);
    expect(() => newtonCgSolve({ ...f, n: 0 }, [])).toThrow(/n must be a positive integer/);
  });

  it('the Jacobi preconditioner (hessianDiagonal) cuts the H·v products on a badly scaled problem, same minimum', async () => {
    // Curvatures from 1 to 10⁶ along the unknowns, weakly coupled; minimum at all ones.
    const src = 'param x[300]\ndata w[300]\nminimize sum(w .* (x - 1) .^ 2) + sum((x[2:end] - x[1:299]) .^ 2) + 0.1 * sum((x - 1) .^ 4)\n';
    type WithDiag = WithHvp & { hessianDiagonal(theta: ArrayLike<number>, data: object, out?: Float64Array): Float64Array };
    const mod = (await compileModel(src, 'scaled.hess')).module as WithDiag;
    const w = Float64Array.from({ length: 300 }, (_, i) => 10 ** ((6 * ((i * 37) % 300)) / 299));
    const f = {
      n: 300,
      value: (t: Float64Array) => mod.value(t, { w }),
      gradient: (t: Float64Array, out: Float64Array) => void mod.gradient(t, { w }, out),
      hvp: (t: Float64Array, v: Float64Array, out: Float64Array) => void mod.hvp(t, { w } as never, v, out),
    };
    const theta0 = Float64Array.from({ length: 300 }, (_, i) => Math.cos(i));
    const plain = newtonCgSolve(f, theta0, { tolerance: 1e-8, maxIterations: 500 });
    const jacobi = newtonCgSolve({ ...f, diagonal: (t, out) => void mod.hessianDiagonal(t, { w }, out) }, theta0, { tolerance: 1e-8, maxIterations: 500 });
    console.log(`badly scaled n = 300: ${plain.hvpCalls} H·v plain, ${jacobi.hvpCalls} with Jacobi`);
    expect(plain.preconditioned).toBe(false);
    expect(jacobi.preconditioned).toBe(true);
    expect(jacobi.converged).toBe(true);
    expect(Math.max(...jacobi.theta.map((x) => Math.abs(x - 1)))).toBeLessThan(1e-8);
    expect(jacobi.hvpCalls * 3).toBeLessThan(plain.hvpCalls);
  });

  it('with the preconditioner still reaches the extended Rosenbrock minimum (indefinite diagonals on the way)', async () => {
    const src = 'dim M = 500\nparam a[M]\nparam b[M]\nminimize sum(100 * (b - a .^ 2) .^ 2 + (1 - a) .^ 2)\n';
    type WithDiag = WithHvp & { hessianDiagonal(theta: ArrayLike<number>, data: undefined, out?: Float64Array): Float64Array };
    const mod = (await compileModel(src, 'rosen_jacobi.hess')).module as WithDiag;
    const n = mod.model.n;
    const theta0 = Float64Array.from({ length: n }, (_, k) => (k < n / 2 ? -1.2 : 1));
    const r = newtonCgSolve({ ...objective(mod), diagonal: (t, out) => void mod.hessianDiagonal(t, undefined, out) }, theta0, { tolerance: 1e-8 });
    expect(r.converged).toBe(true);
    expect(Math.max(...r.theta.map((x) => Math.abs(x - 1)))).toBeLessThan(1e-7);
  });
});
