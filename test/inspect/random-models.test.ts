// The reported pattern on random models (test/fuzz's generator: every operator, function,
// reduction and indexing form in random compositions): no nonzero of the computed Hessian falls
// outside it, at two random points each, and every pattern is exact.
import { describe, expect, it } from 'vitest';
import { inspect } from '../../compiler/inspect/index.ts';
import { generateModel } from '../fuzz/generate.ts';
import { compileModel } from '../helpers/load.ts';
import { makePoint } from '../models/cases.ts';
import { denseEntries } from './dense.ts';

const COUNT = 40;

describe('structural pattern on random models', () => {
  for (let s = 0; s < COUNT; s++) {
    const m = generateModel(`inspect-${s}`);
    it(m.seed, async () => {
      const r = inspect(m.source, `${m.seed}.hess`);
      if (!r.ok) throw new Error(`${m.seed} does not compile:\n${m.source}\n${r.diagnostics.map((d) => d.message).join('\n')}`);
      expect(r.report.blocks.every((b) => b.exact)).toBe(true);
      const { counts } = denseEntries(r.report);
      const n = r.report.n;
      const { module } = await compileModel(m.source, `${m.seed}.hess`);
      for (let k = 0; k < 2; k++) {
        const dims = Object.fromEntries(m.symbolicDims.map((d) => [d.name, d.sizes[k]!]));
        const p = makePoint(m.seed, m.source, { dims }, k);
        const H = module.hessian(p.theta, p.data);
        for (let e = 0; e < n * n; e++) {
          if (H[e] !== 0 && counts[e] !== 1) throw new Error(`${m.seed}: H[${Math.floor(e / n)}, ${e % n}] = ${H[e]} is outside the reported pattern\n${m.source}`);
        }
      }
    }, 60_000);
  }
});
