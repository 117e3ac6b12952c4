// Whole modules with dense blocks through the kernels against the same modules with plain loops
// (compile option denseKernels: false): every test model, the examples and the bench models the
// kernels were built for, in several batch chunks, with the WebAssembly SIMD kernel and with the
// JavaScript fallback (HESSGEN_DENSE=js). Different summation order: equal within round-off.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, CPU_TARGET, lowerModel } from '../../compiler/index.ts';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { denseBlocks } from '../../compiler/5-lower/cpu/dense-blocks.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { CASES, loadModelCases, makePoint, type ModelCase } from '../models/cases.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs, type DataArg } from '../helpers/load.ts';

interface Module {
  hessian(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array;
  gradient(theta: ArrayLike<number>, data?: DataArg): Float64Array;
  hessianSparse?(theta: ArrayLike<number>, data?: DataArg): Float64Array;
  evaluate(theta: ArrayLike<number>, data?: DataArg): { value: number; gradient: Float64Array; hessian: Float64Array };
}

/** The CPU module: plain loops (false), the compiler's choice (true), or every product the pass can prove (1). */
function code(source: string, path: string, denseKernels: boolean | 1): string {
  if (denseKernels === 1) {
    // Every matrix product the pass recognizes and every pair-symmetric block, however small.
    const { model } = parseModel(source, path);
    const info = { sourcePath: path, name: model!.name, params: model!.params, data: model!.data, symbolicDims: model!.symbolicDims };
    return emitTypeScript(denseBlocks(lowerModel(model!, { target: { ...CPU_TARGET, pairMinEntries: 1 } }), { minEntries: 1 }), info);
  }
  const r = compile(source, path, { denseKernels });
  if (!r.ok) throw new Error(`${path} does not compile`);
  return r.outputs[0]!.code;
}

const load = async (ts: string, forceJs: boolean): Promise<Module> => (await loadTs(ts, 'dense.ts', forceJs)) as unknown as Module;

const H0 = (h: Float64Array) => Math.round(Math.sqrt(h.length));

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  return a.length !== b.length ? Infinity : err / (scale || 1);
}

/** Bench-sized models, smaller: the shapes the kernels were built for. */
const EXTRA: { name: string; source: string; spec: ModelCase; dims: Record<string, number>[] }[] = [
  ...['mlp_64_32_10', 'mlp_3_5_1'].map((name) => ({ name, source: readFileSync(join(repoRoot, 'bench/models', `${name}.hess`), 'utf8'), spec: {}, dims: [{ N: 37 }] })),
  {
    name: 'softmax_20_36',
    source: ['dim N', 'data X[N, 20]', 'data Y[N, 36]', 'param W[20, 36]', 'param b[36]', 'Z = X * W + b', 'minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.001 * sum(W .^ 2)'].join('\n'),
    spec: {},
    // 2100 rows: two chunks of the batch at least.
    dims: [{ N: 3 }, { N: 2100 }],
  },
];

describe('dense blocks: whole Hessians unchanged within round-off', () => {
  const cases = [
    ...loadModelCases().map((c) => ({ name: c.name, source: c.source, spec: c.spec, dims: [c.spec.dims ?? {}, c.spec.largeDims ?? { N: 1037 }] })),
    ...readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.hess')).map((f) => ({ name: f.slice(0, -5), source: readFileSync(join(repoRoot, 'examples', f), 'utf8'), spec: CASES[f.slice(0, -5)] ?? {}, dims: [{}] })),
    ...EXTRA,
  ];
  let withDense = 0;
  for (const c of cases) {
    // The bench-sized models as the compiler builds them; the small ones with every product.
    const dense = code(c.source, `${c.name}.hess`, EXTRA.includes(c as (typeof EXTRA)[number]) ? true : 1);
    if (!dense.includes('s.dense.block(') && !dense.includes('s.dense.pairs(')) continue;
    withDense++;
    it(`${c.name}: SIMD and JavaScript kernels against plain loops`, async () => {
      const plain = await load(code(c.source, `${c.name}.hess`, false), false);
      const simd = await load(dense, false);
      const js = await load(dense, true);
      for (const dims of c.dims) {
        const { theta, data } = makePoint(c.name, c.source, c.spec, 1, dims as Record<string, number>);
        const want = plain.hessian(theta, data as DataArg);
        for (const m of [simd, js]) {
          expect(relErr(m.hessian(theta, data as DataArg), want)).toBeLessThan(1e-12);
          const all = m.evaluate(theta, data as DataArg);
          expect(relErr(all.hessian, want)).toBeLessThan(1e-12);
          expect(relErr(all.gradient, plain.gradient(theta, data as DataArg))).toBeLessThan(1e-12);
          if (m.hessianSparse && plain.hessianSparse && H0(want) < 1000) expect(relErr(m.hessianSparse(theta, data as DataArg), plain.hessianSparse(theta, data as DataArg))).toBeLessThan(1e-12);
          // Exactly symmetric, as before.
          const H = m.hessian(theta, data as DataArg);
          const n = Math.round(Math.sqrt(H.length));
          for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (H[i * n + j] !== H[j * n + i]) expect.fail(`H[${i},${j}] !== H[${j},${i}]`);
        }
      }
    }, 120_000);
  }
  it("keeps the loops of an index shared by rows and columns around a product per iteration (an MLP's (W1, W2) block)", () => {
    // H[(i, h), (h, o)] = Σ_n t[i, h, n]·u[o, n]: h in both, so no single product; one per i.
    const source = readFileSync(join(repoRoot, 'bench/models/mlp_64_32_10.hess'), 'utf8');
    const p = lowerModel(parseModel(source, 'mlp_64_32_10.hess').model!, { target: CPU_TARGET });
    const kernel = p.kernels.find((k) => k.name === 'hess_W1_W2')!;
    const found = JSON.stringify(kernel.body);
    const dense = kernel.body.flatMap((st) => (st.k === 'block' ? st.body : [st])).filter((st) => st.k === 'denseBlock');
    expect(dense, found.slice(0, 400)).toHaveLength(1);
    const d = dense[0]!;
    expect(d.k === 'denseBlock' && [d.outer.map((l) => l.v), d.rows, d.cols]).toEqual([['i0'], { k: 'num', v: 32 }, { k: 'num', v: 10 }]);
  });
  it('finds dense blocks in the models that have them', () => {
    // The bench models and a good part of the test models have dense blocks: a pass that
    // matched nothing would make this suite vacuous.
    expect(withDense).toBeGreaterThanOrEqual(20);
  });
});
