// The CPU benches' models (bench/cpu.ts, bench/hvp.ts): each bench/models/*.hess file with its θ
// layout, its data and how to draw both. The Python sides (bench/torch_hessian.py) and jax-js
// (bench/jaxjs.ts) write the same models by hand, in the same layout.

import { fillData, MLP_3_5_1_PARAMS, normal, Rng, type DataSpec, type Init, type ParamSpec } from './common.ts';

const uniform = (lo: number, hi: number): Init => (rng) => lo + (hi - lo) * rng.uniform();

export interface ModelCase {
  /** File name in bench/models/, without `.hess`. */
  readonly name: string;
  readonly title: string;
  readonly n: number;
  /** θ layout as the .hess file declares it (declaration order, row-major), with how to draw each part. */
  readonly params: readonly ParamSpec[];
  readonly data: readonly DataSpec[];
  /** Run-time dimensions (for the cost model's multiply-add counts). */
  readonly dims: Record<string, number>;
  /** Time its outputs (false: compile only, the dense Hessian would not fit). */
  readonly timed: boolean;
  /** A peer needs more than ~30 s for its Hessian here: --quick skips the Hessian timings. */
  readonly slow: boolean;
  /** The same model with its output marked (`output NAME = expr`), so that its module has
   *  gaussNewton: the source text `from` is replaced by `to` (bench/hvp.ts). */
  readonly withOutput?: { readonly from: string; readonly to: string };
}

/** The model's source with its output marked, for gaussNewton (see ModelCase.withOutput). */
export function sourceWithOutput(c: ModelCase, source: string): string | undefined {
  if (!c.withOutput) return undefined;
  if (!source.includes(c.withOutput.from)) throw new Error(`${c.name}: the bench expected the line ${JSON.stringify(c.withOutput.from)} in its .hess file`);
  return source.replace(c.withOutput.from, c.withOutput.to);
}

export const MODEL_CASES: readonly ModelCase[] = [
  {
    name: 'mlp_3_5_1',
    title: '3-5-1 tanh MLP, MSE, N = 7',
    n: 26,
    params: MLP_3_5_1_PARAMS,
    data: [
      { name: 'X', shape: [7, 3], fill: 'normal' },
      { name: 'y', shape: [7], fill: 'normal' },
    ],
    dims: { N: 7 },
    timed: true,
    slow: false,
    withOutput: { from: 'minimize mean((h * w2 + b2 - y) .^ 2)', to: 'output p = h * w2 + b2\nminimize mean((p - y) .^ 2)' },
  },
  {
    name: 'mlp_64_32_10',
    title: '64-32-10 tanh MLP, MSE, N = 256',
    n: 2410,
    params: [
      { name: 'W1', size: 2048, init: normal(1 / 8) },
      { name: 'b1', size: 32, init: normal(0.1) },
      { name: 'W2', size: 320, init: normal(1 / Math.sqrt(32)) },
      { name: 'b2', size: 10, init: normal(0.1) },
    ],
    data: [
      { name: 'X', shape: [256, 64], fill: 'normal' },
      { name: 'Y', shape: [256, 10], fill: 'normal' },
    ],
    dims: { N: 256 },
    timed: true,
    slow: false,
    withOutput: { from: 'minimize mean((h * W2 + b2 - Y) .^ 2)', to: 'output P = h * W2 + b2\nminimize mean((P - Y) .^ 2)' },
  },
  {
    name: 'rosenbrock_1000',
    title: 'extended Rosenbrock, dense H',
    n: 1000,
    params: [{ name: 'x', size: 1000, init: uniform(-1.5, 1.5) }],
    data: [],
    dims: {},
    timed: true,
    slow: false,
  },
  {
    name: 'mlp_784_32_10',
    title: '784-32-10 tanh MLP, MSE (compile only)',
    n: 25450,
    params: [
      { name: 'W1', size: 25088, init: normal(1 / 28) },
      { name: 'b1', size: 32, init: normal(0.1) },
      { name: 'W2', size: 320, init: normal(1 / Math.sqrt(32)) },
      { name: 'b2', size: 10, init: normal(0.1) },
    ],
    // Data for bench/hvp.ts (H·v and diag(H) need no n × n buffer); bench/cpu.ts only compiles it.
    data: [
      { name: 'X', shape: [512, 784], fill: 'normal' },
      { name: 'Y', shape: [512, 10], fill: 'normal' },
    ],
    dims: { N: 512 },
    timed: false,
    slow: false,
    withOutput: { from: 'minimize mean((h * W2 + b2 - Y) .^ 2)', to: 'output P = h * W2 + b2\nminimize mean((P - Y) .^ 2)' },
  },
  {
    name: 'softmax_64_128',
    title: 'softmax regression 64→128, N = 1000',
    n: 8320,
    params: [
      { name: 'W', size: 8192, init: normal(1 / 8) },
      { name: 'b', size: 128, init: normal(0.1) },
    ],
    data: [
      { name: 'X', shape: [1000, 64], fill: 'normal' },
      { name: 'Y', shape: [1000, 128], fill: 'onehot' },
    ],
    dims: { N: 1000 },
    timed: true,
    slow: true,
    withOutput: { from: 'Z = X * W + b', to: 'output Z = X * W + b' },
  },
];

export function makeTheta(c: ModelCase, rng: Rng): Float64Array {
  const theta = new Float64Array(c.n);
  let k = 0;
  for (const p of c.params) for (let i = 0; i < p.size; i++) theta[k++] = p.init(rng);
  if (k !== c.n) throw new Error(`${c.name}: the bench's parameter sizes add up to ${k}, not ${c.n}`);
  return theta;
}

export function makeData(c: ModelCase, rng: Rng): Record<string, Float64Array> {
  const data: Record<string, Float64Array> = {};
  for (const d of c.data) data[d.name] = fillData(d, rng, new Float64Array(d.shape.reduce((x, y) => x * y, 1)));
  return data;
}
