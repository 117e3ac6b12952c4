// Shards of the batch (createShardEvaluator, compiler/2-ir/shards.ts): over random partitions of
// the rows (empty and one-row ranges included), each range computed from its own rows only, the
// contributions sum to the full value, gradient, Hessian, H·v and diag(H) within 1e-12 (relative
// to the largest entry); on test models, fixtures with a batch, every model of test/models and
// random models. Then: mean against sum, terms without the batch counted once, models whose
// samples meet (no shard entry, with a located note), and bad ranges (RangeErrors).
import { describe, expect, it, vi } from 'vitest';
import { compileModel, compileToTs, loadTs, type DataArg, type GeneratedModule } from '../helpers/load.ts';
import { loadFixtures } from '../helpers/fixtures.ts';
import { assertClose } from '../helpers/numeric.ts';
import { makeRng, type Rng } from '../helpers/rng.ts';
import { loadModelCases, makePoint } from '../models/cases.ts';
import { generateModel } from '../fuzz/generate.ts';

const TOL = 1e-12;
// Each test compiles models: slow on a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

interface Range {
  start: number;
  end: number;
  total: number;
}
interface ShardEvaluator {
  value(theta: ArrayLike<number>, data: DataArg, range: Range): number;
  gradient(theta: ArrayLike<number>, data: DataArg, range: Range, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data: DataArg, range: Range, out?: Float64Array): Float64Array;
  evaluate(theta: ArrayLike<number>, data: DataArg, range: Range): { value: number; gradient: Float64Array; hessian: Float64Array };
  hvp(theta: ArrayLike<number>, data: DataArg, v: ArrayLike<number>, range: Range, out?: Float64Array): Float64Array;
  hessianDiagonal(theta: ArrayLike<number>, data: DataArg, range: Range, out?: Float64Array): Float64Array;
}
type Module = GeneratedModule & {
  shardDim?: string;
  createShardEvaluator?: () => ShardEvaluator;
  hvp(theta: ArrayLike<number>, data: DataArg, v: ArrayLike<number>): Float64Array;
  hessianDiagonal(theta: ArrayLike<number>, data: DataArg): Float64Array;
};

/** Rows [start, end) along the batch axis of a row-major array (written here, apart from the runtime's). */
function rows(array: ArrayLike<number>, shape: readonly (number | string)[], dim: string, total: number, start: number, end: number): Float64Array {
  const axis = shape.indexOf(dim);
  const sizes = shape.map((d) => (d === dim ? total : (d as number)));
  const inner = sizes.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = sizes.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (let r = start; r < end; r++) for (let i = 0; i < inner; i++) out.push(array[(o * total + r) * inner + i]!);
  return Float64Array.from(out);
}

function shardData(mod: Module, data: DataArg, r: Range): DataArg {
  const out: DataArg = {};
  for (const d of mod.model.data) {
    const a = data[d.name]!;
    out[d.name] = typeof a === 'number' || !d.shape.includes(mod.shardDim!) ? a : rows(a, d.shape, mod.shardDim!, r.total, r.start, r.end);
  }
  return out;
}

/** A random partition of [0, total) into ranges: cuts drawn with repeats (empty ranges), sometimes one per row. */
function partition(rng: Rng, total: number, kind: number): Range[] {
  let cuts: number[];
  if (kind === 0) cuts = Array.from({ length: total + 1 }, (_, k) => k); // one row each
  else if (kind === 1) cuts = [0, 0, total, total]; // empty ranges at both ends, all in one
  else {
    const k = rng.int(1, 5);
    cuts = [0, total, ...Array.from({ length: k }, () => rng.int(0, total))].sort((a, b) => a - b);
  }
  const ranges: Range[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) ranges.push({ start: cuts[k]!, end: cuts[k + 1]!, total });
  return ranges;
}

/** Every output summed over several partitions, against the full outputs. */
function checkPartitions(label: string, mod: Module, theta: ArrayLike<number>, data: DataArg, total: number, seed: string): void {
  const n = mod.model.n;
  const rng = makeRng(seed);
  const v = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const full = mod.evaluate(theta, data);
  const hasHvp = typeof mod.hvp === 'function';
  const hasDiag = typeof mod.hessianDiagonal === 'function';
  const fullHvp = hasHvp ? mod.hvp(theta, data, v) : null;
  const fullDiag = hasDiag ? mod.hessianDiagonal(theta, data) : null;
  const shard = mod.createShardEvaluator!();
  for (let kind = 0; kind < 4; kind++) {
    const parts = partition(rng, total, kind);
    let value = 0;
    const g = new Float64Array(n);
    const h = new Float64Array(n * n);
    const hv = new Float64Array(n);
    const dg = new Float64Array(n);
    const e = { value: 0, g: new Float64Array(n), h: new Float64Array(n * n) };
    for (const r of parts) {
      const d = shardData(mod, data, r);
      value += shard.value(theta, d, r);
      shard.gradient(theta, d, r).forEach((x, i) => (g[i] += x));
      shard.hessian(theta, d, r).forEach((x, i) => (h[i] += x));
      const ev = shard.evaluate(theta, d, r);
      e.value += ev.value;
      ev.gradient.forEach((x, i) => (e.g[i] += x));
      ev.hessian.forEach((x, i) => (e.h[i] += x));
      if (hasHvp) shard.hvp(theta, d, v, r).forEach((x, i) => (hv[i] += x));
      if (hasDiag) shard.hessianDiagonal(theta, d, r).forEach((x, i) => (dg[i] += x));
    }
    const what = `${label}, partition ${parts.map((r) => `[${r.start},${r.end})`).join(' ')}`;
    assertClose(`${what}: value`, [value], [full.value], TOL);
    assertClose(`${what}: gradient`, g, full.gradient, TOL);
    assertClose(`${what}: Hessian`, h, full.hessian, TOL, n);
    assertClose(`${what}: evaluate value`, [e.value], [full.value], TOL);
    assertClose(`${what}: evaluate gradient`, e.g, full.gradient, TOL);
    assertClose(`${what}: evaluate Hessian`, e.h, full.hessian, TOL, n);
    if (fullHvp) assertClose(`${what}: hvp`, hv, fullHvp, TOL);
    if (fullDiag) assertClose(`${what}: diag(H)`, dg, fullDiag, TOL);
  }
}

const MEAN_PENALTY = `
dim N
data X[N, 3]
data y[N]
param w[3]
param b
r = X * w + b - y
minimize mean(softplus(r) - 0.5 * r) + 0.1 * sum(w .^ 2) + cosh(b)
`;

// A count: Σ_n (y − b)² has the Hessian 2·N in b, which a shard must count as its rows.
const COUNT = `
dim N
data y[N]
param b
param c
minimize sum((y - b) .^ 2) + sum(y .* c) + b * c
`;

// The batch along the second axis of the data: its rows are not contiguous.
const BATCH_SECOND = `
dim N
data X[3, N]
data t[N]
param w[3]
minimize mean(tanh(X' * w) .* t) + 2 * mean((X' * w) .^ 2)
`;

describe('shards: partitions sum to the full outputs', () => {
  const cases: [string, string, Record<string, number>][] = [
    ['mean_penalty', MEAN_PENALTY, { N: 11 }],
    ['count', COUNT, { N: 9 }],
    ['batch_second', BATCH_SECOND, { N: 7 }],
    ['one_row', MEAN_PENALTY, { N: 1 }],
  ];
  for (const [name, source, dims] of cases) {
    it(name, async () => {
      const { module } = await compileModel(source, `${name}.hess`);
      const mod = module as Module;
      expect(typeof mod.createShardEvaluator).toBe('function');
      const pt = makePoint(name, source, {}, 0, dims);
      checkPartitions(name, mod, pt.theta, pt.data, dims.N!, name);
    });
  }

  it('every fixture with a batch', async () => {
    let checked = 0;
    for (const f of loadFixtures()) {
      const { module } = await compileModel(f.source, f.path);
      const mod = module as Module;
      if (!mod.createShardEvaluator) continue;
      const dim = mod.shardDim!;
      const d = mod.model.data.find((x) => x.shape.includes(dim))!;
      const per = d.shape.reduce<number>((a, x) => a * (x === dim ? 1 : (x as number)), 1);
      const total = (f.json.data[d.name] as number[]).length / per;
      const data: DataArg = Object.fromEntries(Object.entries(f.json.data).map(([k, v]) => [k, typeof v === 'number' ? v : Float64Array.from(v)]));
      checkPartitions(f.name, mod, f.json.theta, data, total, f.name);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('every model of test/models that has a shard entry', async () => {
    let checked = 0;
    for (const c of loadModelCases()) {
      const { module } = await compileModel(c.source, c.path);
      const mod = module as Module;
      if (!mod.createShardEvaluator) continue;
      const pt = makePoint(c.name, c.source, c.spec, 0, { [mod.shardDim!]: 6 });
      checkPartitions(c.name, mod, pt.theta, pt.data, pt.dims.get(mod.shardDim!)!, c.name);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(25);
  }, 300_000);

  it('random models', async () => {
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const m = generateModel(`hessgen-shards:${i}`);
      const mod = (await loadTs(compileToTs(m.source, `random${i}.hess`), `random${i}.ts`)) as Module;
      if (!mod.createShardEvaluator) continue;
      const dims = Object.fromEntries(m.symbolicDims.map((d) => [d.name, 7]));
      const pt = makePoint(`random${i}`, m.source, {}, 0, dims);
      checkPartitions(`random model ${i}:\n${m.source}\n`, mod, pt.theta, pt.data, 7, `random${i}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  }, 300_000);
});

describe('shards: what a range counts', () => {
  it('mean: a range of the mean model is the same range of the sum model over the total', async () => {
    const sum = (await compileModel(MEAN_PENALTY.replace('mean(', 'sum('), 'sum.hess')).module as Module;
    const mean = (await compileModel(MEAN_PENALTY, 'mean.hess')).module as Module;
    const noPenalty = (src: string) => src.replace(' + 0.1 * sum(w .^ 2) + cosh(b)', '');
    const sumOnly = (await compileModel(noPenalty(MEAN_PENALTY.replace('mean(', 'sum(')), 'sum_only.hess')).module as Module;
    const meanOnly = (await compileModel(noPenalty(MEAN_PENALTY), 'mean_only.hess')).module as Module;
    const pt = makePoint('mean', MEAN_PENALTY, {}, 1, { N: 10 });
    const r = { start: 3, end: 8, total: 10 };
    const d = shardData(mean, pt.data, r);
    // A range without row 0 has no penalty: the mean's part is the sum's part over the total.
    const hMean = mean.createShardEvaluator!().hessian(pt.theta, d, r);
    const hSum = sum.createShardEvaluator!().hessian(pt.theta, d, r);
    assertClose('mean range = sum range / total', hMean, hSum.map((x) => x / 10), TOL);
    expect(mean.createShardEvaluator!().value(pt.theta, d, r)).toBeCloseTo(meanOnly.createShardEvaluator!().value(pt.theta, d, r), 14);
    expect(sum.createShardEvaluator!().value(pt.theta, d, r)).toBeCloseTo(sumOnly.createShardEvaluator!().value(pt.theta, d, r), 14);
  });

  it('terms without the batch: counted by the range holding row 0, not by an empty range at 0', async () => {
    const withP = (await compileModel(MEAN_PENALTY, 'with.hess')).module as Module;
    const without = (await compileModel(MEAN_PENALTY.replace(' + 0.1 * sum(w .^ 2) + cosh(b)', ''), 'without.hess')).module as Module;
    const pt = makePoint('once', MEAN_PENALTY, {}, 2, { N: 6 });
    const theta = pt.theta;
    const w = Array.from(theta.slice(0, 3));
    const b = theta[3]!;
    const penalty = 0.1 * w.reduce((a, x) => a + x * x, 0) + Math.cosh(b);
    const at = (mod: Module, start: number, end: number) => {
      const r = { start, end, total: 6 };
      return mod.createShardEvaluator!().value(theta, shardData(mod, pt.data, r), r);
    };
    expect(at(withP, 0, 2) - at(without, 0, 2)).toBeCloseTo(penalty, 13);
    expect(at(withP, 2, 6)).toBe(at(without, 2, 6));
    expect(at(withP, 0, 0)).toBe(0);
    expect(at(withP, 6, 6)).toBe(0);
    // Its Hessian: 0.2 on w's diagonal and cosh(b) at (b, b), in the range of row 0 only.
    const r0 = { start: 0, end: 1, total: 6 };
    const h0 = withP.createShardEvaluator!().hessian(theta, shardData(withP, pt.data, r0), r0);
    const h0w = without.createShardEvaluator!().hessian(theta, shardData(without, pt.data, r0), r0);
    expect(h0[0]! - h0w[0]!).toBeCloseTo(0.2, 13);
    expect(h0[15]! - h0w[15]!).toBeCloseTo(Math.cosh(b), 13);
  });
});

describe('shards: models whose samples meet have no shard entry', () => {
  const cases: [string, string, RegExp][] = [
    ['centered', 'dim N\ndata x[N]\nparam a\nc = x * a - mean(x * a)\nminimize sum(c .^ 2)\n', /`c` \(line 4\): a sum over N meets the rows of N/],
    ['kernel', 'dim N\ndata K[N, N]\ndata y[N]\nparam a[3]\nminimize sum(K * y) * sum(a .^ 2)\n', /data K pairs the samples/],
    ['two dims', 'dim N\ndim M\ndata x[N]\ndata z[M]\nparam a\nminimize sum(x * a) + sum(z * a)\n', /2 run-time dimensions \(N, M\)/],
    ['log of a sum', 'dim N\ndata x[N]\nparam a\nminimize log(sum(exp(x * a)))\n', /the objective \(line 4\): log of a sum over N/],
    ['logsumexp over the batch', 'dim N\ndata x[N]\nparam a\nminimize logsumexp(x * a)\n', /logsumexp over N/],
    ['square of a mean', 'dim N\ndata x[N]\nparam a\nm = mean(x * a)\nminimize m ^ 2\n', /the objective \(line 5\): a sum over N used nonlinearly/],
  ];
  for (const [name, source, note] of cases) {
    it(name, async () => {
      const code = compileToTs(source, `${name}.hess`);
      const header = code.split('\n').filter((l) => l.startsWith('//')).join('\n');
      expect(header).toMatch(/No shard entry/);
      expect(header).toMatch(note);
      const mod = (await loadTs(code, `${name}.ts`)) as Module;
      expect(mod.createShardEvaluator).toBeUndefined();
    });
  }
});

describe('shards: bad ranges and rows are RangeErrors', () => {
  it('range outside the total, out of order, not whole; rows that do not match the range', async () => {
    const mod = (await compileModel(MEAN_PENALTY, 'bad.hess')).module as Module;
    const s = mod.createShardEvaluator!();
    const pt = makePoint('bad', MEAN_PENALTY, {}, 0, { N: 4 });
    const two = shardData(mod, pt.data, { start: 0, end: 2, total: 4 });
    const theta = pt.theta;
    expect(() => s.value(theta, two, { start: 3, end: 5, total: 4 })).toThrow(RangeError);
    expect(() => s.value(theta, two, { start: 3, end: 5, total: 4 })).toThrow(/0 ≤ start ≤ end ≤ total/);
    expect(() => s.value(theta, two, { start: -1, end: 1, total: 4 })).toThrow(RangeError);
    expect(() => s.value(theta, two, { start: 2, end: 1, total: 4 })).toThrow(RangeError);
    expect(() => s.value(theta, two, { start: 0, end: 1.5, total: 4 })).toThrow(/range.end: expected a whole number/);
    expect(() => s.value(theta, two, { start: 0, end: 0, total: 0 })).toThrow(/range.total/);
    expect(() => s.hessian(theta, two, { start: 0, end: 3, total: 4 })).toThrow(RangeError);
    expect(() => s.hessian(theta, two, { start: 0, end: 3, total: 4 })).toThrow(/data.X has 2 rows of N, expected range.end - range.start = 3/);
    expect(() => s.gradient(theta, two, null as unknown as Range)).toThrow(RangeError);
    // The full data are not a shard's rows either.
    expect(() => s.value(theta, pt.data, { start: 1, end: 3, total: 4 })).toThrow(RangeError);
    // And the ordinary entry points still refuse an empty batch.
    expect(() => mod.value(theta, { X: new Float64Array(0), y: new Float64Array(0) })).toThrow(/at least 1/);
  });
});
