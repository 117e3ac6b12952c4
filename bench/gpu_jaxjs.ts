// jax-js (`@jax-js/jax`) on WebGPU as a peer of the GPU bench (bench/gpu.ts, `--peer-list=jax-js`):
// the same models, θ and data (float32) as our WGSL kernels, `hessian(f)` with and without `jit`,
// in this Node process through the same Dawn build (the `webgpu` package) that runs ours. jax-js
// makes its own device from `navigator.gpu`, which Node 20 lacks: it gets Dawn's, before the
// library is first imported. Its Hessian is checked at the bench's sampled entries; a wrong one is
// reported as wrong, not as a time.

import type { Array as JaxArray } from '@jax-js/jax';

type Jax = typeof import('@jax-js/jax');

export interface JaxJsProblem {
  readonly model: string;
  readonly n: number;
  /** Sizes of the parameters in θ order (the bench's layout). */
  readonly paramSizes: readonly number[];
  readonly theta: Float32Array;
  readonly data: Readonly<Record<string, Float32Array>>;
  /** N rows, or B problems for the per-sample model. */
  readonly size: number;
}

export interface JaxJsResult {
  medianMs?: number;
  runs?: number;
  firstCallMs?: number;
  platform?: string;
  value?: number;
  maxAbs?: number;
  entries?: (number | null)[];
  error?: string;
}

let loaded: Promise<Jax> | undefined;

/** jax-js with its WebGPU backend on `gpu` (Dawn's GPU object), initialized once. */
function load(gpu: GPU, compatibility: boolean): Promise<Jax> {
  loaded ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    // Node 20 has neither; jax-js reads navigator.gpu, navigator.userAgent, and Float16Array's existence.
    g.Float16Array ??= class {};
    const requestAdapter = gpu.requestAdapter.bind(gpu);
    // A plain object: Dawn's methods must be called on Dawn's own GPU object (bound here).
    const shim = {
      requestAdapter: (o?: GPURequestAdapterOptions) => requestAdapter(compatibility ? { ...o, featureLevel: 'compatibility' } : o),
      getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
      wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    };
    g.navigator = { userAgent: 'node', hardwareConcurrency: 1, gpu: shim };
    const jax = await import('@jax-js/jax');
    const devices = await jax.init('webgpu');
    if (!devices.includes('webgpu')) throw new Error(`jax-js found no WebGPU device (it has ${devices.join(', ')})`);
    jax.defaultDevice('webgpu');
    return jax;
  })();
  return loaded;
}

/** The bench model as a jax-js function of the flat θ (consumed, as jax-js's move rules want). */
function objective(jax: Jax, p: JaxJsProblem, data: Record<string, JaxArray>): ((theta: JaxArray) => JaxArray) | undefined {
  const np = jax.numpy;
  const split = (t: JaxArray, shapes: number[][]): JaxArray[] => {
    let o = 0;
    return shapes.map((s, k) => {
      const size = s.reduce((a, b) => a * b, 1);
      const part = (k === shapes.length - 1 ? t : t.ref).slice([o, o + size]);
      o += size;
      return s.length > 1 ? part.reshape(s) : part;
    });
  };
  if (p.model === 'mlp_784_32_10' || p.model === 'mlp_64_32_10') {
    const inputs = p.model === 'mlp_784_32_10' ? 784 : 64;
    return (t) => {
      const [W1, b1, W2, b2] = split(t, [[inputs, 32], [32], [32, 10], [10]]);
      const h = np.tanh(np.matmul(data.X!.ref, W1!).add(b1!));
      const r = np.matmul(h, W2!).add(b2!).sub(data.Y!.ref);
      return np.mean(r.ref.mul(r));
    };
  }
  if (p.model === 'softmax_64_128')
    return (t) => {
      const [W, b] = split(t, [[64, 128], [128]]);
      const Z = np.matmul(data.X!.ref, W!).add(b!);
      const lse = jax.nn.logsumexp(Z.ref, 1);
      return np.mean(lse.sub(np.sum(data.Y!.ref.mul(Z), 1)));
    };
  return undefined;
}

/** Per-sample Hessians of the 3-5-1 model: vmap over (x, y) of hessian in θ. */
function perSample(jax: Jax, x: JaxArray, y: JaxArray): (theta: JaxArray) => JaxArray {
  const np = jax.numpy;
  const one = (t: JaxArray, xi: JaxArray, yi: JaxArray): JaxArray => {
    const W1 = t.ref.slice([0, 15]).reshape([3, 5]);
    const b1 = t.ref.slice([15, 20]);
    const w2 = t.ref.slice([20, 25]);
    const b2 = t.slice([25, 26]);
    const h = np.tanh(np.matmul(xi.reshape([1, 3]), W1).add(b1));
    const r = np.matmul(h, w2.reshape([5, 1])).reshape([1]).add(b2).sub(yi.reshape([1]));
    return np.sum(r.ref.mul(r));
  };
  return (t) => jax.vmap((xi: JaxArray, yi: JaxArray) => jax.hessian((tt: JaxArray) => one(tt, xi.ref, yi.ref))(t.ref), [0, 0])(x.ref, y.ref);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Times `hessian(f)` (jit false) or `jit(hessian(f))` on the problem and reads the sampled
 * entries (flat indices into the B·n·n stack). Stops repeating after `budgetMs`.
 */
export async function runJaxJs(gpu: GPU, compatibility: boolean, p: JaxJsProblem, indices: readonly number[], jit: boolean, budgetMs: number): Promise<JaxJsResult> {
  const jax = await load(gpu, compatibility);
  const np = jax.numpy;
  const arrays: Record<string, JaxArray> = {};
  const shapes: Record<string, number[]> = {
    X: [p.size, p.model === 'mlp_784_32_10' ? 784 : 64],
    Y: [p.size, p.model === 'softmax_64_128' ? 128 : 10],
    x: [p.size, 3],
    y: [p.size],
  };
  for (const [name, a] of Object.entries(p.data)) arrays[name] = np.array(a, { shape: shapes[name]! });
  const fn = p.model === 'mlp_3_5_1_sample' ? perSample(jax, arrays.x!, arrays.y!) : objective(jax, p, arrays);
  if (!fn) return { error: `no jax-js form of ${p.model}` };
  // The per-sample function already returns Hessians (vmap of hessian).
  const base = p.model === 'mlp_3_5_1_sample' ? fn : jax.hessian(fn);
  const hess = jit ? jax.jit(base) : base;
  const theta = np.array(p.theta);
  try {
    const call = async (): Promise<{ ms: number; H: JaxArray }> => {
      const t0 = performance.now();
      const H = hess(theta.ref);
      await H.blockUntilReady();
      return { ms: performance.now() - t0, H };
    };
    const first = await call();
    // The check: the whole stack read back once (outside the timing).
    const all = (await first.H.data()) as Float32Array;
    let maxAbs = 0;
    for (let i = 0; i < all.length; i++) maxAbs = Math.max(maxAbs, Math.abs(all[i]!));
    const entries = indices.map((i) => (i < all.length && Number.isFinite(all[i]!) ? all[i]! : null));
    const value = p.model === 'mlp_3_5_1_sample' ? undefined : ((await fn(theta.ref).data()) as Float32Array)[0];
    const samples: number[] = [];
    const start = performance.now();
    while (samples.length < 100 && (samples.length < 3 || performance.now() - start < Math.min(budgetMs, 2000 + 20 * median(samples)))) {
      if (performance.now() - start + (samples.at(-1) ?? first.ms) > budgetMs) break;
      const { ms, H } = await call();
      H.dispose();
      samples.push(ms);
    }
    return {
      ...(samples.length ? { medianMs: median(samples), runs: samples.length } : {}),
      firstCallMs: first.ms,
      platform: 'gpu (jax-js webgpu)',
      ...(value !== undefined ? { value } : {}),
      maxAbs,
      entries,
    };
  } catch (err) {
    return { error: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300) };
  } finally {
    theta.dispose();
    for (const a of Object.values(arrays)) a.dispose();
    if (jit && 'dispose' in hess) (hess as { dispose(): void }).dispose();
  }
}
