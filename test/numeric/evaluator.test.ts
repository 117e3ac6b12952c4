// createEvaluator(): independent instances with workspaces of their own, which keep no reference
// to the caller's arrays after a call and refuse calls once disposed; the module-level functions
// are a default instance.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compileModel, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { ONCE_MODEL } from './clashing-models.ts';

interface Evaluator {
  value(theta: ArrayLike<number>, data?: DataArg): number;
  gradient(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array;
  evaluate(theta: ArrayLike<number>, data?: DataArg): { value: number; gradient: Float64Array; hessian: Float64Array };
  dispose(): void;
}
type WithEvaluators = GeneratedModule & { createEvaluator(): Evaluator };

// A model whose workspaces grow with the data (a batch streamed in chunks, and a matrix).
const MLP = `dim N
data X[N, 3]
data y[N]
param W[3, 4]
param v[4]
minimize sum((tanh(X * W) * v - y) .^ 2) / N + 0.01 * sum(W .^ 2)
`;

function data(N: number, seed: number): DataArg {
  const X = Float64Array.from({ length: N * 3 }, (_, k) => Math.sin(seed + 0.7 * k));
  const y = Float64Array.from({ length: N }, (_, k) => Math.cos(seed * 3 + k));
  return { X, y };
}

describe('createEvaluator', () => {
  it('instances are independent of each other and of the module-level functions', async () => {
    const mod = (await compileModel(MLP, 'mlp.hess')).module as WithEvaluators;
    const n = mod.model.n;
    const theta = Float64Array.from({ length: n }, (_, k) => 0.3 * Math.cos(k));
    const small = data(3, 1);
    const large = data(5000, 2); // more than a chunk: workspaces of another size
    const refSmall = mod.evaluate(theta, small);
    const refLarge = mod.evaluate(theta, large);
    const a = mod.createEvaluator();
    const b = mod.createEvaluator();
    // Interleaved: each keeps its own sizes and results.
    for (let r = 0; r < 2; r++) {
      expect(a.hessian(theta, small)).toEqual(refSmall.hessian);
      expect(b.hessian(theta, large)).toEqual(refLarge.hessian);
      expect(a.gradient(theta, small)).toEqual(refSmall.gradient);
      expect(mod.value(theta, large)).toBe(refLarge.value);
      expect(b.evaluate(theta, large)).toEqual(refLarge);
      expect(a.value(theta, small)).toBe(refSmall.value);
    }
  });

  it('dispose() frees an instance: later calls throw, others work on', async () => {
    const mod = (await compileModel(ONCE_MODEL, 'once.hess')).module as WithEvaluators;
    const a = mod.createEvaluator();
    const b = mod.createEvaluator();
    const d = { x: [0.3, -1.2, 0.7] };
    const v = a.value([1, 2], d);
    a.dispose();
    expect(() => a.value([1, 2], d)).toThrow(/disposed/);
    expect(() => a.hessian([1, 2], d)).toThrow(/disposed/);
    expect(b.value([1, 2], d)).toBe(v);
  });

  it('keeps no reference to θ, the data or out after a call (they can be collected)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const mod = (await compileModel(MLP, 'mlp.hess')).module as WithEvaluators;
    const n = mod.model.n;
    const ev = mod.createEvaluator();
    const refs: WeakRef<object>[] = [];
    const call = (k: number) => {
      const theta = new Float64Array(n).fill(0.1);
      const d = data(64, k);
      const out = new Float64Array(n * n);
      refs.push(new WeakRef(theta), new WeakRef(d.X as Float64Array), new WeakRef(d.y as Float64Array), new WeakRef(out));
      if (k === 0) ev.hessian(theta, d, out);
      else if (k === 1) ev.gradient(theta, d, out.subarray(0, n));
      else ev.evaluate(theta, d);
    };
    for (let k = 0; k < 3; k++) call(k);
    // A failing call binds θ before it throws: nothing stays from it either.
    const failing = () => {
      const bad = new Float64Array(n);
      refs.push(new WeakRef(bad));
      ev.value(bad, { X: [1, 2, 3], y: [1, 2] });
    };
    expect(failing).toThrow(RangeError);
    for (let r = 0; r < 3; r++) {
      await new Promise((res) => setTimeout(res, 0));
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual(refs.map(() => true));
    // (The instance still works.)
    expect(Number.isFinite(ev.value(new Float64Array(n), data(2, 0)))).toBe(true);
  });
});
