// Points where naive derivative formulas give NaN or where the spec fixes the answer: powers at
// zero, abs/relu exactly at their kinks (abs'(0) = relu'(0) = 0, second derivatives 0), saturated
// activations, linear objectives (Hessian exactly zero), unused parameters.
import { describe, it, expect } from 'vitest';
import { compileModel } from '../helpers/load.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';
import { firstNonFinite } from '../helpers/numeric.ts';

const abs = (a: ArrayLike<number>): number[] => Array.from(a, Math.abs);

describe('special points', () => {
  it('powers with constant exponents at zero: finite, exact derivatives', async () => {
    const src = `param x[3]
minimize sum(x .^ 3) + sum(x .^ 2) + x[1] ^ 4 + sum(square(x)) + sum(cube(x)) + x[2] ^ 2 * x[3] ^ 2
`;
    const { module } = await compileModel(src, 'pow_at_zero.hess');
    const zero = [0, 0, 0];
    expect(module.value(zero)).toBe(0);
    expect(abs(module.gradient(zero))).toEqual([0, 0, 0]);
    // d²/dx² of x^2 and square(x) at 0 is 2 each; everything else vanishes.
    expect(abs(module.hessian(zero))).toEqual([4, 0, 0, 0, 4, 0, 0, 0, 4]);
  });

  it('abs and relu exactly at their kinks use the derivatives docs/language.md fixes', async () => {
    const src = `param x[2]
param y
minimize sum(abs(x)) + sum(relu(x)) + relu(y) * 3 + abs(y) + sum(x .^ 2) + y ^ 2
`;
    const { module } = await compileModel(src, 'kinks.hess');
    const zero = [0, 0, 0];
    expect(module.value(zero)).toBe(0);
    expect(abs(module.gradient(zero))).toEqual([0, 0, 0]);
    expect(abs(module.hessian(zero))).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 2]);
    // Just off the kinks: one-sided slopes, and still no curvature from abs/relu.
    const g = module.gradient([0.5, -0.5, 0.25]);
    expect(Array.from(g)).toEqual([1 + 1 + 1, -1 + 0 - 1, 3 + 1 + 0.5]);
    expect(abs(module.hessian([0.5, -0.5, 0.25]))).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 2]);
  });

  it('saturated activations (exp overflows) give finite gradients and Hessians', async () => {
    const c = loadModelCases().find((x) => x.name === 'fn_saturated')!;
    const { module } = await compileModel(c.source, c.path);
    const p = makePoint(c.name, c.source, c.spec);
    const r = module.evaluate(p.theta, p.data);
    expect(Number.isFinite(r.value)).toBe(true);
    expect(firstNonFinite(r.gradient)).toBe(-1);
    expect(firstNonFinite(r.hessian)).toBe(-1);
    // A single sample far out on both sides, with a plain formula to compare against.
    const src = `param z
minimize sigmoid(z) + softplus(z) + tanh(z) + logsumexp(z * z) + sigmoid(-z) + softplus(-z)
`;
    const one = (await compileModel(src, 'saturated_scalar.hess')).module;
    for (const z of [-1000, -750, 750, 1000]) {
      const v = one.value([z]);
      // sigmoid(z) + sigmoid(-z) = 1, softplus(z) + softplus(-z) = |z|, tanh = sign, logsumexp(z²) = z².
      expect(v).toBeCloseTo(1 + Math.abs(z) + Math.sign(z) + z * z, 6);
      const g = one.gradient([z])[0]!;
      // d/dz: sigmoid' terms vanish, softplus'(z) - softplus'(-z) = sign(z), tanh' = 0, 2z.
      expect(g).toBeCloseTo(Math.sign(z) + 2 * z, 6);
      const h = one.hessian([z])[0]!;
      expect(h).toBeCloseTo(2, 10);
    }
  });

  it('a linear objective has an exactly zero Hessian', async () => {
    const c = loadModelCases().find((x) => x.name === 'linear_objective')!;
    const { module } = await compileModel(c.source, c.path);
    const p = makePoint(c.name, c.source, c.spec);
    const H = module.hessian(p.theta, p.data);
    expect(abs(H)).toEqual(new Array(H.length).fill(0));
  });

  it('a parameter the objective never uses has zero gradient entries and Hessian rows', async () => {
    const c = loadModelCases().find((x) => x.name === 'unused_param')!;
    const { module } = await compileModel(c.source, c.path);
    const p = makePoint(c.name, c.source, c.spec);
    const { n, params } = module.model;
    const u = params.find((q) => q.name === 'unused')!;
    const g = module.gradient(p.theta, p.data);
    const H = module.hessian(p.theta, p.data);
    for (let i = u.offset; i < u.offset + u.size; i++) {
      expect(Math.abs(g[i]!)).toBe(0);
      for (let j = 0; j < n; j++) {
        expect(Math.abs(H[i * n + j]!)).toBe(0);
        expect(Math.abs(H[j * n + i]!)).toBe(0);
      }
    }
  });
});
