// "No buffer allocated inside a Hessian call may be larger than half the Hessian itself":
// every Float64Array the generated module allocates is recorded, at load and during calls.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileToTs, loadTs, type GeneratedModule } from '../helpers/load.ts';

const Original = globalThis.Float64Array;
let sizes: number[] = [];
/** Views over existing memory (the dense kernels' WebAssembly memory): not allocations. */
let views: number[] = [];

beforeAll(() => {
  // The generated code looks `Float64Array` up in the global scope when it runs.
  globalThis.Float64Array = new Proxy(Original, {
    construct(target, args: unknown[]) {
      const made = Reflect.construct(target, args) as Float64Array;
      if (args[0] instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && args[0] instanceof SharedArrayBuffer)) views.push(made.length);
      else sizes.push(made.length);
      return made;
    },
  });
});
afterAll(() => {
  globalThis.Float64Array = Original;
});

async function load(path: string, name: string): Promise<GeneratedModule> {
  const code = compileToTs(readFileSync(path, "utf8"), name);
  return loadTs(code, name);
}

const models = [
  { file: 'bench/models/mlp_64_32_10.hess', sizes: [7, 300], data: (N: number) => ({ X: new Original(N * 64).fill(0.1), Y: new Original(N * 10).fill(0.2) }) },
  { file: 'examples/logreg.hess', sizes: [7, 5000], data: (N: number) => ({ X: new Original(N * 3).fill(0.3), t: new Original(N).fill(1) }) },
  { file: 'examples/mlp_classifier.hess', sizes: [7, 5000], data: (N: number) => ({ X: new Original(N * 4).fill(0.1), Y: new Original(N * 3).fill(1 / 3) }) },
];

describe('workspaces stay below half the Hessian (or 2^16 doubles), whatever the batch size', () => {
  // Batch sizes far above the chunk (logreg's is 2048 rows, the classifier's 1024) stream several chunks.
  for (const { file, sizes: batchSizes, data } of models) {
    it(file, async () => {
      sizes = [];
      views = [];
      const mod = await load(file, file.replace(/.*\//, '').replace('.hess', ''));
      const { n } = mod.model;
      const out = new Original(n * n);
      const theta = new Original(n).fill(0.05);
      const all = [...sizes];
      for (const N of batchSizes) {
        sizes = [];
        mod.hessian(theta, data(N), out);
        all.push(...sizes);
        // Workspaces are sized on first use; the same call again allocates nothing.
        sizes = [];
        mod.hessian(theta, data(N), out);
        expect(sizes, `allocations during a repeated hessian() with N = ${N}`).toEqual([]);
      }
      expect(all.length).toBeGreaterThan(0);
      // (A small model's may hold 2^16 doubles, 512 KB: cpu/stream-batch.ts, WORKSPACE_FLOOR.)
      for (const s of all) expect(s).toBeLessThanOrEqual(Math.max(2 ** 16, (n * n) / 2));
      // The dense kernels' WebAssembly memory (seen through views) holds the streamed chunk's
      // operands and a fixed scratch (packed panels of at most 96×256 and 192×256, and a column
      // tile's of up to 192×2048): below half the Hessian too, or 4 MiB for a model so small that
      // the scratch and its operands of up to 2^16 doubles are more.
      for (const v of views) expect(v).toBeLessThanOrEqual(Math.max(2 ** 19, (n * n) / 2));
    }, 30_000);
  }
});
