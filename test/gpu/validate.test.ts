// Every shader generated for every model we have (the reference fixtures, our test models, the
// benchmark models and the examples) compiles with Dawn, and every pipeline is created against
// the runtime's bind group layout: Dawn's null backend validates without executing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, modelsDir, repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu, loadGpu, nullDevice, shaderErrors } from '../helpers/gpu.ts';

const folders = [fixturesDir, modelsDir, join(repoRoot, 'bench', 'models'), join(repoRoot, 'examples')];
const models = folders.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.hess'))
    .sort()
    .map((f) => ({ label: `${dir.split('/').slice(-2).join('/')}/${f}`, source: readFileSync(join(dir, f), 'utf8') })),
);

describe('WGSL validates on Dawn (null backend)', () => {
  it('covers every model folder', () => {
    expect(models.length).toBeGreaterThan(80);
  });
  for (const m of models) {
    it(m.label, { timeout: 120_000 }, async () => {
      const { device } = await nullDevice();
      const code = compileToGpu(m.source, m.label);
      const mod = await loadGpu(code, m.label);
      const names = Object.keys(mod.wgsl);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        const errors = await shaderErrors(device, mod.wgsl[name]!);
        expect(errors, `${name}:\n${errors.join('\n')}`).toEqual([]);
      }
      // Pipelines against the runtime's layout (bindings, access modes, uniform size).
      device.pushErrorScope('validation');
      const k = await mod.createKernels(device);
      expect(await device.popErrorScope()).toBeNull();
      k.destroy();
    });
  }
});
