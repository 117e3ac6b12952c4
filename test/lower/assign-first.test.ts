// The assign-first pass (compiler/5-lower/cpu/assign-first.ts): a pair block that covers its
// parameter's whole diagonal Hessian block assigns it on the batch's first chunk, and the entry
// points clear only the rest of the Hessian. Checked on outputs filled with NaN beforehand (a
// block left uncleared and not assigned would show), against the same model lowered without the
// pass: hessian(out), evaluate(out), several chunks, calls repeated into the same array, shards
// (empty ranges included, where no chunk runs), the JavaScript fallback of the dense kernels.
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { CPU_TARGET, lowerModel, type TargetCapabilities } from '../../compiler/index.ts';
import { buffersStored, type Program } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { loadTs, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';

// Two matrix parameters whose diagonal blocks are pair blocks (softmax terms), a parameter between
// them, a term without the batch on the second, and a batch long enough for several chunks.
const SOURCE = `dim N
data X[N, 6]
data Y[N, 5]
param W[6, 5]
param b[5]
param V[6, 5]
Z = X * W + b
minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + mean(logsumexp(X * V, 2)) + 0.5 * sum(V .^ 4)
`;

interface Range {
  start: number;
  end: number;
  total: number;
}
type Module = GeneratedModule & {
  evaluate(theta: ArrayLike<number>, data: DataArg, out?: { value: number; gradient: Float64Array; hessian: Float64Array }): { value: number; gradient: Float64Array; hessian: Float64Array };
  createShardEvaluator(): { hessian(theta: ArrayLike<number>, data: DataArg, range: Range, out?: Float64Array): Float64Array };
};

// Pairs even for these small blocks (the default threshold is for the bench's sizes).
const target = (assignFirst: boolean): TargetCapabilities => ({ ...CPU_TARGET, pairMinEntries: 1, assignFirst });

function program(assignFirst: boolean): Program {
  const { model, diagnostics } = parseModel(SOURCE, 'assign_first.hess');
  expect(diagnostics).toEqual([]);
  return lowerModel(model!, { target: target(assignFirst) });
}

const load = (p: Program, label: string, forceJs = false) => loadTs(emitTypeScript(p, { sourcePath: 'assign_first.hess' }), label, forceJs) as Promise<Module>;

function dataOf(N: number, seed: number): { X: Float64Array; Y: Float64Array } {
  const rng = makeRng(seed);
  const Y = new Float64Array(N * 5);
  for (let s = 0; s < N; s++) Y[s * 5 + Math.floor(rng.next() * 5)] = 1;
  return { X: Float64Array.from({ length: N * 6 }, () => rng.uniform(-1, 1)), Y };
}

/** Rows [start, end) of a [N, k] array. */
const rowsOf = (a: Float64Array, k: number, start: number, end: number) => a.slice(start * k, end * k);

function expectSame(actual: Float64Array, expected: Float64Array): void {
  let worst = 0;
  const scale = Math.max(1e-300, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  // (NaN fails this comparison too.)
  expect(worst).toBeLessThanOrEqual(1e-13);
}

describe('assign-first: pair blocks that cover a diagonal block assign it', () => {
  const marked = program(true);

  it('marks the covering pair blocks and lists their blocks in the entries that run them', () => {
    const pairs = marked.kernels.flatMap((k) => k.body.filter((st) => st.k === 'pairBlock').map((st) => ({ kernel: k.name, st })));
    const assigning = pairs.filter((x) => x.st.k === 'pairBlock' && x.st.assign !== undefined);
    expect(assigning.map((x) => x.kernel).sort()).toEqual(['hess_V_V', 'hess_W_W']);
    for (const x of assigning) expect(x.st.k === 'pairBlock' && x.st.assign).toEqual({ firstChunkOf: 'N' });
    // In each, the δ-form term (loops of pairs, here) adds to what the covering block assigned.
    for (const k of marked.kernels.filter((x) => x.name === 'hess_W_W' || x.name === 'hess_V_V')) {
      const at = k.body.findIndex((st) => st.k === 'pairBlock');
      expect(k.body.slice(at + 1).some((st) => st.k === 'block' && st.pair?.diagonal === true && buffersStored(st).has('hessian'))).toBe(true);
    }
    const blocks = [{ offset: 0, size: 30, firstChunk: true }, { offset: 35, size: 30, firstChunk: true }];
    expect(marked.entries.hessian.assigned).toEqual(blocks);
    expect(marked.entries.evaluate.assigned).toEqual(blocks);
    expect(marked.entries.gradient.assigned).toBeUndefined();
    // Without the flag: nothing marked, the same kernels otherwise.
    const plain = program(false);
    expect(plain.entries.hessian.assigned).toBeUndefined();
    expect(plain.kernels.map((k) => k.name)).toEqual(marked.kernels.map((k) => k.name));
  });

  it('gives the Hessian of the unmarked program in outputs full of NaN, over several chunks and repeated calls', { timeout: 60_000 }, async () => {
    const chunk = marked.batch!.chunk;
    const reference = await load(program(false), 'assign_first_ref.ts');
    for (const forceJs of [false, true]) {
      const mod = await load(marked, `assign_first_${forceJs}.ts`, forceJs);
      for (const N of [1, 7, 2 * chunk + 3]) {
        const data = dataOf(N, N);
        const rng = makeRng(N + 1);
        const theta = Float64Array.from({ length: marked.n }, () => rng.uniform(-0.5, 0.5));
        const want = reference.evaluate(theta, data);
        const out = new Float64Array(marked.n * marked.n).fill(NaN);
        for (let call = 0; call < 2; call++) expectSame(mod.hessian(theta, data, out), want.hessian);
        const ev = { value: NaN, gradient: new Float64Array(marked.n).fill(NaN), hessian: new Float64Array(marked.n * marked.n).fill(NaN) };
        for (let call = 0; call < 2; call++) {
          const got = mod.evaluate(theta, data, ev);
          expect(got.value).toBeCloseTo(want.value, 12);
          expectSame(got.gradient, want.gradient);
          expectSame(got.hessian, want.hessian);
        }
        // Without out: new arrays, assigned where they start at zero.
        expectSame(mod.evaluate(theta, data).hessian, want.hessian);
      }
    }
  });

  it('shards: every range clears what it does not assign, an empty range (no chunk runs) included', { timeout: 60_000 }, async () => {
    const mod = await load(marked, 'assign_first_shards.ts');
    const N = 23;
    const data = dataOf(N, 5);
    const theta = Float64Array.from({ length: marked.n }, (_, i) => 0.3 * Math.sin(i + 1));
    const want = mod.hessian(theta, data);
    const shards = mod.createShardEvaluator();
    const sum = new Float64Array(want.length);
    const out = new Float64Array(want.length);
    for (const [start, end] of [[0, 0], [0, 9], [9, 9], [9, 23], [23, 23]] as const) {
      out.fill(NaN);
      const part = shards.hessian(theta, { X: rowsOf(data.X, 6, start, end), Y: rowsOf(data.Y, 5, start, end) }, { start, end, total: N }, out);
      if (start === end) expect(part.every((x) => x === 0)).toBe(true);
      for (let i = 0; i < sum.length; i++) sum[i] += part[i]!;
    }
    expectSame(sum, want);
  });
});
