// Pair symmetry (4-simplify/pair-symmetry.ts, 5-lower/pair-nest.ts): the diagonal blocks of matrix
// parameters summed once per {a, c} × {b, d} pair. Against the upper-triangle loops it replaces
// (pairSymmetry off) on every test model, the examples and the bench models' shapes: the same
// Hessian within round-off, exactly symmetric, and the same sparse Hessian; against finite
// differences of the gradient on the models the form was made for; and half the multiply-adds.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import type { Model } from '../../compiler/2-ir/graph.ts';
import { CPU_TARGET, lowerModel, type TargetCapabilities } from '../../compiler/index.ts';
import { programCost } from '../../compiler/inspect/cost.ts';
import type { Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { CASES, loadModelCases, makePoint } from '../models/cases.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import type { DataArg } from '../helpers/load.ts';
import { relativeError } from '../helpers/numeric.ts';

interface Module {
  hessian(theta: ArrayLike<number>, data?: DataArg): Float64Array;
  gradient(theta: ArrayLike<number>, data?: DataArg): Float64Array;
  hessianSparse?(theta: ArrayLike<number>, data?: DataArg): Float64Array;
}

// Every pair-symmetric block, however small (the compiler's default leaves small ones alone).
const LOOPS: TargetCapabilities = { ...CPU_TARGET, denseKernels: false, pairMinEntries: 1 };
const PLAIN: TargetCapabilities = { ...LOOPS, pairSymmetry: false };

function parse(source: string, path: string): Model {
  const { model } = parseModel(source, path);
  if (!model) throw new Error(`${path} does not parse`);
  return model;
}

async function load(p: Program, path: string): Promise<Module> {
  const ts = emitTypeScript(p, { sourcePath: path });
  const js = await transform(ts, { loader: 'ts', format: 'esm', target: 'es2022' });
  return (await import(/* @vite-ignore */ `data:text/javascript;base64,${Buffer.from(js.code, 'utf8').toString('base64')}`)) as Module;
}

/** The pair nests of a program (blocks carrying `pair`, or the kernels' calls that replaced them). */
function pairNests(p: Program): number {
  let n = 0;
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      if (st.k === 'pairBlock' || (st.k === 'block' && st.pair)) n++;
      if (st.k === 'block') visit(st.body);
    }
  };
  for (const k of p.kernels) visit(k.body);
  return n;
}


const bench = (name: string) => readFileSync(join(repoRoot, 'bench/models', `${name}.hess`), 'utf8');
const SOFTMAX = ['dim N', 'data X[N, 7]', 'data Y[N, 5]', 'param W[7, 5]', 'param b[5]', 'Z = X * W + b', 'minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.01 * sum(W .^ 2)'].join('\n');

describe('pair symmetry: the same Hessians as the upper-triangle loops', () => {
  const cases = [
    ...loadModelCases().map((c) => ({ name: c.name, source: c.source, spec: c.spec, dims: c.spec.dims ?? {} })),
    ...readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.hess')).map((f) => ({ name: f.slice(0, -5), source: readFileSync(join(repoRoot, 'examples', f), 'utf8'), spec: CASES[f.slice(0, -5)] ?? {}, dims: {} })),
    { name: 'mlp_64_32_10', source: bench('mlp_64_32_10'), spec: {}, dims: { N: 9 } },
    { name: 'softmax_7_5', source: SOFTMAX, spec: {}, dims: { N: 2100 } },
    // W's rows scaled by data D: the factor D[a]·D[c] without the batch is the blocks' K[a, c].
    { name: 'softmax_scaled_7_5', source: SOFTMAX.replace('param W', 'data D[7, 1]\nparam W').replace('X * W', 'X * (W .* D)'), spec: {}, dims: { N: 300 } },
  ];
  let withPairs = 0;
  for (const c of cases) {
    const model = parse(c.source, `${c.name}.hess`);
    const paired = lowerModel(model, { target: LOOPS });
    if (pairNests(paired) === 0) continue;
    withPairs++;
    it(`${c.name}: pair loops against the upper triangle`, async () => {
      const plain = await load(lowerModel(model, { target: PLAIN }), `${c.name}.hess`);
      const pair = await load(paired, `${c.name}.hess`);
      const { theta, data } = makePoint(c.name, c.source, c.spec, 3, c.dims as Record<string, number>);
      const want = plain.hessian(theta, data as DataArg);
      const H = pair.hessian(theta, data as DataArg);
      expect(relativeError(H, want)).toBeLessThan(1e-12);
      const n = Math.round(Math.sqrt(H.length));
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (H[i * n + j] !== H[j * n + i]) expect.fail(`H[${i},${j}] !== H[${j},${i}]`);
      if (pair.hessianSparse && plain.hessianSparse) expect(relativeError(pair.hessianSparse(theta, data as DataArg), plain.hessianSparse(theta, data as DataArg))).toBeLessThan(1e-12);
    }, 120_000);
  }
  it('finds pair-symmetric blocks', () => {
    // Every layer weight's own block has the form: a suite that matched nothing would be vacuous.
    expect(withPairs).toBeGreaterThanOrEqual(8);
  });
});

describe('pair symmetry: the models it was made for', () => {
  it('softmax regression: central differences of the gradient', async () => {
    const model = parse(SOFTMAX, 'softmax_7_5.hess');
    const p = lowerModel(model, { target: LOOPS });
    // The block of W: its Σ p p term in pairs of rows and columns, its δ term in pairs of rows.
    expect(pairNests(p)).toBe(2);
    const mod = await load(p, 'softmax_7_5.hess');
    const { theta, data } = makePoint('softmax_7_5', SOFTMAX, {}, 5, { N: 40 });
    const H = mod.hessian(theta, data as DataArg);
    const n = theta.length;
    const h = 1e-5;
    for (let j = 0; j < n; j++) {
      const up = Float64Array.from(theta);
      const down = Float64Array.from(theta);
      up[j]! += h;
      down[j]! -= h;
      const gu = mod.gradient(up, data as DataArg);
      const gd = mod.gradient(down, data as DataArg);
      for (let i = 0; i < n; i++) expect(Math.abs(H[i * n + j]! - (gu[i]! - gd[i]!) / (2 * h))).toBeLessThan(1e-7);
    }
  });

  it('halves the multiply-adds of the bench models\' Hessians', () => {
    for (const [name, N] of [['softmax_64_128', 1000], ['mlp_64_32_10', 256]] as const) {
      const model = parse(bench(name), `${name}.hess`);
      const madds = (t: TargetCapabilities) => programCost(lowerModel(model, { target: t }), new Map([['N', N]])).entries.find((e) => e.entry === 'hessian')!.madds;
      // The kernels' count: the product of the pairs, against the upper triangle's.
      const ratio = madds(CPU_TARGET) / madds({ ...CPU_TARGET, pairSymmetry: false });
      expect(ratio).toBeGreaterThan(0.45);
      expect(ratio).toBeLessThan(0.65);
    }
  });
});
