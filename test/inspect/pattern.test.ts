// The structural pattern `hessgen inspect` reports against the Hessian the generated module
// computes: on every example, reference fixture and test model, no computed nonzero may fall
// outside the pattern (θ and data drawn at random, two points each), and the pattern is tight:
// every entry in it is nonzero at one of the points (ReLU networks aside). The pattern's signed
// lattices are enumerated here independently, entry by entry: every entry must be counted 0 or
// 1 times (the inclusion–exclusion is exact), and the counts must add up to each block's
// `entries`. The spy plot's cell counts must equal the enumerated pattern summed per cell.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from '../../compiler/inspect/index.ts';
import { cellCounts } from '../../compiler/inspect/spy.ts';
import { loadFixtures, repoRoot } from '../helpers/fixtures.ts';
import { compileModel } from '../helpers/load.ts';
import { loadModelCases, makePoint, type ModelCase } from '../models/cases.ts';
import { denseEntries } from './dense.ts';

interface Model {
  label: string;
  path: string;
  source: string;
  points: { theta: ArrayLike<number>; data: Record<string, number | ArrayLike<number>> }[];
}

/** Models whose Hessian has entries that vanish on whole regions of θ: ReLU units that are off. */
const LOOSE = new Set(['test/models/net_relu.hess']);

const models: Model[] = [];
const examplesDir = join(repoRoot, 'examples');
for (const f of readdirSync(examplesDir).filter((x) => x.endsWith('.hess')).sort()) {
  const source = readFileSync(join(examplesDir, f), 'utf8');
  const name = f.slice(0, -5);
  models.push({ label: `examples/${f}`, path: `examples/${f}`, source, points: [0, 1].map((s) => makePoint(name, source, {} as ModelCase, s)) });
}
for (const fx of loadFixtures()) {
  const extra = makePoint(fx.name, fx.source, {}, 1);
  models.push({ label: fx.path, path: fx.path, source: fx.source, points: [{ theta: fx.json.theta, data: fx.json.data }, extra] });
}
for (const c of loadModelCases()) {
  models.push({ label: c.path, path: c.path, source: c.source, points: [0, 1].map((s) => makePoint(c.name, c.source, c.spec, s)) });
}

describe('structural pattern vs the computed Hessian', () => {
  it('covers the examples, the fixtures and the test models', () => {
    expect(models.filter((m) => m.path.startsWith('examples/')).length).toBeGreaterThanOrEqual(4);
    expect(models.filter((m) => m.path.startsWith('test/fixtures/')).length).toBeGreaterThanOrEqual(10);
    expect(models.filter((m) => m.path.startsWith('test/models/')).length).toBeGreaterThanOrEqual(50);
  });

  for (const m of models) {
    it(m.label, async () => {
      const result = inspect(m.source, m.path);
      if (!result.ok) throw new Error(`${m.path}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
      const report = result.report;
      const n = report.n;
      const { counts, perBlock } = denseEntries(report);
      // Exact: each entry once or not at all, and the counts add up.
      let total = 0;
      for (let k = 0; k < n * n; k++) {
        if (counts[k] !== 0 && counts[k] !== 1) throw new Error(`${m.path}: entry (${Math.floor(k / n)}, ${k % n}) counted ${counts[k]} times`);
        total += counts[k]!;
      }
      report.blocks.forEach((b, k) => expect(perBlock[k], `H[${b.row},${b.col}]`).toBe(b.entries));
      expect(total).toBe(report.entries);
      // The diagonal blocks are symmetric.
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(counts[i * n + j]).toBe(counts[j * n + i]);

      const { module } = await compileModel(m.source, m.path);
      const seen = new Uint8Array(n * n);
      for (const p of m.points) {
        const H = module.hessian(p.theta, p.data);
        for (let k = 0; k < n * n; k++) {
          if (H[k] !== 0 && counts[k] === 0) throw new Error(`${m.path}: H[${Math.floor(k / n)}, ${k % n}] = ${H[k]} is outside the reported pattern`);
          if (H[k] !== 0) seen[k] = 1;
        }
      }
      // And not loose: at random points, pattern entries are nonzero (LOOSE lists the exceptions).
      let unseen = 0;
      for (let k = 0; k < n * n; k++) if (counts[k] === 1 && !seen[k]) unseen++;
      if (LOOSE.has(m.path)) expect(unseen).toBeLessThan(report.entries);
      else expect(unseen, 'pattern entries that are zero at both points').toBe(0);

      // The spy plot's cells hold the pattern's counts.
      const cells = cellCounts(report);
      const expected = new Float64Array(cells.side * cells.side);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) if (counts[i * n + j]) expected[Math.floor(i / cells.cell) * cells.side + Math.floor(j / cells.cell)]! += 1;
      expect(cells.sampled).toBe(false);
      expect(Array.from(cells.counts)).toEqual(Array.from(expected));
    }, 60_000);
  }
});
