// Where parameter names meet in kernel names (a and a_once; x, y_z, x_y, z), the GPU module
// keeps every kernel: its results match the float64 TypeScript target within 1e-4.
import { describe, expect, it } from 'vitest';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { CLASH_MODEL, ONCE_MODEL } from '../numeric/clashing-models.ts';

const TOL = 1e-4;

describe('GPU kernels where names meet', () => {
  const cases: { name: string; source: string; theta: number[]; data: DataArg }[] = [
    { name: 'once', source: ONCE_MODEL, theta: [0.9, -0.6], data: { x: [0.3, -1.2, 0.7, 1.5] } },
    { name: 'clash', source: CLASH_MODEL, theta: [0.4, -0.7, 1.1, 0.3], data: {} },
  ];
  for (const c of cases) {
    it(c.name, { timeout: 120_000 }, async (ctx) => {
      const device = await deviceOrSkip(ctx);
      const { module: cpu } = await compileModel(c.source, `${c.name}.hess`);
      const gpu = await loadGpu(compileToGpu(c.source, `${c.name}.hess`), c.name);
      const k = await gpu.createKernels(device);
      k.setData(c.data);
      const r = await k.evaluate(c.theta);
      const ref = cpu.evaluate(c.theta, c.data);
      expect(Math.abs(r.value - ref.value) / Math.max(1, Math.abs(ref.value))).toBeLessThan(TOL);
      expect(relativeError(r.gradient, ref.gradient)).toBeLessThan(TOL);
      expect(relativeError(r.hessian, ref.hessian)).toBeLessThan(TOL);
      k.destroy();
    });
  }
});
