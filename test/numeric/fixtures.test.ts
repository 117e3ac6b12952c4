// Every reference fixture in test/fixtures: the generated module's value, gradient and
// Hessian against the independently computed float64 references.
import { describe, it, expect, beforeAll } from 'vitest';
import { compileModel } from '../helpers/load.ts';
import type { CompiledModel } from '../helpers/load.ts';
import { loadFixtures } from '../helpers/fixtures.ts';
import { assertClose, assertScalarClose, asymmetry, firstNonFinite } from '../helpers/numeric.ts';

const TOL = 1e-10;

/** Offsets and sizes implied by the fixture's params (declaration order, row-major). */
function expectedParams(params: { name: string; shape: number[] }[]): { name: string; shape: number[]; offset: number; size: number }[] {
  let offset = 0;
  return params.map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const e = { name: p.name, shape: p.shape, offset, size };
    offset += size;
    return e;
  });
}

const fixtures = loadFixtures();

describe('fixtures', () => {
  it('the fixtures folder is found and not empty', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });
});

for (const fx of fixtures) {
  describe(`fixture ${fx.name}`, () => {
    let compiled: CompiledModel;
    const { theta, data, n } = fx.json;

    beforeAll(async () => {
      compiled = await compileModel(fx.source, fx.path);
    });

    it('model.name, model.n and model.params match', () => {
      const { model } = compiled.module;
      expect(model.name).toBe(fx.name);
      expect(model.n).toBe(n);
      expect(model.params.map((p) => ({ name: p.name, shape: [...p.shape], offset: p.offset, size: p.size }))).toEqual(expectedParams(fx.json.params));
    });

    it('value, gradient and Hessian match the reference', () => {
      const { value, gradient, hessian } = compiled.module;
      assertScalarClose('value', value(theta, data), fx.json.value, TOL);
      const g = gradient(theta, data);
      expect(g).toBeInstanceOf(Float64Array);
      assertClose('gradient', g, fx.json.gradient, TOL);
      const H = hessian(theta, data);
      expect(H).toBeInstanceOf(Float64Array);
      expect(firstNonFinite(H)).toBe(-1);
      assertClose('Hessian', H, fx.json.hessian, TOL, n);
    });

    it('the Hessian is exactly symmetric', () => {
      expect(asymmetry(compiled.module.hessian(theta, data), n)).toBeNull();
    });

    it('evaluate agrees with the separate calls', () => {
      const { value, gradient, hessian, evaluate } = compiled.module;
      const r = evaluate(theta, data);
      expect(r.gradient).toBeInstanceOf(Float64Array);
      expect(r.hessian).toBeInstanceOf(Float64Array);
      assertScalarClose('evaluate().value', r.value, value(theta, data), 1e-13);
      assertClose('evaluate().gradient', r.gradient, gradient(theta, data), 1e-13);
      assertClose('evaluate().hessian', r.hessian, hessian(theta, data), 1e-13, n);
      assertClose('evaluate().hessian vs reference', r.hessian, fx.json.hessian, TOL, n);
      expect(asymmetry(r.hessian, n)).toBeNull();
    });

    it('out buffers are written and returned', () => {
      const { gradient, hessian } = compiled.module;
      const gOut = new Float64Array(n).fill(NaN);
      const hOut = new Float64Array(n * n).fill(NaN);
      const g = gradient(theta, data, gOut);
      const H = hessian(theta, data, hOut);
      expect(g).toBe(gOut);
      expect(H).toBe(hOut);
      assertClose('gradient written to out', gOut, fx.json.gradient, TOL);
      assertClose('Hessian written to out', hOut, fx.json.hessian, TOL, n);
      // A second call into the same buffers gives the same numbers (nothing accumulates).
      gradient(theta, data, gOut);
      hessian(theta, data, hOut);
      assertClose('gradient on reuse', gOut, fx.json.gradient, TOL);
      assertClose('Hessian on reuse', hOut, fx.json.hessian, TOL, n);
    });
  });
}

describe('prod_squares at zero', () => {
  it('has an all-zero, finite Hessian (no NaN from 0 * inf or 0 / 0)', async () => {
    const fx = fixtures.find((f) => f.name === 'prod_squares');
    expect(fx, 'fixture prod_squares').toBeDefined();
    const { module } = await compileModel(fx!.source, fx!.path);
    const zero = new Float64Array(module.model.n);
    expect(module.value(zero)).toBe(0);
    const g = module.gradient(zero);
    const H = module.hessian(zero);
    expect(firstNonFinite(g)).toBe(-1);
    expect(firstNonFinite(H)).toBe(-1);
    expect(Array.from(g, Math.abs)).toEqual(new Array(module.model.n).fill(0));
    expect(Array.from(H, Math.abs)).toEqual(new Array(module.model.n ** 2).fill(0));
  });
});
