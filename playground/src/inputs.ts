// θ and data for the playground: seeded random values, and the JSON a user can paste.

/** What the page needs to know about a generated module's inputs (its `model` export). */
export interface ModelShape {
  readonly name: string;
  readonly n: number;
  readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly size: number }[];
  readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
}

export type DataValues = Record<string, number | Float64Array>;

export interface Inputs {
  theta: Float64Array;
  data: DataValues;
}

/** mulberry32: small, fast and reproducible (the same seed gives the same θ in every browser). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The run-time dimensions the data shapes name, in order of first appearance. */
export function symbolicDims(model: ModelShape): string[] {
  const out: string[] = [];
  for (const d of model.data) for (const s of d.shape) if (typeof s === 'string' && !out.includes(s)) out.push(s);
  return out;
}

/** Elements of one data array at the given dims (1 for a scalar). */
export function dataSize(shape: readonly (number | string)[], dims: Readonly<Record<string, number>>): number {
  let size = 1;
  for (const s of shape) size *= typeof s === 'number' ? s : (dims[s] ?? 0);
  return size;
}

/** θ uniform in [−0.5, 0.5] and data uniform in [−1, 1], from one seed. */
export function randomInputs(model: ModelShape, dims: Readonly<Record<string, number>>, seed: number): Inputs {
  const next = rng(seed);
  const theta = new Float64Array(model.n);
  for (let i = 0; i < theta.length; i++) theta[i] = next() - 0.5;
  const data: DataValues = {};
  for (const d of model.data) {
    if (d.shape.length === 0) data[d.name] = 2 * next() - 1;
    else {
      const a = new Float64Array(dataSize(d.shape, dims));
      for (let i = 0; i < a.length; i++) a[i] = 2 * next() - 1;
      data[d.name] = a;
    }
  }
  return { theta, data };
}

/** `{ "theta": [...], "data": { "X": [...], ... } }`, one array per line, shortest round-trip numbers. */
export function inputsToJson(inputs: Inputs): string {
  const arr = (a: ArrayLike<number>): string => `[${Array.from(a, (x) => String(x)).join(', ')}]`;
  const entries = Object.entries(inputs.data).map(([k, v]) => `    ${JSON.stringify(k)}: ${typeof v === 'number' ? String(v) : arr(v)}`);
  return `{\n  "theta": ${arr(inputs.theta)},\n  "data": {${entries.length ? `\n${entries.join(',\n')}\n  ` : ''}}\n}`;
}

/** Nested arrays of numbers, flattened row-major; throws a message naming `what` otherwise. */
function flatten(v: unknown, what: string): Float64Array {
  const out: number[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else if (typeof x === 'number' && Number.isFinite(x)) out.push(x);
    else throw new Error(`${what}: expected numbers (nested arrays are flattened row-major), found ${JSON.stringify(x)}`);
  };
  walk(v);
  return Float64Array.from(out);
}

/**
 * Parses pasted inputs: JSON as written by inputsToJson (nested arrays allowed), or, for a model
 * without data, just θ as an array or as numbers separated by spaces or commas.
 * Throws an Error with a message for the page on anything it cannot use.
 */
export function parseInputs(text: string, model: ModelShape): Inputs {
  const trimmed = text.trim();
  let parsed: unknown;
  if (/^[-+0-9.eE,\s]+$/.test(trimmed) && trimmed !== '') parsed = { theta: trimmed.split(/[\s,]+/).filter(Boolean).map(Number) };
  else {
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`inputs are not valid JSON: ${(e as Error).message}`);
    }
  }
  if (Array.isArray(parsed)) parsed = { theta: parsed };
  if (typeof parsed !== 'object' || parsed === null) throw new Error('inputs: expected an object { "theta": [...], "data": { ... } }');
  const obj = parsed as { theta?: unknown; data?: unknown };
  if (obj.theta === undefined) throw new Error('inputs: "theta" is missing');
  const theta = flatten(obj.theta, 'theta');
  if (theta.length !== model.n) throw new Error(`theta has ${theta.length} number${theta.length === 1 ? '' : 's'}; ${model.name} needs ${model.n}`);
  const data: DataValues = {};
  const given = (obj.data ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || Array.isArray(given)) throw new Error('inputs: "data" must be an object of arrays by name');
  for (const d of model.data) {
    if (!Object.prototype.hasOwnProperty.call(given, d.name)) throw new Error(`data: "${d.name}" is missing`);
    const v = given[d.name];
    if (d.shape.length === 0) {
      const a = flatten(v, `data.${d.name}`);
      if (a.length !== 1) throw new Error(`data.${d.name} is a scalar; found ${a.length} numbers`);
      data[d.name] = a[0]!;
    } else data[d.name] = flatten(v, `data.${d.name}`);
  }
  for (const k of Object.keys(given)) if (!model.data.some((d) => d.name === k)) throw new Error(`data: "${k}" is not a data input of ${model.name}`);
  return { theta, data };
}

/** The label of θ index i, e.g. `W1[2,3]` (one-based, as in the language) or `b2`. */
export function thetaLabel(model: ModelShape, i: number): string {
  for (const p of model.params) {
    if (i < p.offset || i >= p.offset + p.size) continue;
    if (p.shape.length === 0) return p.name;
    let r = i - p.offset;
    const idx: number[] = [];
    for (let k = p.shape.length - 1; k >= 0; k--) {
      idx.unshift((r % p.shape[k]!) + 1);
      r = Math.floor(r / p.shape[k]!);
    }
    return `${p.name}[${idx.join(',')}]`;
  }
  return `θ[${i}]`;
}
