// The spy plots committed under docs/img are what `hessgen inspect --svg` writes for their
// models today, and compiler/inspect bundles for a browser (the playground runs it in the page).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { inspect, spySvg } from '../../compiler/inspect/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const PLOTS: [svg: string, model: string][] = [
  ['docs/img/mlp_classifier.spy.svg', 'examples/mlp_classifier.hess'],
  ['docs/img/net_mlp3_tanh_softplus.spy.svg', 'test/models/net_mlp3_tanh_softplus.hess'],
  ['docs/img/rosenbrock_1000.spy.svg', 'bench/models/rosenbrock_1000.hess'],
  ['docs/img/mlp_784_32_10.spy.svg', 'bench/models/mlp_784_32_10.hess'],
];

describe('docs/img spy plots', () => {
  for (const [svg, model] of PLOTS) {
    it(`${svg} is up to date (hessgen inspect ${model} --svg ${svg})`, () => {
      const r = inspect(readFileSync(join(repoRoot, model), 'utf8'), model);
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      expect(spySvg(r.report)).toBe(readFileSync(join(repoRoot, svg), 'utf8'));
    }, 60_000);
  }
});

describe('compiler/inspect in a browser', () => {
  it('bundles for the browser platform without Node built-ins', async () => {
    const out = await build({ entryPoints: [join(repoRoot, 'compiler/inspect/index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(out.errors).toEqual([]);
    expect(out.outputFiles[0]!.text).not.toMatch(/from ["']node:|require\(["'](fs|path|node:)/);
  }, 60_000);
});
