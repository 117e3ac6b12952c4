// The Gram product of small models' Hessians (compiler/5-lower/gram.ts): which models take it,
// that their Hessians equal those of the per-block lowering (compile option denseKernels: false
// turns both off) and fourth-order finite differences of the exact gradient, with one workspace
// or two (a weight per sample), over one chunk of the batch and many, through the WebAssembly
// kernels and the JavaScript ones; and which models it leaves alone.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { compile, CPU_TARGET, lowerModel } from '../../compiler/index.ts';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { fdHessian, relativeError } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';
import { loadModelCases } from '../models/cases.ts';

vi.setConfig({ testTimeout: 60_000 });

function program(source: string, path = 'model.hess') {
  const { model, diagnostics } = parseModel(source, path);
  if (!model) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return lowerModel(model);
}
const hasGram = (source: string): boolean => program(source).kernels.some((k) => k.name === 'hess_gram');

async function load(source: string, gram: boolean, forceJs = false): Promise<GeneratedModule> {
  const r = compile(source, 'model.hess', gram ? {} : { denseKernels: false });
  if (!r.ok) throw new Error('does not compile');
  return loadTs(r.outputs[0]!.code, 'model.ts', forceJs);
}

const MLP = readFileSync(join(repoRoot, 'bench/models/mlp_3_5_1.hess'), 'utf8');
// A weight per sample (V = U·diag(w)), a second parameter matrix, σ and a data scalar.
const WEIGHTED = [
  'dim N',
  'data X[N, 2]',
  'data y[N]',
  'data w[N]',
  'data lambda',
  'param A[2, 3]',
  'param c[3]',
  'param d',
  'h = sigmoid(X * A) * c + d',
  'minimize sum(w .* (h - y) .^ 2) + lambda * sum(c .^ 2)',
].join('\n');

function point(n: number, seed: string, extra: Record<string, (rng: ReturnType<typeof makeRng>) => number | Float64Array>) {
  const rng = makeRng(seed);
  const theta = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const data: DataArg = {};
  for (const [k, f] of Object.entries(extra)) data[k] = f(rng);
  return { theta, data };
}
const arr = (len: number, lo = -1, hi = 1) => (rng: ReturnType<typeof makeRng>) => Float64Array.from({ length: len }, () => rng.uniform(lo, hi));

describe('Gram product of the Hessian', () => {
  it('takes the 3-5-1 MLP: one sides kernel, one product kernel, the curvature terms in their blocks', () => {
    // (Without the fuse-sums pass, which then makes the five curvature kernels one.)
    const p = lowerModel(parseModel(MLP, 'mlp.hess').model!, { target: { ...CPU_TARGET, fuseSums: false } });
    const names = p.kernels.map((k) => k.name);
    expect(names).toContain('gram_sides');
    expect(names).toContain('hess_gram');
    // Blocks left with curvature terms only: (b2, ·) have none, (w2, w2) none.
    expect(names.filter((k) => k.startsWith('hess_') && k !== 'hess_gram').sort()).toEqual(['hess_W1_W1', 'hess_W1_b1', 'hess_W1_w2', 'hess_b1_b1', 'hess_b1_w2']);
    expect(p.notes.join('\n')).toContain('one Gram product over θ');
  });

  it('leaves alone: θ over 256, a parameter outside the batch sums, two run-time dimensions, no batch', () => {
    expect(hasGram(['dim N', 'data X[N, 16]', 'data y[N]', 'param W[16, 16]', 'param v[16]', 'minimize mean((tanh(X * W) * v - y) .^ 2)'].join('\n'))).toBe(false);
    expect(hasGram(['dim N', 'data X[N, 2]', 'data y[N]', 'param a[2]', 'param s', 'minimize mean((X * a - y) .^ 2) + (s - 1) ^ 4'].join('\n'))).toBe(false);
    expect(hasGram(['dim N', 'dim M', 'data X[N, 2]', 'data Z[M, 2]', 'param a[2]', 'minimize sum((X * a) .^ 2) + sum(tanh(Z * a))'].join('\n'))).toBe(false);
    expect(hasGram(['param x[3]', 'minimize sum(x .^ 4)'].join('\n'))).toBe(false);
    // …and takes the same model as the second one without the parameter outside.
    expect(hasGram(['dim N', 'data X[N, 2]', 'data y[N]', 'param a[2]', 'minimize mean((X * a - y) .^ 2)'].join('\n'))).toBe(true);
  });

  it('a weight per sample: two workspaces, U and U·diag(w)', () => {
    const p = program(WEIGHTED);
    expect(p.kernels.some((k) => k.name === 'hess_gram')).toBe(true);
    const sides = p.kernels.find((k) => k.name === 'gram_sides')!;
    expect(sides.writes.length).toBe(2);
  });

  const cases: { name: string; source: string; n: number; data: (N: number) => Record<string, (rng: ReturnType<typeof makeRng>) => number | Float64Array> }[] = [
    { name: '3-5-1 MLP', source: MLP, n: 26, data: (N) => ({ X: arr(3 * N), y: arr(N) }) },
    { name: 'weighted, σ', source: WEIGHTED, n: 10, data: (N) => ({ X: arr(2 * N), y: arr(N), w: arr(N, 0.1, 2), lambda: () => 0.3 }) },
  ];
  for (const c of cases) {
    for (const N of [1, 7, 300]) {
      it(`${c.name}, N = ${N}: equals the per-block Hessian (both kernels) and finite differences`, async () => {
        const [gram, js, plain] = [await load(c.source, true), await load(c.source, true, true), await load(c.source, false)];
        const { theta, data } = point(c.n, `${c.name}/${N}`, c.data(N));
        const want = plain.hessian(theta, data);
        type Sparse = { hessianSparse(t: ArrayLike<number>, d: DataArg): Float64Array };
        const wantSparse = (plain as GeneratedModule & Sparse).hessianSparse(theta, data);
        for (const m of [gram, js]) {
          expect(relativeError(m.hessian(theta, data), want)).toBeLessThan(1e-13);
          expect(relativeError(m.evaluate(theta, data).hessian, want)).toBeLessThan(1e-13);
          // The sparse Hessian runs the product's loops into its slots.
          expect(relativeError((m as GeneratedModule & Sparse).hessianSparse(theta, data), wantSparse)).toBeLessThan(1e-13);
          const H = m.hessian(theta, data);
          for (let i = 0; i < c.n; i++) for (let j = i + 1; j < c.n; j++) if (H[i * c.n + j] !== H[j * c.n + i]) expect.fail(`H[${i},${j}] !== H[${j},${i}]`);
        }
        // Independent of both lowerings' Hessian code: the gradient's finite differences.
        expect(relativeError(gram.hessian(theta, data), fdHessian((t) => plain.gradient(t, data), theta))).toBeLessThan(1e-7);
      });
    }
  }

  it('the test models and examples that take it (so that the suites over them test it too)', () => {
    const sources = [
      ...loadModelCases().map((c) => c.source),
      ...readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.hess')).map((f) => readFileSync(join(repoRoot, 'examples', f), 'utf8')),
    ];
    const taking = sources.filter((s) => {
      try {
        return hasGram(s);
      } catch {
        return false;
      }
    });
    expect(taking.length).toBeGreaterThanOrEqual(5);
  });
});
