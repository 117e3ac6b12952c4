// hessianDiagonal(θ, data, out?): diag(H) in closed form (each diagonal block with its row and
// column indices made equal), checked against the dense Hessian's diagonal on the fixtures,
// every test model and random models; its cost, counted on the lowered loops, stays far below
// the Hessian's.
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
import { loadModelCases, makePoint } from '../models/cases.ts';

type WithDiagonal = GeneratedModule & { hessianDiagonal(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array };

async function check(source: string, path: string, theta: ArrayLike<number>, data: DataArg | undefined): Promise<void> {
  const mod = (await compileModel(source, path)).module as WithDiagonal;
  const n = mod.model.n;
  const H = mod.hessian(theta, data);
  const ref = Float64Array.from({ length: n }, (_, i) => H[i * n + i]!);
  const d = mod.hessianDiagonal(theta, data);
  expect(relativeError(d, ref, 1e-12), `${path}: diagonal vs H`).toBeLessThan(1e-12);
  const out = new Float64Array(n).fill(NaN);
  expect(mod.hessianDiagonal(theta, data, out)).toBe(out);
  expect([...out]).toEqual([...d]);
}

describe('hessianDiagonal against the dense Hessian', () => {
  for (const f of loadFixtures()) {
    it(`fixture ${f.name}`, async () => {
      await check(f.source, f.path, f.json.theta, f.json.data as DataArg);
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
      const m = generateModel(`hessgen-diagonal:${i}`);
      const p = makePoint(`diag${i}`, m.source, {}, 0, Object.fromEntries(m.symbolicDims.map((d) => [d.name, d.sizes[0]])));
      await check(m.source, `random${i}.hess`, p.theta, p.data);
    }
  }, 300_000);
});

describe('hessianDiagonal costs far less than the Hessian', () => {
  const cases: [file: string, dims: Record<string, number>][] = [
    ['mlp_64_32_10.hess', { N: 256 }],
    ['softmax_64_128.hess', { N: 1000 }],
    ['rosenbrock_1000.hess', {}],
  ];
  for (const [file, dims] of cases) {
    it(file, () => {
      const { model } = parseModel(readFileSync(join(repoRoot, 'bench', 'models', file), 'utf8'), file);
      const cost = programCost(lowerModel(model!), new Map(Object.entries(dims)));
      const madds = (e: string) => cost.entries.find((x) => x.entry === e)!.madds;
      console.log(`${file}: diagonal ${madds('hessianDiagonal')}, gradient ${madds('gradient')}, Hessian ${madds('hessian')} multiply-adds`);
      expect(madds('hessianDiagonal')).toBeLessThan(10 * madds('gradient'));
    });
  }
});
