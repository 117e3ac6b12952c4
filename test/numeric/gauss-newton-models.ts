// Models with `output` declarations for the Gauss-Newton tests (CPU and GPU). Each of the first
// five is written again in PyTorch in gauss_newton_reference.py under the same name.
import type { DataArg, GeneratedModule } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';

/** A generated CPU module of a model with outputs. */
export type WithGgn = GeneratedModule & { gaussNewton(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array };

export interface GgnModel {
  readonly name: string;
  readonly source: string;
  /** Data arrays: name and shape ('N' is the batch). */
  readonly data: readonly (readonly [string, readonly (number | 'N')[]])[];
  /** A convex loss of the outputs (plus convex terms of θ): the GGN must be positive semi-definite. */
  readonly convex: boolean;
}

export const GGN_MODELS: readonly GgnModel[] = [
  {
    name: 'mse_mlp',
    convex: true,
    data: [['X', ['N', 3]], ['y', ['N']]],
    source: `# MLP regression with weight decay: the decay does not pass through the output
dim N
data X[N, 3]
data y[N]
param W1[3, 4]
param b1[4]
param w2[4]
param b2
h = tanh(X * W1 + b1)
output yhat = h * w2 + b2
minimize mean((yhat - y) .^ 2) + 0.01 * sum(W1 .^ 2)
`,
  },
  {
    name: 'softmax_mlp',
    convex: true,
    data: [['X', ['N', 4]], ['Y', ['N', 3]]],
    source: `# MLP classifier, softmax cross-entropy over a matrix-shaped output
dim N
data X[N, 4]
data Y[N, 3]
param W1[4, 5]
param b1[5]
param W2[5, 3]
param b2[3]
h = tanh(X * W1 + b1)
output Z = h * W2 + b2
minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.001 * (sum(W1 .^ 2) + sum(W2 .^ 2))
`,
  },
  {
    name: 'gaussian_nll',
    convex: false,
    data: [['X', ['N', 2]], ['y', ['N']]],
    source: `# Two outputs, mean and log-variance, coupled in the loss
dim N
data X[N, 2]
data y[N]
param w[2]
param v[2]
param c
output mu = tanh(X * w) + c
output s = X * v
minimize mean(0.5 * exp(-s) .* (y - mu) .^ 2 + 0.5 * s)
`,
  },
  {
    name: 'nested',
    convex: false,
    data: [['X', ['N', 2]], ['y', ['N']]],
    source: `# z2 is computed from the output z1; the loss reads both, and b2 next to z2
dim N
data X[N, 2]
data y[N]
param W1[2, 3]
param w2[3]
param b2
output z1 = tanh(X * W1)
output z2 = sin(z1 * w2) + b2
minimize mean((z2 - y) .^ 2) + 0.1 * mean(z1 .^ 2) + 0.3 * b2 * mean(z2 .^ 3) + b2 ^ 4
`,
  },
  {
    name: 'scalar_output',
    convex: false,
    data: [],
    source: `# A scalar output, no data
param a[3]
param b
output o = sum(sin(a) * b)
minimize log1p(o ^ 2) + exp(o) * b + sum(a .^ 3)
`,
  },
];

/** θ and data for a model at batch size N (deterministic per seed). */
export function ggnPoint(m: GgnModel, n: number, N: number, seed: string): { theta: Float64Array; data: Record<string, Float64Array> } {
  const rng = makeRng(`${m.name}:${seed}`);
  const theta = Float64Array.from({ length: n }, () => rng.uniform(-0.8, 0.8));
  const data: Record<string, Float64Array> = {};
  for (const [name, shape] of m.data) {
    const size = shape.reduce<number>((a, d) => a * (d === 'N' ? N : d), 1);
    // One-hot rows for a classifier's Y; uniform values otherwise.
    if (name === 'Y') {
      const cols = shape[1] as number;
      const Y = new Float64Array(size);
      for (let r = 0; r < N; r++) Y[r * cols + rng.int(0, cols - 1)] = 1;
      data[name] = Y;
    } else data[name] = Float64Array.from({ length: size }, () => rng.uniform(-1, 1));
  }
  return { theta, data };
}
