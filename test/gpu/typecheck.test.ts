// Generated GPU modules type-check under `strict` (and the stricter flags strict projects add),
// together with the runtime they import and a strict consumer of their API.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { loadFixtures, repoRoot } from '../helpers/fixtures.ts';
import { compileToGpu } from '../helpers/gpu.ts';
import { typeCheck, type SourceFile } from '../helpers/typecheck.ts';

const CONSUMER = `import { createKernels, model, wgsl } from './logreg.gpu';
import type { Data, Kernels } from './logreg.gpu';

export async function use(device: GPUDevice): Promise<number> {
  const k: Kernels = await createKernels(device);
  const d: Data = { X: [1, 2, 3, 4], t: new Float64Array([0, 1]) };
  k.setData(d);
  // @ts-expect-error: t is missing
  k.setData({ X: [1, 2] });
  const theta = new Array<number>(model.n).fill(0);
  const H: Float32Array = await k.hessian(theta, new Float32Array(model.n * model.n));
  const all: { value: number; gradient: Float32Array; hessian: Float32Array } = await k.evaluate(theta);
  const batch: { values: Float32Array; gradients: Float32Array; hessians: Float32Array } = await k.evaluateBatch([...theta, ...theta]);
  const onGpu: GPUBuffer = await k.hessianBuffer(theta);
  const many: Float32Array = await k.hessianBatch([...theta, ...theta]);
  k.setData(d, { batched: ['X', 't'] });
  k.destroy();
  const sources: string[] = Object.values(wgsl);
  return H[0]! + all.value + batch.values[0]! + onGpu.size + many.length + sources.length;
}
`;

describe('generated GPU modules', () => {
  it('type-check under strict with the runtime and a strict consumer', () => {
    const files: SourceFile[] = loadFixtures().map((fx) => ({ name: `${fx.name}.gpu.ts`, code: compileToGpu(fx.source, fx.path) }));
    const logreg = compile(`dim N\ndata X[N, 2]\ndata t[N]\nparam w[2]\nminimize mean(softplus(X * w) - t .* (X * w))\n`, 'logreg.hess', { targets: ['wgsl'] });
    if (!logreg.ok) throw new Error('logreg does not compile');
    files.push({ name: 'logreg.gpu.ts', code: logreg.outputs[0]!.code }, { name: 'consumer.ts', code: CONSUMER });
    const errors = typeCheck(files, {
      runtime: join(repoRoot, 'runtime', 'index.ts'),
      webgpuTypes: join(repoRoot, 'node_modules', '@webgpu', 'types', 'dist', 'index.d.ts'),
    });
    expect(errors).toEqual([]);
  }, 120_000);

  it('is deterministic: the same model gives the same bytes', () => {
    const [fx] = loadFixtures();
    expect(compileToGpu(fx!.source, fx!.path)).toBe(compileToGpu(fx!.source, fx!.path));
  });
});
