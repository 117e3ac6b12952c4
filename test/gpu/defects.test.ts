// The defects of issue 11 on the WGSL target (float32, Mesa here): a data base with zeros to a
// parameter power, the tails of σ, softplus and tanh, names of Object.prototype members, and a
// run-time dimension of 0. References: closed forms in float64 (test/numeric/defects.test.ts
// checks the TypeScript target against the same kind of references).
import { describe, expect, it } from 'vitest';
import { compileToGpu, deviceOrSkip, loadGpu } from '../helpers/gpu.ts';
import { relativeError } from '../helpers/numeric.ts';

async function kernels(device: GPUDevice, source: string, label: string) {
  const mod = await loadGpu(compileToGpu(source, `${label}.hess`), label);
  return mod.createKernels(device);
}

describe('issue 11 defects on the GPU', () => {
  it('zeros in data to a parameter power: gradient and Hessian 0 there, not NaN', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const k = await kernels(device, 'dim N\ndata a[N]\ndata y[N]\nparam p\nminimize sum(square(a .^ p - y))\n', 'gpu_zero_base');
    const a = [0, 0.5, 2, 0, 3];
    const y = [0.1, 0.2, 0.3, 0.4, 1];
    k.setData({ a, y });
    for (const p of [0.5, 1.5, 2.5]) {
      let g = 0;
      let h = 0;
      a.forEach((ai, i) => {
        const ap = Math.pow(ai, p);
        const l = ai === 0 ? 0 : Math.log(ai);
        g += 2 * (ap - y[i]!) * ap * l;
        h += 2 * (ap * l) ** 2 + 2 * (ap - y[i]!) * ap * l * l;
      });
      const r = await k.evaluate([p]);
      expect(relativeError(r.gradient, [g]), `gradient at p = ${p}: ${r.gradient[0]} vs ${g}`).toBeLessThan(1e-5);
      expect(relativeError(r.hessian, [h]), `Hessian at p = ${p}: ${r.hessian[0]} vs ${h}`).toBeLessThan(1e-5);
    }
    k.destroy();
  });

  it('σ, softplus and tanh derivatives on both tails', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    // Tails float32 represents; derivatives scaled to order 1.
    const x = [30, -30, 36, -36];
    const e = (t: number) => Math.exp(-Math.abs(t));
    const d1 = (t: number) => e(t) / (1 + e(t)) ** 2;
    const d2 = (t: number) => d1(t) * (t > 0 ? -1 : 1) * (1 - e(t)) / (1 + e(t));
    const k = await kernels(device, 'param x[4]\nminimize 1e13 * sum(sigmoid(x)) + 1e13 * sum(softplus(x))\n', 'gpu_tails');
    const r = await k.evaluate(x);
    const g = x.map((t) => 1e13 * (d1(t) + (t > 0 ? 1 / (1 + e(t)) : e(t) / (1 + e(t)))));
    const h = x.map((t, i) => (x.map((_, j) => (i === j ? 1e13 * (d2(t) + d1(t)) : 0)))).flat();
    expect(relativeError(r.gradient, g)).toBeLessThan(1e-5);
    expect(relativeError(r.hessian, h)).toBeLessThan(1e-5);
    k.destroy();
    const t = await kernels(device, 'param x[4]\nminimize 1e8 * sum(tanh(x))\n', 'gpu_tanh_tails');
    const xt = [8, -8, 9, -9];
    const s1 = (u: number) => 4 * Math.exp(-2 * Math.abs(u)) / (1 + Math.exp(-2 * Math.abs(u))) ** 2;
    const rt = await t.evaluate(xt);
    expect(relativeError(rt.gradient, xt.map((u) => 1e8 * s1(u)))).toBeLessThan(1e-5);
    expect(relativeError(rt.hessian, xt.map((u, i) => xt.map((_, j) => (i === j ? -2e8 * Math.tanh(u) * s1(u) : 0))).flat())).toBeLessThan(1e-5);
    t.destroy();
  });

  it('Object.prototype names as dim, data and param; no rows is a RangeError', { timeout: 120_000 }, async (ctx) => {
    const device = await deviceOrSkip(ctx);
    const k = await kernels(device, 'dim __proto__\ndata constructor[__proto__, 2]\nparam toString[2]\nminimize sum(tanh(constructor * toString))\n', 'gpu_names');
    const X = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6];
    k.setData(Object.fromEntries([['constructor', X]]));
    const w = [0.7, -0.2];
    const r = await k.evaluate(w);
    let v = 0;
    for (let i = 0; i < 3; i++) v += Math.tanh(X[2 * i]! * w[0]! + X[2 * i + 1]! * w[1]!);
    expect(Math.abs(r.value - v)).toBeLessThan(1e-6);
    expect(() => k.setData(Object.fromEntries([['constructor', []]]))).toThrow(new RangeError('data.constructor has length 0, so __proto__ = 0: run-time dimensions must be at least 1'));
    k.destroy();
  });
});
