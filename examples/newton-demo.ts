// `npm run demo`: fits every example model with the damped Newton solver of
// runtime/newton.ts, using the value, gradient and Hessian kernels that hessgen generated
// from examples/*.hess (`hessgen build examples --out generated` writes generated/<name>.ts),
// then computes the Hessian at each solution again with the WebGPU kernels (<name>.gpu.ts)
// on whatever adapter there is (a GPU, or Mesa's llvmpipe on the CPU).
//
// The data are synthetic and deterministic (a seeded generator), so every run prints the
// same iterations: iteration, f, ‖g‖∞, the damping λ of the step, and the step's length.
import * as seedLinear from '../generated/seed_linear.ts';
import * as logreg from '../generated/logreg.ts';
import * as mlpClassifier from '../generated/mlp_classifier.ts';
import * as rosenbrock from '../generated/rosenbrock.ts';
import * as seedLinearGpu from '../generated/seed_linear.gpu.ts';
import * as logregGpu from '../generated/logreg.gpu.ts';
import * as mlpClassifierGpu from '../generated/mlp_classifier.gpu.ts';
import * as rosenbrockGpu from '../generated/rosenbrock.gpu.ts';
import { newtonSolve, type NewtonOptions, type NewtonResult } from '../runtime/newton.ts';
import { requestDevice, type GpuContext } from '../runtime/index.ts';

// ---- A seeded random generator (mulberry32) ---------------------------------------------

function makeRandom(seed: number): { uniform(): number; normal(): number; int(k: number): number } {
  let state = seed >>> 0;
  const uniform = (): number => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    let u = 0;
    while (u === 0) u = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal, int: (k) => Math.floor(uniform() * k) };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

// ---- Running the solver on a generated module ---------------------------------------------

/** What the demo needs from a generated module (see docs/modules.md). */
interface Generated<D> {
  readonly model: { readonly name: string; readonly n: number };
  value(theta: ArrayLike<number>, data: D): number;
  gradient(theta: ArrayLike<number>, data: D, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data: D, out?: Float64Array): Float64Array;
}

const fmt = (x: number, digits = 6): string => x.toExponential(digits - 1).padStart(digits + 7);

function fit<D>(mod: Generated<D>, data: D, theta0: ArrayLike<number>, what: string, options: NewtonOptions = {}): NewtonResult {
  console.log(`\n## ${mod.model.name} (n = ${mod.model.n}): ${what}`);
  console.log(`${'iter'.padStart(4)} ${'f'.padStart(13)} ${'‖g‖∞'.padStart(13)} ${'λ'.padStart(13)} ${'‖step‖'.padStart(13)}`);
  const start = performance.now();
  const result = newtonSolve(
    {
      n: mod.model.n,
      // H and g go straight into the solver's buffers (allocated once per solve).
      evaluate: (theta, g, H) => (mod.hessian(theta, data, H), mod.gradient(theta, data, g), mod.value(theta, data)),
      // Trial points that may be rejected only need the value.
      value: (theta) => mod.value(theta, data),
    },
    theta0,
    {
      tolerance: 1e-9,
      maxIterations: 200,
      ...options,
      onIteration: (it) => {
        const rejected = it.rejected ? `  (${it.rejected} rejected)` : '';
        console.log(
          `${String(it.iteration).padStart(4)} ${fmt(it.value)} ${fmt(it.gradientNorm)} ${fmt(it.lambda)} ${fmt(it.stepNorm)}${rejected}`,
        );
      },
    },
  );
  const ms = performance.now() - start;
  console.log(
    `${mod.model.name}: ${result.reason} after ${result.iterations} iteration${result.iterations === 1 ? "" : "s"} ` +
      `(${result.evaluations} evaluations, ${result.factorizations} factorizations, ${ms.toFixed(1)} ms): ` +
      `f = ${result.value.toPrecision(10)}, ‖g‖∞ = ${result.gradientNorm.toExponential(2)}`,
  );
  return result;
}

// ---- The examples ---------------------------------------------------------------------------

const summary: string[] = [];
/** Each fit's module, data and solution, for the GPU check at the end. */
const solved: { name: string; cpu: { hessian(theta: ArrayLike<number>, data: never): Float64Array }; data: object; theta: Float64Array }[] = [];
const record = (name: string, r: NewtonResult, extra: string): void => {
  summary.push(
    `${name.padEnd(15)} ${(r.converged ? 'converged' : r.reason).padEnd(14)} ${String(r.iterations).padStart(4)} iteration${r.iterations === 1 ? " " : "s"}  f = ${r.value.toPrecision(8).padEnd(15)} ${extra}`,
  );
};

// Linear least squares: t = x W_true + noise. A quadratic: started undamped (λ = 0), one
// Newton step lands on the least-squares solution.
{
  const rng = makeRandom(1);
  const N = 100;
  const wTrue = [1.5, -0.5, 0.25, 2.0]; // row-major 2 × 2
  const x = new Float64Array(N * 2);
  const t = new Float64Array(N * 2);
  for (let s = 0; s < N; s++) {
    x[2 * s] = rng.normal();
    x[2 * s + 1] = rng.normal();
    for (let j = 0; j < 2; j++) t[2 * s + j] = x[2 * s] * wTrue[j] + x[2 * s + 1] * wTrue[2 + j] + 0.1 * rng.normal();
  }
  const r = fit(seedLinear, { x, t }, new Float64Array(4), `least squares, N = ${N}, W_true = [${wTrue.join(', ')}]`, {
    lambdaInitial: 0,
  });
  const w = Array.from(r.theta, (v) => v.toFixed(3));
  console.log(`W = [${w.join(', ')}] (row-major)`);
  record('seed_linear', r, `W = [${w.join(', ')}]`);
  solved.push({ name: 'seed_linear', cpu: seedLinear, data: { x, t }, theta: r.theta });
}

// Logistic regression on labels drawn from a known logistic model.
{
  const rng = makeRandom(2);
  const N = 400;
  const wTrue = [2, -1, 0.5];
  const bTrue = 0.3;
  const X = new Float64Array(N * 3);
  const t = new Float64Array(N);
  for (let s = 0; s < N; s++) {
    let z = bTrue;
    for (let j = 0; j < 3; j++) z += (X[3 * s + j] = rng.normal()) * wTrue[j];
    t[s] = rng.uniform() < sigmoid(z) ? 1 : 0;
  }
  const r = fit(logreg, { X, t }, new Float64Array(4), `N = ${N}, w_true = [${wTrue.join(', ')}], b_true = ${bTrue}`);
  let correct = 0;
  for (let s = 0; s < N; s++) {
    let z = r.theta[3];
    for (let j = 0; j < 3; j++) z += X[3 * s + j] * r.theta[j];
    if ((z > 0 ? 1 : 0) === t[s]) correct++;
  }
  const w = Array.from(r.theta, (v) => v.toFixed(3));
  console.log(`[w; b] = [${w.join(', ')}], training accuracy ${((100 * correct) / N).toFixed(1)}%`);
  record('logreg', r, `[w; b] = [${w.join(', ')}], accuracy ${((100 * correct) / N).toFixed(1)}%`);
  solved.push({ name: 'logreg', cpu: logreg, data: { X, t }, theta: r.theta });
}

// MLP classifier on three Gaussian clusters in 4 dimensions.
{
  const rng = makeRandom(3);
  const N = 150;
  const centers = [
    [1.5, 0, -1, 0.5],
    [-1, 1.5, 0.5, -0.5],
    [0, -1.5, 1, 1],
  ];
  const X = new Float64Array(N * 4);
  const Y = new Float64Array(N * 3);
  const label = new Int32Array(N);
  for (let s = 0; s < N; s++) {
    const k = (label[s] = s % 3);
    Y[3 * s + k] = 1;
    for (let j = 0; j < 4; j++) X[4 * s + j] = centers[k][j] + 0.8 * rng.normal();
  }
  // θ = [W1 (4×8), b1 (8), W2 (8×3), b2 (3)]: small random weights, zero biases.
  const n = mlpClassifier.model.n;
  const theta0 = new Float64Array(n);
  for (const p of mlpClassifier.model.params) {
    if (p.shape.length === 2) for (let i = 0; i < p.size; i++) theta0[p.offset + i] = rng.normal() / Math.sqrt(p.shape[0]);
  }
  const r = fit(mlpClassifier, { X, Y }, theta0, `4-8-3 tanh network, N = ${N}, three clusters`);
  // Accuracy, computing the network in plain TypeScript from θ.
  const at = (name: string): number => mlpClassifier.model.params.find((p) => p.name === name)!.offset;
  const [oW1, ob1, oW2, ob2] = ['W1', 'b1', 'W2', 'b2'].map(at);
  let correct = 0;
  for (let s = 0; s < N; s++) {
    const h = new Float64Array(8);
    for (let u = 0; u < 8; u++) {
      let a = r.theta[ob1 + u];
      for (let j = 0; j < 4; j++) a += X[4 * s + j] * r.theta[oW1 + j * 8 + u];
      h[u] = Math.tanh(a);
    }
    let best = 0;
    let bestZ = -Infinity;
    for (let k = 0; k < 3; k++) {
      let z = r.theta[ob2 + k];
      for (let u = 0; u < 8; u++) z += h[u] * r.theta[oW2 + u * 3 + k];
      if (z > bestZ) [best, bestZ] = [k, z];
    }
    if (best === label[s]) correct++;
  }
  console.log(`training accuracy ${((100 * correct) / N).toFixed(1)}%`);
  record('mlp_classifier', r, `accuracy ${((100 * correct) / N).toFixed(1)}%`);
  solved.push({ name: 'mlp_classifier', cpu: mlpClassifier, data: { X, Y }, theta: r.theta });
}

// Extended Rosenbrock from x = (−1.2, …, −1.2): a curved valley, indefinite Hessians on the
// way, minimum 0 at (1, …, 1).
{
  const r = fit(rosenbrock, {}, new Float64Array(rosenbrock.model.n).fill(-1.2), 'from x = (-1.2, ..., -1.2)');
  const err = Math.max(...Array.from(r.theta, (v) => Math.abs(v - 1)));
  console.log(`max |x_i − 1| = ${err.toExponential(2)}`);
  record('rosenbrock', r, `max |x_i - 1| = ${err.toExponential(2)}`);
  solved.push({ name: 'rosenbrock', cpu: rosenbrock, data: {}, theta: r.theta });
}

console.log('\n## Summary');
for (const line of summary) console.log(line);

// ---- The same Hessians from the WGSL kernels --------------------------------------------------

/** A WebGPU device: the platform's default adapter, else Dawn's OpenGL ES backend on Mesa (a CPU). */
async function gpuContext(): Promise<GpuContext | string> {
  try {
    return await requestDevice();
  } catch {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    try {
      return await requestDevice({ backend: 'opengles', featureLevel: 'compatibility' });
    } catch (e) {
      return (e as Error).message;
    }
  }
}

const gpuModules: Record<string, { createKernels(device: GPUDevice): Promise<{ setData(d: never): void; hessian(theta: ArrayLike<number>): Promise<Float32Array>; destroy(): void }> }> = {
  seed_linear: seedLinearGpu,
  logreg: logregGpu,
  mlp_classifier: mlpClassifierGpu,
  rosenbrock: rosenbrockGpu,
};
console.log('\n## The GPU kernels (generated/<name>.gpu.ts, float32) at each solution');
const gpu = await gpuContext();
if (typeof gpu === 'string') console.log(`skipped: ${gpu}`);
else {
  console.log(`adapter: ${gpu.adapter}`);
  for (const s of solved) {
    const k = await gpuModules[s.name]!.createKernels(gpu.device);
    k.setData(s.data as never);
    const H = await k.hessian(s.theta);
    k.destroy();
    const ref = s.cpu.hessian(s.theta, s.data as never);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < ref.length; i++) {
      scale = Math.max(scale, Math.abs(ref[i]!));
      err = Math.max(err, Math.abs(H[i]! - ref[i]!));
    }
    console.log(`${s.name.padEnd(15)} n = ${String(Math.sqrt(ref.length)).padStart(3)}   max |H_gpu − H_cpu| / max |H| = ${(err / scale).toExponential(2)}`);
  }
  gpu.close();
}
