// The random-model fuzzer's finds, minimized, kept as fixed cases.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../helpers/load.ts';
import { asymmetry, assertClose, fdGradient, fdHessian } from '../helpers/numeric.ts';

const cases = [
  {
    // The symmetry guard of a diagonal block named a loop variable before its loop.
    name: 'guard_before_loop',
    source: 'param q[2, 2]\nminimize sum(q * q[1, :])\n',
    theta: [0.3, -0.7, 0.45, 0.2],
  },
  {
    // Exponents printed in exponent notation (p − 2 = −2.0000001…) made invalid function names.
    name: 'pow_exponent_notation',
    source: 'param v\nminimize v ^ 0.9999999 + exp(v) ^ -1e-7\n',
    theta: [0.5],
  },
];

describe('fuzzer regressions', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { module: mod } = await compileModel(c.source, `${c.name}.hess`);
      const theta = Float64Array.from(c.theta);
      const n = theta.length;
      const H = mod.hessian(theta, {});
      expect(asymmetry(H, n)).toBeNull();
      assertClose('gradient', mod.gradient(theta, {}), fdGradient((t) => mod.value(t, {}), theta), 1e-8);
      assertClose('hessian', H, fdHessian((t) => mod.gradient(t, {}), theta), 1e-8, n);
    });
  }
});
