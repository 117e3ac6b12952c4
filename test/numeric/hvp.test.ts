// hvp(θ, data, v, out?): H·v in closed form (the directional derivative of the gradient along v),
// checked against the dense Hessian times v, against central differences of the gradient along
// v, on the fixtures, every test model and random models; and its cost, counted on the lowered
// loops, grows like a gradient's, not like the Hessian's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { lowerModel } from '../../compiler/index.ts';
import { programCost } from '../../compiler/inspect/cost.ts';
import { generateModel } from '../fuzz/generate.ts';
import { loadFixtures, repoRoot } from '../helpers/fixtures.ts';
import { compileModel, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';

type WithHvp = GeneratedModule & { hvp(theta: ArrayLike<number>, data: DataArg | undefined, v: ArrayLike<number>, out?: Float64Array): Float64Array };

function denseTimes(H: Float64Array, v: ArrayLike<number>, n: number): Float64Array {
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += H[i * n + j]! * v[j]!;
    r[i] = s;
  }
  return r;
}

/** (g(θ + h v) − g(θ − h v)) / 2h, with a second step to tell rounding from a wrong result. */
function fdAlong(mod: GeneratedModule, theta: Float64Array, data: DataArg | undefined, v: Float64Array, h: number): Float64Array {
  const plus = theta.map((t, k) => t + h * v[k]!);
  const minus = theta.map((t, k) => t - h * v[k]!);
  const gp = mod.gradient(plus, data);
  const gm = mod.gradient(minus, data);
  return gp.map((x, k) => (x - gm[k]!) / (2 * h));
}

function direction(n: number, seed: string): Float64Array {
  const rng = makeRng(seed);
  return Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
}

async function check(source: string, path: string, theta: Float64Array, data: DataArg | undefined): Promise<void> {
  const mod = (await compileModel(source, path)).module as WithHvp;
  const n = mod.model.n;
  const v = direction(n, path);
  const H = mod.hessian(theta, data);
  const Hv = mod.hvp(theta, data, v);
  const ref = denseTimes(H, v, n);
  // Against H·v: the same second derivatives, summed in another order.
  expect(relativeError(Hv, ref, 1e-12), `${path}: hvp vs H·v`).toBeLessThan(1e-10);
  // Against differences of the gradient along v (h⁴ truncation, 1/h rounding: two steps).
  const errs = [1e-4, 1e-5].map((h) => relativeError(Hv, fdAlong(mod, theta, data, v, h), 1e-6));
  expect(Math.min(...errs), `${path}: hvp vs finite differences`).toBeLessThan(1e-6);
  // `out` is filled and returned; repeated calls give the same bits.
  const out = new Float64Array(n).fill(NaN);
  expect(mod.hvp(theta, data, v, out)).toBe(out);
  expect([...out]).toEqual([...Hv]);
}

describe('hvp against H·v and finite differences', () => {
  for (const f of loadFixtures()) {
    it(`fixture ${f.name}`, async () => {
      await check(f.source, f.path, Float64Array.from(f.json.theta), f.json.data as DataArg);
    });
  }
  it('every test model', async () => {
    for (const c of loadModelCases()) {
      const p = makePoint(c.name, c.source, c.spec);
      await check(c.source, c.path, p.theta, p.data);
    }
  }, 300_000);
  it('random models (with underscore-rich names)', async () => {
    for (let i = 0; i < 15; i++) {
      const m = generateModel(`hessgen-hvp:${i}`);
      const p = makePoint(`hvp${i}`, m.source, {}, 0, Object.fromEntries(m.symbolicDims.map((d) => [d.name, d.sizes[0]])));
      await check(m.source, `random${i}.hess`, p.theta, p.data);
    }
    // 15 whole compilations; one model's sparse Hessian is very large: 713 s on a quiet 2-core
    // machine (300 s ran out in a CI rehearsal).
  }, 1_500_000);
  it('rejects a wrong v with a RangeError', async () => {
    const f = loadFixtures()[0]!;
    const mod = (await compileModel(f.source, f.path)).module as WithHvp;
    expect(() => mod.hvp(f.json.theta, f.json.data as DataArg, [1])).toThrow(RangeError);
    expect(() => mod.hvp(f.json.theta, f.json.data as DataArg, null as unknown as number[])).toThrow(RangeError);
  });
});

describe('hvp costs what a gradient costs', () => {
  // Multiply-adds of each entry point, counted on the lowered loops at the benchmark sizes.
  const cases: [file: string, dims: Record<string, number>][] = [
    ['mlp_64_32_10.hess', { N: 256 }],
    ['softmax_64_128.hess', { N: 1000 }],
    ['rosenbrock_1000.hess', {}],
    ['mlp_3_5_1.hess', { N: 7 }],
  ];
  for (const [file, dims] of cases) {
    it(file, () => {
      const { model } = parseModel(readFileSync(join(repoRoot, 'bench', 'models', file), 'utf8'), file);
      const cost = programCost(lowerModel(model!), new Map(Object.entries(dims)));
      const madds = (e: string) => cost.entries.find((x) => x.entry === e)!.madds;
      const ratio = madds('hvp') / madds('gradient');
      console.log(`${file}: hvp ${madds('hvp')} / gradient ${madds('gradient')} multiply-adds = ${ratio.toFixed(2)}; Hessian ${madds('hessian')}`);
      // Linear in n like the gradient (measured 1.7 to 7.9 times its work), far below the Hessian.
      expect(ratio).toBeLessThan(10);
      if (madds('hessian') > 100 * madds('gradient')) expect(madds('hvp')).toBeLessThan(madds('hessian') / 10);
    });
  }
});
