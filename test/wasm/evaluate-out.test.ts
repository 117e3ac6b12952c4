// evaluate(θ, data, out): filled in place, nothing allocated once warm (the dense kernels'
// workspaces included), results equal to evaluate() without out; bad `out` is a RangeError.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, type DataArg } from '../helpers/load.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { makePoint } from '../models/cases.ts';

interface Evaluation { value: number; gradient: Float64Array; hessian: Float64Array }
interface Module {
  model: { n: number };
  evaluate(theta: ArrayLike<number>, data: DataArg, out?: Evaluation): Evaluation;
}

/** Bit-equal (vitest's toEqual walks millions of elements slowly). */
function same(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Float64Arrays (and Int32Arrays) constructed while f runs. */
function typedArraysMade(f: () => void): number {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = [g['Float64Array'], g['Int32Array']] as const;
  let made = 0;
  const counting = (T: object) => new Proxy(T as new (...a: unknown[]) => object, { construct: (t, args) => (made++, Reflect.construct(t, args)) });
  g['Float64Array'] = counting(saved[0] as object);
  g['Int32Array'] = counting(saved[1] as object);
  try {
    f();
  } finally {
    g['Float64Array'] = saved[0];
    g['Int32Array'] = saved[1];
  }
  return made;
}

describe.each(['examples/mlp_classifier.hess', 'bench/models/mlp_64_32_10.hess'])('evaluate with out: %s', (path) => {
  const source = readFileSync(join(repoRoot, path), 'utf8');
  const name = path.replace(/.*\//, '').replace('.hess', '');
  it('fills out in place, allocates nothing, equals evaluate() without out', async () => {
    const { module, code } = await compileModel(source, name + '.hess');
    // The kernels this test is about are in the module.
    expect(code).toContain('s.dense.block(');
    const m = module as unknown as Module;
    const n = m.model.n;
    const { theta, data } = makePoint(name, source, {}, 3, { N: 300 });
    const want = m.evaluate(theta, data as DataArg);
    const out: Evaluation = { value: NaN, gradient: new Float64Array(n).fill(7), hessian: new Float64Array(n * n).fill(7) };
    const { gradient, hessian } = out;
    m.evaluate(theta, data as DataArg, out); // warm: workspaces sized
    const made = typedArraysMade(() => {
      for (let k = 0; k < 3; k++) expect(m.evaluate(theta, data as DataArg, out)).toBe(out);
    });
    expect(made).toBe(0);
    // The counter sees the module's allocations: without out, evaluate makes g and H.
    expect(typedArraysMade(() => m.evaluate(theta, data as DataArg))).toBeGreaterThanOrEqual(2);
    expect(out.gradient).toBe(gradient);
    expect(out.hessian).toBe(hessian);
    expect(out.value).toBe(want.value);
    expect(same(out.gradient, want.gradient)).toBe(true);
    expect(same(out.hessian, want.hessian)).toBe(true);
  }, 60_000);
});

describe('evaluate with out: bad out', () => {
  it('names the problem in a RangeError', async () => {
    const source = readFileSync(join(repoRoot, 'examples/mlp_classifier.hess'), 'utf8');
    const m = (await compileModel(source, 'mlp_classifier.hess')).module as unknown as Module;
    const n = m.model.n;
    const { theta, data } = makePoint('mlp_classifier', source, {}, 1);
    const d = data as DataArg;
    expect(() => m.evaluate(theta, d, null as unknown as Evaluation)).toThrow(/evaluate output: expected an object/);
    expect(() => m.evaluate(theta, d, { value: 0, gradient: new Float64Array(n + 1), hessian: new Float64Array(n * n) })).toThrow(/evaluate gradient output: expected a Float64Array of length/);
    expect(() => m.evaluate(theta, d, { value: 0, gradient: new Float64Array(n), hessian: new Float64Array(3) })).toThrow(/evaluate hessian output/);
    const buf = new Float64Array(n * n + n);
    expect(() => m.evaluate(theta, d, { value: 0, gradient: buf.subarray(0, n), hessian: buf.subarray(n - 1, n - 1 + n * n) })).toThrow(RangeError);
    expect(() => m.evaluate(theta, d, { value: 0, gradient: buf.subarray(0, n), hessian: buf.subarray(n - 1, n - 1 + n * n) })).toThrow(/share memory/);
    // Separate views of one buffer are fine.
    const ok = m.evaluate(theta, d, { value: 0, gradient: buf.subarray(0, n), hessian: buf.subarray(n, n + n * n) });
    expect(same(ok.hessian, m.evaluate(theta, d).hessian)).toBe(true);
  });
});
