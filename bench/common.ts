// What both benchmarks (cpu.ts, gpu.ts) share and what must not pull in Node-only packages:
// gpu.ts is bundled for the GPU machine. Deterministic synthetic data and medians.

// ---- Deterministic random numbers ----------------------------------------------------

/** mulberry32: a small, fast 32-bit generator; plenty for synthetic benchmark data. */
export class Rng {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [0, k). */
  int(k: number): number {
    return Math.floor(this.uniform() * k);
  }
}

// ---- Parameters and data of the benchmark models ---------------------------------------

export type Init = (rng: Rng) => number;
export const normal = (scale: number): Init => (rng) => scale * rng.normal();

export interface ParamSpec {
  readonly name: string;
  readonly size: number;
  readonly init: Init;
}
export interface DataSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** 'normal': standard normal entries; 'onehot': each row one-hot at a random column. */
  readonly fill: 'normal' | 'onehot';
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Fills a data array as its spec says. */
export function fillData<A extends Float32Array | Float64Array>(d: DataSpec, rng: Rng, a: A): A {
  if (d.fill === 'normal') for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  else {
    const [rows, cols] = d.shape as [number, number];
    for (let r = 0; r < rows; r++) a[r * cols + rng.int(cols)] = 1;
  }
  return a;
}

/** Differences between a generated module's θ layout and the one a bench (and its Python side) assumes. */
export function layoutProblems(
  n: number,
  params: readonly ParamSpec[],
  model: { readonly n: number; readonly params: readonly { readonly name: string; readonly size: number; readonly offset: number }[] },
): string[] {
  const problems: string[] = [];
  if (model.n !== n) problems.push(`model.n is ${model.n}, expected ${n}`);
  let offset = 0;
  params.forEach((p, i) => {
    const q = model.params[i];
    if (!q || q.name !== p.name || q.size !== p.size || q.offset !== offset)
      problems.push(`param ${i}: expected ${p.name} (size ${p.size}, offset ${offset}), got ${q ? `${q.name} (size ${q.size}, offset ${q.offset})` : 'nothing'}`);
    offset += p.size;
  });
  if (model.params.length !== params.length) problems.push(`${model.params.length} params, expected ${params.length}`);
  return problems;
}

/** Calls `onLine` with each non-empty line a child process writes (its JSON-lines protocol). */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}

/** θ of the 3-5-1 tanh MLP (bench/models/mlp_3_5_1*.hess), in its layout. */
export const MLP_3_5_1_PARAMS: readonly ParamSpec[] = [
  { name: 'W1', size: 15, init: normal(1 / Math.sqrt(3)) },
  { name: 'b1', size: 5, init: normal(0.1) },
  { name: 'w2', size: 5, init: normal(1 / Math.sqrt(5)) },
  { name: 'b2', size: 1, init: normal(0.1) },
];
