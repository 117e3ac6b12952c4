// The test points of every model in this folder: sizes of the symbolic dims and how θ and the
// data are drawn (deterministic, seeded by the model's name). Ranges keep every function in its
// domain (positive arguments for log/sqrt, away from the kinks of abs/relu).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRng } from '../helpers/rng.ts';
import type { Rng } from '../helpers/rng.ts';
import { modelsDir } from '../helpers/fixtures.ts';
import { parseDecls, paramLayout, shapeOf } from '../oracle/mathjs.ts';

/** How to draw an array: a uniform range, or a function of the PRNG and the shape. */
export type Draw = { lo: number; hi: number } | ((rng: Rng, shape: readonly number[]) => number[]);

export interface ModelCase {
  /** Sizes of the symbolic dims (default 5 for each). */
  dims?: Record<string, number>;
  /** Sizes of the symbolic dims in the large-batch check (default 1037 each). */
  largeDims?: Record<string, number>;
  /** Draw for all of θ (default uniform in [-1, 1]), or per parameter. */
  theta?: Draw | Record<string, Draw>;
  /** Draw per data array (default uniform in [-1, 1]). */
  data?: Record<string, Draw>;
  /** Pairs of parameters whose Hessian cross block must be exactly zero. */
  zeroCross?: [string, string][];
  /** Tolerance factor for the finite-difference checks (default 1). */
  fdTolerance?: number;
}

const pos = { lo: 0.4, hi: 1.2 };

/** One-hot rows: shape [rows, classes], or one-hot columns when `alongRows` (classes along axis 1). */
function oneHot(alongRows = false): Draw {
  return (rng, shape) => {
    const [r, c] = shape as [number, number];
    const out = new Array<number>(r * c).fill(0);
    if (alongRows) for (let j = 0; j < c; j++) out[rng.int(0, r - 1) * c + j] = 1;
    else for (let i = 0; i < r; i++) out[i * c + rng.int(0, c - 1)] = 1;
    return out;
  };
}

function away(lo: number, hi: number): Draw {
  return (rng, shape) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.awayFromZero(lo, hi));
}

export const CASES: Record<string, ModelCase> = {
  fn_exp: { theta: { lo: -0.5, hi: 0.5 }, dims: { N: 4 } },
  fn_log: { theta: pos, data: { X: pos } },
  fn_log1p: { theta: { lo: 0.1, hi: 0.9 }, data: { a: pos } },
  fn_expm1: {},
  fn_sqrt: { theta: pos, data: { C: { lo: 0, hi: 1 } }, dims: { N: 3 } },
  fn_square: { dims: { N: 6 } },
  fn_cube: {},
  fn_abs: { theta: { lo: 0.2, hi: 1.5 }, data: { a: { lo: -1, hi: -0.2 } } },
  fn_sin: { theta: { lo: -2, hi: 2 }, data: { X: { lo: -2, hi: 2 } } },
  fn_cos: { theta: { lo: -1.5, hi: 1.5 } },
  fn_tan: {},
  fn_atan: { theta: { lo: -2, hi: 2 } },
  fn_sinh: {},
  fn_cosh: {},
  fn_tanh: { dims: { N: 7 } },
  fn_sigmoid: { theta: { lo: -2, hi: 2 }, data: { y: { lo: 0, hi: 1 } } },
  fn_softplus: { data: { X: away(15, 40) }, dims: { N: 6 } },
  fn_relu: { theta: away(0.3, 1), data: { X: away(0.2, 1.5) }, dims: { N: 7 } },

  op_elementwise: { theta: { a: { lo: -1, hi: 1 }, b: pos } },
  op_pow_both: { theta: { A: pos, B: { lo: -1.5, hi: 2.5 }, x: pos, y: { lo: -1, hi: 2 } } },
  op_pow_const: { theta: pos },
  op_scalar: { theta: { a: pos, b: pos, c: pos } },
  op_matmul_forms: {},
  op_transpose: {},
  op_unary: {},
  op_division: { theta: { W: { lo: -1, hi: 1 }, s: pos }, data: { k: pos }, dims: { N: 4 } },

  red_sum_axes: {},
  red_mean_axes: { dims: { N: 6 } },
  red_logsumexp: { theta: { lo: -2, hi: 2 }, data: { X: { lo: -2, hi: 2 } } },
  red_logsumexp_big: {},
  red_dot: { dims: { N: 3 } },

  idx_vector: {},
  idx_matrix: {},
  idx_data_columns: { dims: { N: 7 } },
  idx_shift: {},
  idx_matrix_rows: {},

  bc_row_vector: { dims: { N: 6 } },
  bc_scalar_matrix: { theta: { A: { lo: -1, hi: 1 }, s: pos } },
  bc_column: {},
  bc_outer: {},

  user_fn: { data: { k: pos } },
  consts: {},
  fixed_dim: { dims: { N: 6 } },
  sym_dim_number: { dims: { N: 3 } },
  two_sym_dims: { dims: { N: 4, M: 6 }, largeDims: { N: 1037, M: 515 } },

  net_mlp_sigmoid: { theta: { lo: -1.5, hi: 1.5 }, dims: { N: 6 } },
  net_mlp3_tanh_softplus: { dims: { N: 5 } },
  net_relu: { theta: { W1: away(0.3, 1), b1: away(0.05, 0.3), w2: { lo: -1, hi: 1 } }, data: { X: pos, t: (rng, s) => Array.from({ length: s[0]! }, () => rng.int(0, 1)) } },
  net_softmax_ce: { data: { Y: oneHot() }, dims: { N: 7 } },
  net_softmax_axis1: { data: { Y: oneHot(true) }, dims: { N: 6 } },
  net_autoencoder: { dims: { N: 4 } },
  net_residual: { dims: { N: 5 } },

  separable: {
    theta: { lo: -1, hi: 1 },
    zeroCross: [['a', 'b'], ['a', 'c'], ['a', 'D'], ['b', 'c'], ['b', 'D'], ['c', 'D']],
  },
  repeated_subexpr: {},
  cross_terms: { theta: { s: pos, v: { lo: -1, hi: 1 }, M: { lo: -1, hi: 1 } } },
  quadratic_form: {},
  ridge_scalar_data: { data: { lam: { lo: 0.1, hi: 0.5 } } },
  multiline: {},
  deep_compose: { theta: { lo: -1.5, hi: 1.5 } },
  poisson: { theta: { lo: -0.5, hi: 0.5 }, data: { y: (rng, s) => Array.from({ length: s[0]! }, () => rng.int(0, 4)) } },
  gaussian_nll: { dims: { N: 6 } },
  matrix_chain: {},
  data_transpose: { dims: { N: 6 } },
  vec_times_data_matrix: {},
  vector_data_scalars: { data: { a: pos, b: { lo: -1, hi: 1 } } },
  mean_vector: {},

  number_formats: {},
  unused_param: { theta: { lo: -1, hi: 1 }, zeroCross: [['a', 'unused'], ['b', 'unused'], ['unused', 'unused']] },
  linear_objective: {},
  matrix_square: {},
  kernel_quadratic: { dims: { N: 5 }, largeDims: { N: 67 } },
  dims_from_later_arrays: { dims: { N: 4, M: 3 }, largeDims: { N: 1037, M: 3 } },
  user_fn_shadowing: {},
  fn_saturated: {
    theta: { lo: 0.8, hi: 1 },
    // Each row's entries share a sign and |z| = |X w| > 1200: exp(|z|) overflows to Infinity.
    data: {
      X: (rng, shape) => {
        const out: number[] = [];
        for (let i = 0; i < shape[0]!; i++) {
          const sign = rng.next() < 0.5 ? -1 : 1;
          for (let j = 0; j < shape[1]!; j++) out.push(sign * rng.uniform(800, 1000));
        }
        return out;
      },
    },
    dims: { N: 6 },
  },
  multiline_ops: {},
};

export interface ModelPoint {
  theta: Float64Array;
  data: Record<string, number | Float64Array>;
  dims: Map<string, number>;
}

function drawArray(rng: Rng, draw: Draw, shape: readonly number[]): number[] {
  if (typeof draw === 'function') return draw(rng, shape);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(draw.lo, draw.hi));
}

function isDraw(x: unknown): x is Draw {
  return typeof x === 'function' || (typeof x === 'object' && x !== null && 'lo' in x && 'hi' in x);
}

/** A deterministic test point for `source` drawn as `c` says; `seed` varies it. */
export function makePoint(name: string, source: string, c: ModelCase, seed = 0, dimsOverride?: Record<string, number>): ModelPoint {
  const rng = makeRng(`${name}#${seed}`);
  const decls = parseDecls(source);
  const dims = new Map<string, number>();
  for (const d of decls.dims) dims.set(d.name, d.size ?? dimsOverride?.[d.name] ?? c.dims?.[d.name] ?? 5);
  const layout = paramLayout(decls);
  const theta = new Float64Array(layout.n);
  for (const p of layout.params) {
    const draw: Draw = c.theta === undefined ? { lo: -1, hi: 1 } : isDraw(c.theta) ? c.theta : (c.theta[p.name] ?? { lo: -1, hi: 1 });
    theta.set(drawArray(rng, draw, p.shape), p.offset);
  }
  const data: Record<string, number | Float64Array> = {};
  for (const d of decls.data) {
    const shape = shapeOf(d.shape, dims);
    const values = drawArray(rng, c.data?.[d.name] ?? { lo: -1, hi: 1 }, shape);
    // Defined, not assigned: a data array named `__proto__` must be an own property.
    Object.defineProperty(data, d.name, { value: shape.length === 0 ? values[0]! : Float64Array.from(values), enumerable: true, writable: true, configurable: true });
  }
  return { theta, data, dims };
}

export interface LoadedCase {
  name: string;
  path: string;
  source: string;
  spec: ModelCase;
}

/** Every model of test/models with its case; a model without an entry in CASES is an error. */
export function loadModelCases(): LoadedCase[] {
  const files = readdirSync(modelsDir).filter((f) => f.endsWith('.hess')).sort();
  const names = new Set(files.map((f) => f.slice(0, -5)));
  for (const k of Object.keys(CASES)) if (!names.has(k)) throw new Error(`cases.ts names ${k}, which has no .hess file`);
  return files.map((f) => {
    const name = f.slice(0, -5);
    const spec = CASES[name];
    if (spec === undefined) throw new Error(`test/models/${f} has no entry in test/models/cases.ts`);
    return { name, path: `test/models/${f}`, source: readFileSync(join(modelsDir, f), 'utf8'), spec };
  });
}
