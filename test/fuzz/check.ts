// The checks of the differential fuzz test, for one generated model: compile and load it, then at
// a random point compare the value with the math.js oracle, the gradient with finite differences
// of `value`, the Hessian with finite differences of `gradient` (the helpers and tolerance of
// test/numeric/finite-differences.test.ts), check that the Hessian is finite and exactly
// symmetric, `evaluate` against the separate kernels, and `out` arrays full of garbage against
// fresh ones. For run-time dims: the same at other sizes through the same loaded module, then the
// first point again, bit for bit. A model with a term in a tail of σ, softplus or tanh (whose
// value finite differences cannot resolve) is checked through its mirror (see GeneratedModel):
// the mirror gets every check, and the model's gradient and Hessian must equal the mirror's.
// Models with run-time dims also have the growth of their work checked: the Hessian's loop
// iterations may not grow faster in N than the value's or the gradient's (the centered terms of
// issue 11 made it N³). Models with `output` declarations also have their Gauss-Newton matrix
// checked against Mᵀ·∇²ℓ·M built without the Gauss-Newton code: J from central differences of
// the outputs (a probe model whose objective is one output element), ∇²ℓ the Hessian of the model
// with its outputs turned into params (GeneratedModel.gaussNewton). A failure throws an error
// whose message holds the model, θ and the data.
import { loadCounting } from '../helpers/count.ts';
import { compileModel } from '../helpers/load.ts';
import type { GeneratedModule } from '../helpers/load.ts';
import { assertClose, assertScalarClose, asymmetry, describeMismatch, fdGradient, fdHessian, firstNonFinite, worstMismatch } from '../helpers/numeric.ts';
import { makePoint } from '../models/cases.ts';
import type { ModelPoint } from '../models/cases.ts';
import { oracleValue } from '../oracle/mathjs.ts';
import { DEFAULT_MAX_N, OBJECT_NAMES, generateModel } from './generate.ts';
import type { GeneratedModel } from './generate.ts';

/** Value against the oracle, relative to max(1, |value|). */
export const ORACLE_TOL = 1e-10;
/** The finite-difference tolerance of test/numeric/finite-differences.test.ts. */
export const FD_TOL = 1e-8;
/**
 * Finite-difference steps: the helpers' default first; a mismatch counts only if it stays at a
 * smaller step (truncation error falls as h⁴) and at a larger one (rounding error falls as 1/h).
 * A wrong derivative stays wrong at every step.
 */
const FD_STEPS = [1e-4, 5e-5, 2.5e-5, 2e-4];
/** evaluate() against value(), gradient(), hessian(): the same formulas, possibly regrouped. */
const EVALUATE_TOL = 1e-12;

/** The Gauss-Newton matrix against Mᵀ·∇²ℓ·M with J from finite differences (relative to max(1, max|G|)). */
const GGN_TOL = 1e-6;

/** The seed string of model `index` in stream `seed`. */
export const modelSeed = (seed: number, index: number): string => `hessgen-fuzz:${seed}:${index}`;

export class FuzzFailure extends Error {
  constructor(
    message: string,
    /** The first line of the underlying error, for grouping failures. */
    readonly kind: string,
  ) {
    super(message);
  }
}

function formatData(data: ModelPoint['data']): string {
  return Object.entries(data)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `[${Array.from(v).join(', ')}]`}`)
    .join('\n');
}

/** Runs `check`; on failure, throws a FuzzFailure with everything needed to reproduce it. */
function withContext<T>(m: GeneratedModel, label: string, point: ModelPoint | null, check: () => T): T {
  try {
    return check();
  } catch (err) {
    // Only the message: a stack would point into the generated module's data: URL.
    const what = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
    const lines = [what, '', `--- ${label} ---`, m.source.trimEnd()];
    if (point !== null) {
      lines.push('--- θ ---', `[${Array.from(point.theta).join(', ')}]`);
      if (Object.keys(point.data).length > 0) lines.push('--- data ---', formatData(point.data));
      if (point.dims.size > 0) lines.push('--- dims ---', [...point.dims].map(([k, v]) => `${k} = ${v}`).join(', '));
    }
    throw new FuzzFailure(lines.join('\n'), what.split('\n')[0]!);
  }
}

/** `actual` against finite differences `fd(h)` at the steps of FD_STEPS, within FD_TOL at one of them. */
function assertCloseFd(what: string, actual: ArrayLike<number>, fd: (h: number) => Float64Array, n?: number): void {
  const tried: string[] = [];
  for (const h of FD_STEPS) {
    const m = worstMismatch(actual, fd(h));
    if (m.error <= FD_TOL) return;
    tried.push(`step ${h}: ${describeMismatch(m, n)}`);
  }
  throw new Error(`${what}, tolerance ${FD_TOL} at every step:\n  ${tried.join('\n  ')}`);
}

interface Results {
  value: number;
  gradient: Float64Array;
  hessian: Float64Array;
}

/** First index where two arrays differ bitwise (NaN equal to NaN), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function assertSame(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const i = firstDifference(actual, expected);
  if (i >= 0) throw new Error(`${what}: entry [${i}] is ${actual[i]}, expected exactly ${expected[i]} (lengths ${actual.length}, ${expected.length})`);
}

/** `f()`, with an exception's message prefixed by what threw it. */
function labelled<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`${what} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

/**
 * The model and data as the math.js oracle sees them: math.js mishandles functions and
 * arguments named like Object.prototype members (`f(constructor) = …` reads the outer name), so
 * those are renamed, which changes nothing else.
 */
function forOracle(source: string, data: ModelPoint['data']): { source: string; data: ModelPoint['data'] } {
  const alias = (name: string): string => {
    const k = OBJECT_NAMES.indexOf(name);
    return k < 0 ? name : `zzObjectName${k}`;
  };
  let out = source;
  for (const name of OBJECT_NAMES) out = out.replace(new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`, 'g'), alias(name));
  return { source: out, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [alias(k), v])) };
}

function checkAt(mod: GeneratedModule, m: GeneratedModel, point: ModelPoint, where: string, fd = true): Results {
  // Every kernel call says, when it throws, which one it was.
  const value = (t: ArrayLike<number>, d: ModelPoint['data']): number => labelled(`${where}: value()`, () => mod.value(t, d));
  const gradient = (t: ArrayLike<number>, d: ModelPoint['data'], out?: Float64Array): Float64Array => labelled(`${where}: gradient()`, () => mod.gradient(t, d, out));
  const hessian = (t: ArrayLike<number>, d: ModelPoint['data'], out?: Float64Array): Float64Array => labelled(`${where}: hessian()`, () => mod.hessian(t, d, out));
  const evaluate = (t: ArrayLike<number>, d: ModelPoint['data']): ReturnType<GeneratedModule['evaluate']> => labelled(`${where}: evaluate()`, () => mod.evaluate(t, d));
  const n = point.theta.length;
  const v = value(point.theta, point.data);
  const safe = forOracle(m.source, point.data);
  const ref = labelled(`${where}: the math.js oracle`, () => oracleValue(safe.source, point.theta, safe.data));
  if (!Number.isFinite(ref)) throw new Error(`${where}: the oracle's value is ${ref} (the generator keeps values finite)`);
  assertScalarClose(`${where}: value vs the math.js oracle`, v, ref, ORACLE_TOL);

  const g = gradient(point.theta, point.data);
  if (g.length !== n) throw new Error(`${where}: gradient has length ${g.length}, expected ${n}`);
  const badG = firstNonFinite(g);
  if (badG >= 0) throw new Error(`${where}: gradient[${badG}] = ${g[badG]}`);
  if (fd) assertCloseFd(`${where}: gradient vs finite differences of value`, g, (h) => fdGradient((t) => value(t, point.data), point.theta, h));

  const H = hessian(point.theta, point.data);
  if (H.length !== n * n) throw new Error(`${where}: Hessian has length ${H.length}, expected ${n * n}`);
  const badH = firstNonFinite(H);
  if (badH >= 0) throw new Error(`${where}: Hessian[${Math.floor(badH / n)}, ${badH % n}] = ${H[badH]}`);
  const asym = asymmetry(H, n);
  if (asym !== null) throw new Error(`${where}: the Hessian is not exactly symmetric: ${asym}`);
  if (fd) assertCloseFd(`${where}: Hessian vs finite differences of gradient`, H, (h) => fdHessian((t) => gradient(t, point.data), point.theta, h), n);

  const all = evaluate(point.theta, point.data);
  assertScalarClose(`${where}: evaluate().value vs value()`, all.value, v, EVALUATE_TOL);
  assertClose(`${where}: evaluate().gradient vs gradient()`, all.gradient, g, EVALUATE_TOL);
  assertClose(`${where}: evaluate().hessian vs hessian()`, all.hessian, H, EVALUATE_TOL, n);

  // Into caller-provided outputs full of garbage: the same numbers, in the same arrays.
  const gOut = new Float64Array(n).fill(Number.NaN);
  const hOut = new Float64Array(n * n).fill(7);
  if (gradient(point.theta, point.data, gOut) !== gOut) throw new Error(`${where}: gradient(θ, data, out) did not return out`);
  assertSame(`${where}: gradient(θ, data, out) vs gradient(θ, data)`, gOut, g);
  if (hessian(point.theta, point.data, hOut) !== hOut) throw new Error(`${where}: hessian(θ, data, out) did not return out`);
  assertSame(`${where}: hessian(θ, data, out) vs hessian(θ, data)`, hOut, H);
  return { value: v, gradient: g, hessian: H };
}

/** The kernels at `point` again (after calls elsewhere) must give exactly the same numbers. */
function checkRepeat(mod: GeneratedModule, point: ModelPoint, before: Results, where: string): void {
  assertSame(`${where}: value`, [mod.value(point.theta, point.data)], [before.value]);
  assertSame(`${where}: gradient`, mod.gradient(point.theta, point.data), before.gradient);
  assertSame(`${where}: hessian`, mod.hessian(point.theta, point.data), before.hessian);
}

type WithGgn = GeneratedModule & { gaussNewton(theta: ArrayLike<number>, data?: ModelPoint['data'], out?: Float64Array): Float64Array };

/** The probe's data array for an output: a name no generated model uses. */
const probeName = (k: number): string => `zz_probe_u${k}`;

/**
 * gaussNewton at a point against G = Mᵀ·∇²ℓ·M, M = [J; I] over the params of the loss model (its
 * outputs turned into params), J[r, j] = ∂o_r/∂θ_j by central differences of a probe model whose
 * objective is Σ u·o with u a unit vector, ∇²ℓ the loss model's Hessian at (θ, o(θ)).
 */
async function checkGaussNewton(mod: WithGgn, m: GeneratedModel, point: ModelPoint, where: string, onCode?: (fileName: string, code: string) => void): Promise<void> {
  const ggn = m.gaussNewton!;
  const n = point.theta.length;
  const G = labelled(`${where}: gaussNewton()`, () => mod.gaussNewton(point.theta, point.data));
  if (G.length !== n * n) throw new Error(`${where}: gaussNewton has length ${G.length}, expected ${n * n}`);
  const bad = firstNonFinite(G);
  if (bad >= 0) throw new Error(`${where}: gaussNewton[${Math.floor(bad / n)}, ${bad % n}] = ${G[bad]}`);
  const asym = asymmetry(G, n);
  if (asym !== null) throw new Error(`${where}: the Gauss-Newton matrix is not exactly symmetric: ${asym}`);

  // The probe: the model up to its objective, then Σ_a sum(o_a .* u_a).
  const sizeOf = (shape: readonly (number | string)[]): number => shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : point.dims.get(d)!), 1);
  const cut = m.source.replace(/\r\n/g, '\n');
  const at = cut.lastIndexOf('\nminimize ');
  const decls = ggn.outputs.map((o, k) => `data ${probeName(k)}${o.shape.length === 0 ? '' : `[${o.shape.join(', ')}]`}`);
  const terms = ggn.outputs.map((o, k) => (o.shape.length === 0 ? `${o.name} * ${probeName(k)}` : `sum(${o.name} .* ${probeName(k)})`));
  const probeSource = `${cut.slice(0, at + 1)}${decls.join('\n')}\nminimize ${terms.join(' + ')}\n`;
  const probe = await compileModel(probeSource, `${m.seed}_probe.hess`);
  onCode?.(`${m.seed.replace(/\W/g, '_')}_probe.ts`, probe.code);
  const sizes = ggn.outputs.map((o) => sizeOf(o.shape));
  const probeData = (a: number, r: number): ModelPoint['data'] => {
    const d: ModelPoint['data'] = { ...point.data };
    ggn.outputs.forEach((o, k) => {
      const u = new Float64Array(sizes[k]!);
      if (k === a) u[r] = 1;
      d[probeName(k)] = o.shape.length === 0 ? u[0]! : u;
    });
    return d;
  };
  const outputValues = ggn.outputs.map((_, a) => Float64Array.from({ length: sizes[a]! }, (_, r) => probe.module.value(point.theta, probeData(a, r))));

  // The loss model: the outputs are params of it, at their values.
  const loss = await compileModel(ggn.lossSource(Object.fromEntries(point.dims)), `${m.seed}_loss.hess`);
  onCode?.(`${m.seed.replace(/\W/g, '_')}_loss.ts`, loss.code);
  const lm = loss.module;
  const thetaL = new Float64Array(lm.model.n);
  /** Per param of the loss model: an output's index, or the original param's offset in θ. */
  const rows = lm.model.params.map((p) => {
    const a = ggn.outputs.findIndex((o) => o.name === p.name);
    if (a >= 0) {
      thetaL.set(outputValues[a]!, p.offset);
      return { p, output: a, from: -1 };
    }
    const q = mod.model.params.find((x) => x.name === p.name)!;
    thetaL.set(point.theta.subarray(q.offset, q.offset + q.size), p.offset);
    return { p, output: -1, from: q.offset };
  });
  assertScalarClose(`${where}: the loss model's value at the outputs vs the model's`, lm.value(thetaL, point.data), mod.value(point.theta, point.data), ORACLE_TOL);
  const nL = lm.model.n;
  const HL = lm.hessian(thetaL, point.data);

  const reference = (h: number): Float64Array => {
    // M (nL × n): identity rows for θ's own entries, J rows for the outputs'.
    const M = new Float64Array(nL * n);
    for (const { p, output, from } of rows) {
      for (let r = 0; r < p.size; r++) {
        const row = (p.offset + r) * n;
        if (output < 0) {
          M[row + from + r] = 1;
          continue;
        }
        const data = probeData(output, r);
        for (let j = 0; j < n; j++) {
          const tp = Float64Array.from(point.theta);
          const tm = Float64Array.from(point.theta);
          tp[j]! += h;
          tm[j]! -= h;
          M[row + j] = (probe.module.value(tp, data) - probe.module.value(tm, data)) / (2 * h);
        }
      }
    }
    const HM = new Float64Array(nL * n);
    for (let a = 0; a < nL; a++) for (let b = 0; b < nL; b++) {
      const x = HL[a * nL + b]!;
      if (x !== 0) for (let j = 0; j < n; j++) HM[a * n + j]! += x * M[b * n + j]!;
    }
    const out = new Float64Array(n * n);
    for (let a = 0; a < nL; a++) for (let i = 0; i < n; i++) {
      const x = M[a * n + i]!;
      if (x !== 0) for (let j = 0; j < n; j++) out[i * n + j]! += x * HM[a * n + j]!;
    }
    return out;
  };
  const tried: string[] = [];
  for (const h of FD_STEPS) {
    const mm = worstMismatch(G, reference(h));
    if (mm.error <= GGN_TOL) return;
    tried.push(`step ${h}: ${describeMismatch(mm, n)}`);
  }
  throw new Error(`${where}: gaussNewton vs Mᵀ·∇²ℓ·M (J by finite differences), tolerance ${GGN_TOL} at every step:\n  ${tried.join('\n  ')}`);
}

export interface CheckOptions {
  /** Called with each model before it is compiled. */
  onModel?: (m: GeneratedModel) => void;
  /** Sizes of every run-time dim at the two points, instead of the model's own (drawn in 2..5). */
  sizes?: readonly [number, number];
  /** Called with each generated TypeScript module (the model's, and its mirror's), for a type check. */
  onCode?: (fileName: string, code: string) => void;
}

/** The mirror's gradient and Hessian against the model's: the same formulas but for the tail term. */
const MIRROR_TOL = 1e-12;

/** Sizes of the run-time dims at which the work is counted. */
const COST_SIZES = [12, 24, 48];

/**
 * The Hessian's work may not grow faster in the run-time dims than the value's or the
 * gradient's: growth orders from loop iterations at three sizes (differences, so that the work
 * that does not depend on N cancels), with 0.4 of slack for lower-order terms.
 */
async function checkCost(code: string, m: GeneratedModel): Promise<void> {
  const { module: mod, count, reset } = await loadCounting(code);
  const entries = ['value', 'gradient', 'hessian'] as const;
  const work: Record<(typeof entries)[number], number[]> = { value: [], gradient: [], hessian: [] };
  for (const N of COST_SIZES) {
    const p = makePoint(m.seed, m.source, { dims: Object.fromEntries(m.symbolicDims.map((d) => [d.name, N])) }, 2);
    for (const e of entries) {
      reset();
      mod[e](p.theta, p.data);
      work[e].push(count());
    }
  }
  const order = (w: number[]): number => {
    const d1 = w[1]! - w[0]!;
    const d2 = w[2]! - w[1]!;
    return d1 <= 0 || d2 <= 0 ? 0 : Math.log2(d2 / d1);
  };
  const allowed = Math.max(order(work.value), order(work.gradient)) + 0.4;
  const h = order(work.hessian);
  if (h > allowed) {
    const table = entries.map((e) => `${e} ${work[e].join(', ')}`).join('; ');
    throw new Error(`the Hessian's work grows as N^${h.toFixed(2)}, faster than the value's and the gradient's (N^${(allowed - 0.4).toFixed(2)}); loop iterations at N = ${COST_SIZES.join(', ')}: ${table}`);
  }
}

/** Generates, compiles and checks model `index` of stream `seed`; throws a FuzzFailure on failure. */
export async function checkModel(seed: number, index: number, options: CheckOptions = {}): Promise<void> {
  // The second run-time dim, if any, gets the sizes plus one.
  const m = generateModel(modelSeed(seed, index), options.sizes === undefined ? DEFAULT_MAX_N : Math.max(...options.sizes) + 1);
  options.onModel?.(m);
  const rerun = `HESSGEN_FUZZ_SEED=${seed} HESSGEN_FUZZ_ONLY=${index}${options.sizes === undefined ? '' : ` HESSGEN_FUZZ_N=${options.sizes.join(',')}`}`;
  const label = `model #${index} of seed ${seed} (rerun: ${rerun})`;
  // A compile error or a throw is a failure: the generator only makes valid models.
  let mod: GeneratedModule;
  let code: string;
  let mirror: { mod: GeneratedModule; m: GeneratedModel; sameGradient: boolean } | null = null;
  try {
    ({ module: mod, code } = await compileModel(m.source, `fuzz_${seed}_${index}.hess`));
    options.onCode?.(`fuzz_${seed}_${index}.ts`, code);
    if (m.mirror) {
      const c = await compileModel(m.mirror.source, `fuzz_${seed}_${index}_mirror.hess`);
      options.onCode?.(`fuzz_${seed}_${index}_mirror.ts`, c.code);
      const { mirror: _, ...rest } = m;
      mirror = { mod: c.module, m: { ...rest, source: m.mirror.source }, sameGradient: m.mirror.sameGradient };
    }
  } catch (err) {
    return withContext(m, label, null, () => {
      throw err;
    });
  }
  const checkPoint = (point: ModelPoint, where: string): Results => {
    if (mirror === null) return checkAt(mod, m, point, where);
    const own = checkAt(mod, m, point, where, false);
    const ref = checkAt(mirror.mod, mirror.m, point, `${where}, the mirror`);
    if (mirror.sameGradient) assertClose(`${where}: gradient vs the mirror's`, own.gradient, ref.gradient, MIRROR_TOL);
    assertClose(`${where}: Hessian vs the mirror's`, own.hessian, ref.hessian, MIRROR_TOL, point.theta.length);
    return own;
  };
  const dims = (k: 0 | 1): Record<string, number> =>
    Object.fromEntries(m.symbolicDims.map((d, j) => [d.name, options.sizes === undefined ? d.sizes[k] : options.sizes[k] + j]));
  const first = makePoint(m.seed, m.source, { dims: dims(0) }, 0);
  const firstResults = withContext(m, label, first, () => checkPoint(first, 'at the first point'));
  // (A model with a tail term has values whose differences say nothing: its outputs are not checked.)
  if (m.gaussNewton && !m.mirror) {
    try {
      await checkGaussNewton(mod as WithGgn, m, first, 'at the first point', options.onCode);
    } catch (err) {
      withContext(m, label, first, () => {
        throw err;
      });
    }
  }
  if (m.symbolicDims.length > 0) {
    // The same loaded module at other sizes of the run-time dims, then back at the first sizes.
    const second = makePoint(m.seed, m.source, { dims: dims(1) }, 1);
    withContext(m, label, second, () => checkPoint(second, `at ${JSON.stringify(dims(1))}`));
    withContext(m, label, first, () => checkRepeat(mod, first, firstResults, `back at the first point, after ${JSON.stringify(dims(1))}`));
    try {
      await checkCost(code, m);
    } catch (err) {
      withContext(m, label, null, () => {
        throw err;
      });
    }
  }
}
