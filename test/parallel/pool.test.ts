// hessgen/runtime/parallel, as the package ships it (dist/runtime/parallel.js and its worker):
// a pool of worker threads over a generated module's shard entry gives the one-thread results
// within 1e-12 for every output, with 1, 2 and 3 workers (more workers than rows too), plain and
// shared data; bad input is a RangeError (also when a worker finds it); a module without a shard
// entry is refused; dispose() ends the workers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { assertClose } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import type * as Parallel from '../../runtime/parallel/index.ts';

const TOL = 1e-12;
let dir = '';
let parallel: typeof Parallel;

const MLP = `
dim N
data X[N, 4]
data Y[N, 3]
param W1[4, 6]
param b1[6]
param W2[6, 3]
param b2[3]
H = tanh(X * W1 + b1)
Z = H * W2 + b2
minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.01 * (sum(W1 .^ 2) + sum(W2 .^ 2))
`;
const NO_SHARDS = 'dim N\ndata x[N]\nparam a\nminimize log(sum(exp(x * a)))\n';

/** Writes the model's generated JavaScript module to the temporary folder; its file URL. */
function build(source: string, name: string): string {
  const r = compile(source, `${name}.hess`, { emit: 'js' });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const file = join(dir, `${name}.js`);
  writeFileSync(file, r.outputs.find((o) => o.fileName === `${name}.js`)!.code);
  return pathToFileURL(file).href;
}

interface Module {
  model: { n: number };
  evaluate(theta: ArrayLike<number>, data: object): { value: number; gradient: Float64Array; hessian: Float64Array };
  hvp(theta: ArrayLike<number>, data: object, v: ArrayLike<number>): Float64Array;
  hessianDiagonal(theta: ArrayLike<number>, data: object): Float64Array;
}

function point(N: number, seed: string) {
  const rng = makeRng(seed);
  const X = Float64Array.from({ length: N * 4 }, () => rng.uniform(-1, 1));
  const Y = new Float64Array(N * 3);
  for (let i = 0; i < N; i++) Y[i * 3 + rng.int(0, 2)] = 1;
  const theta = Float64Array.from({ length: 4 * 6 + 6 + 6 * 3 + 3 }, () => rng.uniform(-0.8, 0.8));
  const v = Float64Array.from({ length: theta.length }, () => rng.uniform(-1, 1));
  return { data: { X, Y }, theta, v };
}

let mlpUrl = '';
let mlp: Module;

beforeAll(async () => {
  mkdirSync(join(repoRoot, 'node_modules', '.cache'), { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'hessgen-parallel-'));
  mlpUrl = build(MLP, 'mlp');
  mlp = (await import(/* @vite-ignore */ mlpUrl)) as Module;
  parallel = (await import(/* @vite-ignore */ pathToFileURL(join(repoRoot, 'dist', 'runtime', 'parallel.js')).href)) as typeof Parallel;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a pool of workers gives the one-thread results', () => {
  for (const [workers, N] of [[1, 23], [2, 37], [3, 2]] as const) {
    it(`${workers} worker(s), N = ${N}`, async () => {
      const pool = await parallel.createPool({ module: mlpUrl, workers });
      try {
        expect(pool.workers).toBe(workers);
        expect(pool.model.n).toBe(mlp.model.n);
        const { data, theta, v } = point(N, `pool-${workers}-${N}`);
        const one = mlp.evaluate(theta, data);
        const n = mlp.model.n;
        assertClose('value', [await pool.value(theta, data)], [one.value], TOL);
        assertClose('gradient', await pool.gradient(theta, data), one.gradient, TOL);
        assertClose('hessian', await pool.hessian(theta, data), one.hessian, TOL, n);
        const ev = await pool.evaluate(theta, data);
        assertClose('evaluate value', [ev.value], [one.value], TOL);
        assertClose('evaluate gradient', ev.gradient, one.gradient, TOL);
        assertClose('evaluate hessian', ev.hessian, one.hessian, TOL, n);
        assertClose('hvp', await pool.hvp(theta, data, v), mlp.hvp(theta, data, v), TOL);
        assertClose('hessianDiagonal', await pool.hessianDiagonal(theta, data), mlp.hessianDiagonal(theta, data), TOL);
        // Shared data (no copy) and an `out` array give the same.
        const shared = { X: parallel.toShared(data.X), Y: parallel.toShared(data.Y) };
        const out = new Float64Array(n * n).fill(Number.NaN);
        expect(await pool.hessian(theta, shared, out)).toBe(out);
        assertClose('hessian into out, shared data', out, one.hessian, TOL, n);
        // Calls made together run one after another, each right.
        const [a, b] = await Promise.all([pool.gradient(theta, data), pool.value(theta, data)]);
        assertClose('concurrent gradient', a, one.gradient, TOL);
        assertClose('concurrent value', [b], [one.value], TOL);
      } finally {
        await pool.dispose();
      }
    }, 60_000);
  }
});

describe('bad input and lifecycle', () => {
  it('RangeErrors for θ, v, out and data (from the workers too); refusal without a shard entry; dispose', async () => {
    const pool = await parallel.createPool({ module: mlpUrl, workers: 2 });
    const { data, theta, v } = point(5, 'bad');
    try {
      await expect(pool.value(theta.subarray(1), data)).rejects.toThrow(RangeError);
      await expect(pool.hvp(theta, data, v.subarray(2))).rejects.toThrow(/v: expected an array of length/);
      await expect(pool.gradient(theta, data, new Float64Array(3))).rejects.toThrow(RangeError);
      // Y has a row too few: X says N = 5; the worker's generated code reports it.
      await expect(pool.hessian(theta, { X: data.X, Y: data.Y.subarray(3) })).rejects.toThrow(RangeError);
      await expect(pool.hessian(theta, { X: data.X, Y: data.Y.subarray(3) })).rejects.toThrow(/data\.Y/);
      await expect(pool.value(theta, { X: data.X.subarray(1), Y: data.Y })).rejects.toThrow(/data\.X has length 19, expected a multiple of 4/);
      await expect(pool.value(theta, { X: data.X } as never)).rejects.toThrow(/data\.Y: expected an array of numbers/);
      // The pool still works after errors.
      assertClose('after errors', [await pool.value(theta, data)], [mlp.evaluate(theta, data).value], TOL);
    } finally {
      await pool.dispose();
    }
    await expect(pool.value(theta, data)).rejects.toThrow(/disposed/);
    await expect(parallel.createPool({ module: mlpUrl, workers: 0 })).rejects.toThrow(RangeError);
    await expect(parallel.createPool({ module: build(NO_SHARDS, 'noshards'), workers: 1 })).rejects.toThrow(/no shard entry/);
  }, 60_000);
});
