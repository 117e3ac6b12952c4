// The test helpers themselves: finite differences and comparisons on a function with a known
// gradient and Hessian (Rosenbrock), so a failure elsewhere points at the compiler, not here.
import { describe, it, expect } from 'vitest';
import { assertClose, asymmetry, fdGradient, fdHessian, worstMismatch } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';

const f = (t: ArrayLike<number>): number => (1 - t[0]!) ** 2 + 100 * (t[1]! - t[0]! ** 2) ** 2;
const grad = (t: ArrayLike<number>): Float64Array => {
  const [x, y] = [t[0]!, t[1]!];
  return Float64Array.of(-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x));
};
const hess = (t: ArrayLike<number>): Float64Array => {
  const [x, y] = [t[0]!, t[1]!];
  return Float64Array.of(2 - 400 * (y - x * x) + 800 * x * x, -400 * x, -400 * x, 200);
};

describe('numeric helpers', () => {
  it('finite differences reproduce the Rosenbrock gradient and Hessian', () => {
    const t = [-1.2, 1.3];
    assertClose('fd gradient', fdGradient(f, t), grad(t), 1e-9);
    assertClose('fd Hessian', fdHessian(grad, t), hess(t), 1e-9, 2);
    expect(() => assertClose('wrong Hessian', hess(t).map((v, i) => (i === 1 ? v * (1 + 1e-5) : v)), hess(t), 1e-6, 2)).toThrow(/\[0, 1\]/);
  });

  it('comparisons scale by max(1, max|ref|) and catch NaN and asymmetry', () => {
    expect(worstMismatch([1e-11], [0]).error).toBeCloseTo(1e-11, 20);
    expect(worstMismatch([1000.001], [1000]).error).toBeCloseTo(1e-6, 12);
    expect(worstMismatch([NaN], [0]).error).toBe(Infinity);
    expect(worstMismatch([1, 2], [1]).error).toBe(Infinity);
    expect(asymmetry([1, 2, 2, 3], 2)).toBeNull();
    expect(asymmetry([1, 2, 2 + 1e-16 * 4, 3], 2)).not.toBeNull();
    expect(asymmetry([1, 0, -0, 3], 2)).toBeNull();
  });

  it('the PRNG is deterministic per seed', () => {
    const a = makeRng('x');
    const b = makeRng('x');
    const c = makeRng('y');
    const sa = [a.next(), a.next()];
    expect([b.next(), b.next()]).toEqual(sa);
    expect(c.next()).not.toBe(sa[0]);
  });
});
