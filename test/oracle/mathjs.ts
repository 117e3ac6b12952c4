// An independent value oracle for `.hess` models, built on math.js (see "Reference evaluation"
// in docs/language.md). It never imports compiler code: it splits the file into statements
// itself, binds dims, consts, data and params in a math.js scope, registers the element-wise
// functions and the reductions with the language's axis conventions, and evaluates every
// statement with `math.evaluate`. math.js itself supplies the operators, matrix products,
// broadcasting, transposes and one-based indexing (`end`, ranges) exactly as the language
// borrows them.
import { create, all } from 'mathjs';
import type { Matrix, MathJsInstance } from 'mathjs';

export type DimSpec = number | string;

export interface HessDecls {
  /** `dim N` (size null) and `dim H = 4`, in order. */
  readonly dims: readonly { name: string; size: number | null }[];
  readonly params: readonly { name: string; shape: readonly DimSpec[] }[];
  readonly data: readonly { name: string; shape: readonly DimSpec[] }[];
  /** Every statement, comments stripped and continuation lines joined, with its first line. */
  readonly statements: readonly HessStatement[];
}

export type HessStatement =
  | { kind: 'dim'; line: number; name: string; size: number | null }
  | { kind: 'const'; line: number; name: string; expr: string }
  | { kind: 'data' | 'param'; line: number; name: string; shape: DimSpec[] }
  | { kind: 'define'; line: number; text: string }
  | { kind: 'minimize'; line: number; expr: string };

export type DataValue = number | ArrayLike<number>;

const BINARY_OPERATOR_AT_END = /(\+|-|\*|\/|\^|,)$/;

/** Joins continuation lines and strips comments; blank and comment-only lines disappear. */
export function splitStatements(source: string): { line: number; text: string }[] {
  const lines = source.split(/\r?\n/);
  const out: { line: number; text: string }[] = [];
  let pending = '';
  let pendingLine = 0;
  let depth = 0;
  for (let k = 0; k < lines.length; k++) {
    const hash = lines[k]!.indexOf('#');
    const text = (hash >= 0 ? lines[k]!.slice(0, hash) : lines[k]!).trim();
    if (text === '' && pending === '') continue;
    if (pending === '') pendingLine = k + 1;
    pending = pending === '' ? text : `${pending} ${text}`;
    for (const ch of text) {
      if (ch === '(' || ch === '[') depth++;
      else if (ch === ')' || ch === ']') depth--;
    }
    if (depth > 0 || BINARY_OPERATOR_AT_END.test(pending)) continue;
    out.push({ line: pendingLine, text: pending });
    pending = '';
  }
  if (pending !== '') out.push({ line: pendingLine, text: pending });
  return out;
}

function parseShape(inside: string | undefined): DimSpec[] {
  if (inside === undefined) return [];
  return inside.split(',').map((s) => {
    const t = s.trim();
    return /^\d+$/.test(t) ? Number(t) : t;
  });
}

export function parseDecls(source: string): HessDecls {
  const statements: HessStatement[] = [];
  for (const { line, text } of splitStatements(source)) {
    let m: RegExpMatchArray | null;
    if ((m = text.match(/^dim\s+([A-Za-z_]\w*)\s*(?:=\s*(\d+))?$/))) {
      statements.push({ kind: 'dim', line, name: m[1]!, size: m[2] === undefined ? null : Number(m[2]) });
    } else if ((m = text.match(/^const\s+([A-Za-z_]\w*)\s*=(.*)$/))) {
      statements.push({ kind: 'const', line, name: m[1]!, expr: m[2]!.trim() });
    } else if ((m = text.match(/^(data|param)\s+([A-Za-z_]\w*)\s*(?:\[([^\]]*)\])?$/))) {
      statements.push({ kind: m[1] as 'data' | 'param', line, name: m[2]!, shape: parseShape(m[3]) });
    } else if ((m = text.match(/^minimize\s+(.*)$/))) {
      statements.push({ kind: 'minimize', line, expr: m[1]! });
    } else {
      // `output NAME = …` is a definition like any other to the value.
      statements.push({ kind: 'define', line, text: text.replace(/^output\s+(?=[A-Za-z_]\w*\s*=(?!=))/, '') });
    }
  }
  const dims: { name: string; size: number | null }[] = [];
  const params: { name: string; shape: DimSpec[] }[] = [];
  const data: { name: string; shape: DimSpec[] }[] = [];
  for (const s of statements) {
    if (s.kind === 'dim') dims.push({ name: s.name, size: s.size });
    else if (s.kind === 'param') params.push({ name: s.name, shape: s.shape });
    else if (s.kind === 'data') data.push({ name: s.name, shape: s.shape });
  }
  return { dims, params, data, statements };
}

/** Sizes of every dim: fixed ones from the file, symbolic ones solved from the data lengths. */
export function resolveDims(decls: HessDecls, data: Record<string, DataValue>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const d of decls.dims) if (d.size !== null) sizes.set(d.name, d.size);
  let progress = true;
  while (progress) {
    progress = false;
    for (const d of decls.data) {
      const value = data[d.name];
      if (value === undefined || typeof value === 'number') continue;
      const unknown = [...new Set(d.shape.filter((s): s is string => typeof s === 'string' && !sizes.has(s)))];
      if (unknown.length !== 1) continue;
      const name = unknown[0]!;
      let known = 1;
      let power = 0;
      for (const s of d.shape) {
        if (s === name) power++;
        else known *= typeof s === 'number' ? s : sizes.get(s)!;
      }
      const size = Math.round(Math.pow(value.length / known, 1 / power));
      sizes.set(name, size);
      progress = true;
    }
  }
  for (const d of decls.dims) {
    if (!sizes.has(d.name)) throw new Error(`oracle: cannot infer the size of dim ${d.name} from the data`);
  }
  return sizes;
}

export function shapeOf(shape: readonly DimSpec[], dims: ReadonlyMap<string, number>): number[] {
  return shape.map((s) => {
    if (typeof s === 'number') return s;
    const v = dims.get(s);
    if (v === undefined) throw new Error(`oracle: unknown dim ${s}`);
    return v;
  });
}

/** n, and each param's offset and size in θ (declaration order, row-major). */
export function paramLayout(decls: HessDecls): { n: number; params: { name: string; shape: number[]; offset: number; size: number }[] } {
  const dims = new Map<string, number>();
  for (const d of decls.dims) if (d.size !== null) dims.set(d.name, d.size);
  let offset = 0;
  const params = decls.params.map((p) => {
    const shape = shapeOf(p.shape, dims);
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { name: p.name, shape, offset, size };
    offset += size;
    return entry;
  });
  return { n: offset, params };
}

// ---------------------------------------------------------------------------------------------

type Value = number | Matrix;

let instance: MathJsInstance | null = null;
function mathjs(): MathJsInstance {
  if (instance === null) instance = create(all, {});
  return instance;
}

function deepMap(a: unknown, f: (x: number) => number): unknown {
  return Array.isArray(a) ? a.map((v) => deepMap(v, f)) : f(a as number);
}

function toTensor(math: MathJsInstance, flat: readonly number[], shape: readonly number[]): Value {
  if (shape.length === 0) return flat[0]!;
  if (shape.length === 1) return math.matrix(flat.slice());
  const [rows, cols] = shape as [number, number];
  const nested: number[][] = [];
  for (let i = 0; i < rows; i++) nested.push(flat.slice(i * cols, (i + 1) * cols));
  return math.matrix(nested);
}

function elementwise(math: MathJsInstance, name: string, f: (x: number) => number): (x: Value) => Value {
  return (x: Value) => {
    if (typeof x === 'number') return f(x);
    if (math.isMatrix(x)) return math.matrix(deepMap(x.toArray(), f) as number[]);
    throw new Error(`oracle: ${name} of a non-numeric value`);
  };
}

const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** The language's element-wise functions in float64 (also the reference of test/parse/helpers.ts). */
export const ELEMENTWISE: Readonly<Record<string, (x: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  cube: (x) => x * x * x,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus,
  relu: (x) => Math.max(x, 0),
};

function rows(math: MathJsInstance, A: Matrix): number[][] {
  const size = A.size();
  if (size.length !== 2) throw new Error(`oracle: an axis reduction needs a matrix, got shape [${size.join(', ')}]`);
  return A.toArray() as number[][];
}

function lse(values: readonly number[]): number {
  const m = Math.max(...values);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const v of values) s += Math.exp(v - m);
  return m + Math.log(s);
}

function flatten(math: MathJsInstance, x: Value): number[] {
  return typeof x === 'number' ? [x] : (math.flatten(x).toArray() as number[]);
}

function axis(d: unknown): 1 | 2 {
  if (d === 1 || d === 2) return d;
  throw new Error(`oracle: axis must be 1 or 2, got ${String(d)}`);
}

function reductions(math: MathJsInstance): Record<string, (...args: Value[]) => Value> {
  return {
    // docs/language.md: axis 1 reduces over the first axis (rows), axis 2 over the second; math.js's JS API
    // numbers axes from 0, so axis d of the language is math.js dimension d - 1.
    sum: (A: Value, d?: Value) => {
      if (d === undefined) return typeof A === 'number' ? A : (math.sum(A) as number);
      if (typeof A === 'number' || A.size().length !== 2) throw new Error('oracle: sum(A, d) needs a matrix');
      return math.sum(A, axis(d) - 1) as unknown as Matrix;
    },
    mean: (A: Value, d?: Value) => {
      if (d === undefined) return typeof A === 'number' ? A : (math.mean(A) as number);
      if (typeof A === 'number' || A.size().length !== 2) throw new Error('oracle: mean(A, d) needs a matrix');
      return math.mean(A, axis(d) - 1) as unknown as Matrix;
    },
    logsumexp: (A: Value, d?: Value) => {
      if (d === undefined) return lse(flatten(math, A));
      if (typeof A === 'number') throw new Error('oracle: logsumexp(A, d) needs a matrix');
      const r = rows(math, A);
      if (axis(d) === 2) return math.matrix(r.map((row) => lse(row)));
      const cols = r[0]!.length;
      const out: number[] = [];
      for (let j = 0; j < cols; j++) out.push(lse(r.map((row) => row[j]!)));
      return math.matrix(out);
    },
  };
}

export interface OracleResult {
  value: number;
  /** Every defined name, for debugging. */
  scope: Map<string, unknown>;
}

/** The objective's value by math.js, at θ (flat, row-major per param) and the data. */
export function evaluateWithMathjs(source: string, theta: ArrayLike<number>, data: Record<string, DataValue> = {}): OracleResult {
  const math = mathjs();
  const decls = parseDecls(source);
  const dims = resolveDims(decls, data);
  const scope = new Map<string, unknown>();
  for (const [name, f] of Object.entries(ELEMENTWISE)) scope.set(name, elementwise(math, name, f));
  for (const [name, f] of Object.entries(reductions(math))) scope.set(name, f);

  const { n, params } = paramLayout(decls);
  if (theta.length !== n) throw new Error(`oracle: theta has length ${theta.length}, the model needs ${n}`);
  const thetaArr = Array.from(theta);

  let objective: number | null = null;
  for (const s of decls.statements) {
    switch (s.kind) {
      case 'dim':
        scope.set(s.name, dims.get(s.name)!);
        break;
      case 'const':
        scope.set(s.name, math.evaluate(s.expr, scope));
        break;
      case 'data': {
        const v = data[s.name];
        if (v === undefined) throw new Error(`oracle: no data for ${s.name}`);
        const shape = shapeOf(s.shape, dims);
        const flat = typeof v === 'number' ? [v] : Array.from(v);
        const size = shape.reduce((a, b) => a * b, 1);
        if (flat.length !== size) throw new Error(`oracle: data ${s.name} has length ${flat.length}, expected ${size}`);
        scope.set(s.name, toTensor(math, flat, shape));
        break;
      }
      case 'param': {
        const p = params.find((q) => q.name === s.name)!;
        scope.set(s.name, toTensor(math, thetaArr.slice(p.offset, p.offset + p.size), p.shape));
        break;
      }
      case 'define':
        math.evaluate(s.text, scope);
        break;
      case 'minimize': {
        const v: unknown = math.evaluate(s.expr, scope);
        if (typeof v !== 'number') throw new Error(`oracle: the objective is not a scalar: ${math.format(v as Matrix)}`);
        objective = v;
        break;
      }
    }
  }
  if (objective === null) throw new Error('oracle: no minimize statement');
  return { value: objective, scope };
}

export function oracleValue(source: string, theta: ArrayLike<number>, data: Record<string, DataValue> = {}): number {
  return evaluateWithMathjs(source, theta, data).value;
}
