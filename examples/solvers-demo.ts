// `npm run demo:solvers`: each solver of hessgen/runtime on a model where it fits, with the
// kernels hessgen generated (generated/*.ts from examples/*.hess, generated/large/*.ts from
// examples/large/*.hess):
//   - sparse Newton (hessianSparse + the sparse Cholesky of runtime/sparse-cholesky.ts) on the
//     chained Rosenbrock function in n = 100 000 variables, whose dense Hessian would take 80 GB;
//   - truncated Newton (Newton-CG, Steihaug trust region, hvp only) on the same problem, plain
//     and with the Jacobi preconditioner from hessianDiagonal;
//   - Levenberg–Marquardt (gaussNewton, the generalized Gauss-Newton matrix of `output` models)
//     on a fit of three Gaussian peaks to a noisy spectrum, beside dense Newton on the exact Hessian.
// Each line: iterations, the final ‖g‖∞, the wall time (one run; not a benchmark).
import * as chain from '../generated/large/rosenbrock_chain.ts';
import * as peaks from '../generated/peaks.ts';
import { newtonSolve, type NewtonResult } from '../runtime/newton.ts';
import { newtonCgSolve } from '../runtime/newton-cg.ts';
import { sparseNewtonProblem, sparseNewtonSolve } from '../runtime/sparse-newton.ts';
import { gaussNewtonProblem, levenbergMarquardt } from '../runtime/levenberg-marquardt.ts';

const timed = <T>(f: () => T): [T, number] => {
  const start = performance.now();
  const r = f();
  return [r, performance.now() - start];
};
const maxError = (theta: Float64Array, target: number): number => theta.reduce((m, v) => Math.max(m, Math.abs(v - target)), 0);
const line = (what: string, r: { iterations: number; gradientNorm: number }, ms: number, extra: string): void =>
  console.log(`${what.padEnd(37)} ${String(r.iterations).padStart(4)} iterations  ‖g‖∞ = ${r.gradientNorm.toExponential(2)}  ${(ms / 1000).toFixed(2).padStart(6)} s  ${extra}`);

// ---- Chained Rosenbrock, n = 100 000 ----------------------------------------------------------
{
  const n = chain.model.n;
  const pattern = chain.model.hessianPattern;
  console.log(`## Chained Rosenbrock, n = ${n}, from x = (0.5, …, 0.5) (an indefinite Hessian there), minimum at (1, …, 1)`);
  console.log(`Hessian: ${pattern.nnz} structural nonzeros (dense: ${(n * n).toExponential(1)} entries, ${((8 * n * n) / 1e9).toFixed(0)} GB)`);
  const theta0 = new Float64Array(n).fill(0.5);

  const [sparse, sparseMs] = timed(() => sparseNewtonSolve(sparseNewtonProblem(chain, {}), theta0, { tolerance: 1e-9, maxIterations: 200 }));
  line(
    'sparse Newton (hessianSparse)',
    sparse,
    sparseMs,
    `${sparse.factorizations} factorizations, ${sparse.analysis.ordering} ordering, nnz(L) = ${sparse.analysis.nnzL}, max |x − 1| = ${maxError(sparse.theta, 1).toExponential(1)}`,
  );

  const [cg, cgMs] = timed(() =>
    newtonCgSolve(
      {
        n,
        value: (t) => chain.value(t),
        gradient: (t, out) => void chain.gradient(t, {}, out),
        hvp: (t, v, out) => void chain.hvp(t, {}, v, out),
      },
      theta0,
      { tolerance: 1e-9, maxIterations: 500 },
    ),
  );
  line('Newton-CG (hvp)', cg, cgMs, `${cg.hvpCalls} H·v products, max |x − 1| = ${maxError(cg.theta, 1).toExponential(1)}`);

  const [pcg, pcgMs] = timed(() =>
    newtonCgSolve(
      {
        n,
        value: (t) => chain.value(t),
        gradient: (t, out) => void chain.gradient(t, {}, out),
        hvp: (t, v, out) => void chain.hvp(t, {}, v, out),
        diagonal: (t, out) => void chain.hessianDiagonal(t, {}, out),
      },
      theta0,
      { tolerance: 1e-9, maxIterations: 500 },
    ),
  );
  line('Newton-CG + Jacobi (hessianDiagonal)', pcg, pcgMs, `${pcg.hvpCalls} H·v products, max |x − 1| = ${maxError(pcg.theta, 1).toExponential(1)}`);
  if (!sparse.converged || !cg.converged || !pcg.converged) process.exitCode = 1;
}

// ---- Least squares with an `output`: Levenberg–Marquardt ---------------------------------------
{
  // A spectrum of three Gaussian peaks with deterministic noise (a fixed pseudo-random sequence).
  const N = 400;
  const truth = { a: [1.0, 0.6, 0.8], m: [-1.0, 0.3, 1.2], c: [4.0, 8.0, 2.5] };
  const t = Float64Array.from({ length: N }, (_, i) => -3 + (6 * i) / (N - 1));
  let seed = 12345;
  const noise = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) * 0.02;
  const y = t.map((ti) => truth.a.reduce((s, a, k) => s + a * Math.exp(-truth.c[k]! * (ti - truth.m[k]!) ** 2), 0) + noise());
  const data = { t, y };
  const at = (name: string): number => peaks.model.params.find((p) => p.name === name)!.offset;
  // A rough first guess, as read off a plot: equal heights, centres off by up to 0.3, one width.
  const theta0 = new Float64Array(peaks.model.n);
  theta0.set([0.7, 0.7, 0.7], at('a'));
  theta0.set([-1.3, 0.5, 1.0], at('m'));
  theta0.set([3, 3, 3], at('c'));
  console.log(`\n## peaks: three Gaussian peaks (n = ${peaks.model.n}) fitted to ${N} noisy samples, f = ½ Σ (pred − y)²`);

  const [lm, lmMs] = timed(() => levenbergMarquardt(gaussNewtonProblem(peaks, data), theta0, { tolerance: 1e-9 }));
  line('Levenberg–Marquardt (gaussNewton)', lm, lmMs, `${lm.reason}, f = ${lm.value.toExponential(4)}, ${lm.evaluations} evaluations`);

  const [dense, denseMs] = timed((): NewtonResult =>
    newtonSolve(
      {
        n: peaks.model.n,
        evaluate: (th, g, H) => (peaks.hessian(th, data, H), peaks.gradient(th, data, g), peaks.value(th, data)),
        value: (th) => peaks.value(th, data),
      },
      theta0,
      { tolerance: 1e-9 },
    ),
  );
  line('dense Newton (hessian)', dense, denseMs, `${dense.reason}, f = ${dense.value.toExponential(4)}, ${dense.evaluations} evaluations`);
  const fmt = (name: string, th: Float64Array): string => Array.from(th.subarray(at(name), at(name) + 3), (v) => v.toFixed(3)).join(', ');
  console.log(`fitted: a = [${fmt('a', lm.theta)}], m = [${fmt('m', lm.theta)}], c = [${fmt('c', lm.theta)}]`);
  console.log(`truth:  a = [${truth.a.join(', ')}], m = [${truth.m.join(', ')}], c = [${truth.c.join(', ')}]`);
  let gap = 0;
  for (let i = 0; i < lm.theta.length; i++) gap = Math.max(gap, Math.abs(lm.theta[i]! - dense.theta[i]!));
  console.log(`max |θ_LM − θ_Newton| = ${gap.toExponential(1)}`);
  if (!lm.converged) process.exitCode = 1;
}
