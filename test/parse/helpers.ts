// Test helpers: parse snippets, and a small, independent evaluator of the built graph (plain
// loops over row-major arrays) to check that the graph means what the source says.
import { parseModel } from '../../compiler/1-parse/index.ts';
import { formatDiagnostic, type Diagnostic } from '../../compiler/1-parse/diagnostics.ts';
import type { Model, Node } from '../../compiler/2-ir/graph.ts';
import { ELEMENTWISE } from '../oracle/mathjs.ts';

export function ok(source: string, file = 'm.hess'): Model {
  const r = parseModel(source, file);
  if (!r.model || r.diagnostics.length) {
    throw new Error(`expected no errors, got:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  }
  return r.model;
}

export function errors(source: string, file = 'm.hess'): Diagnostic[] {
  const r = parseModel(source, file);
  if (r.model !== null) throw new Error('expected errors, but the model was accepted');
  if (r.diagnostics.length === 0) throw new Error('model null without diagnostics');
  return r.diagnostics;
}

/** The only diagnostic of a source (fails when there are several). */
export function oneError(source: string, file = 'm.hess'): Diagnostic {
  const ds = errors(source, file);
  if (ds.length !== 1) throw new Error(`expected one error, got ${ds.length}:\n${ds.map(formatDiagnostic).join('\n')}`);
  return ds[0]!;
}

/** The underlined text of a diagnostic. */
export function culprit(d: Diagnostic): string {
  return d.sourceLine.slice(d.column - 1, d.column - 1 + d.length);
}

// ---- reference evaluator ---------------------------------------------------------------------

export interface Tensor {
  shape: number[];
  data: number[];
}

const scalar = (v: number): Tensor => ({ shape: [], data: [v] });

function at(t: Tensor, idx: number[]): number {
  // broadcasting read: idx is aligned from the last axis; size-1 or missing axes repeat
  let flat = 0;
  const r = t.shape.length;
  for (let k = 0; k < r; k++) {
    const i = idx[idx.length - r + k]!;
    const n = t.shape[k]!;
    flat = flat * n + (n === 1 ? 0 : i);
  }
  return t.data[flat]!;
}

function each(shape: number[], f: (idx: number[]) => void): void {
  if (shape.length === 0) return f([]);
  if (shape.length === 1) {
    for (let i = 0; i < shape[0]!; i++) f([i]);
    return;
  }
  for (let i = 0; i < shape[0]!; i++) for (let j = 0; j < shape[1]!; j++) f([i, j]);
}

const UNARY: Readonly<Record<string, (x: number) => number>> = { neg: (x) => -x, ...ELEMENTWISE };

export function evaluate(model: Model, theta: number[], data: Record<string, number | number[]>): Tensor {
  // symbolic dims from data lengths
  const dims = new Map<string, number>();
  for (const d of model.data) {
    const raw = data[d.name];
    const len = Array.isArray(raw) ? raw.length : 1;
    const fixed = d.shape.reduce<number>((p, s) => (typeof s === 'number' ? p * s : p), 1);
    for (const s of d.shape) if (typeof s === 'string') dims.set(s, len / fixed);
  }
  const size = (s: number | string): number => (typeof s === 'number' ? s : dims.get(s)!);
  const offsets = new Map<string, number>();
  let off = 0;
  for (const p of model.params) {
    offsets.set(p.name, off);
    off += p.shape.reduce((a, b) => a * b, 1);
  }
  const memo = new Map<number, Tensor>();
  const ev = (n: Node): Tensor => {
    const hit = memo.get(n.id);
    if (hit) return hit;
    const shape = n.shape.map(size);
    const count = shape.reduce((a, b) => a * b, 1);
    let out: Tensor;
    switch (n.kind) {
      case 'param': {
        const o = offsets.get(n.name)!;
        out = { shape, data: theta.slice(o, o + count) };
        break;
      }
      case 'data': {
        const raw = data[n.name]!;
        out = { shape, data: Array.isArray(raw) ? raw : [raw] };
        break;
      }
      case 'const':
        out = scalar(n.value);
        break;
      case 'dim':
        out = scalar(dims.get(n.name)!);
        break;
      case 'unary': {
        const a = ev(n.arg);
        out = { shape, data: a.data.map(UNARY[n.fn]!) };
        break;
      }
      case 'binary': {
        const a = ev(n.a);
        const b = ev(n.b);
        const f = { add: (x: number, y: number) => x + y, sub: (x: number, y: number) => x - y, mul: (x: number, y: number) => x * y, div: (x: number, y: number) => x / y, pow: Math.pow }[n.op];
        const res: number[] = [];
        each(shape, (idx) => res.push(f(at(a, idx), at(b, idx))));
        out = { shape, data: res };
        break;
      }
      case 'matmul': {
        const a = ev(n.a);
        const b = ev(n.b);
        const A = a.shape.length === 1 ? { shape: [1, a.shape[0]!], data: a.data } : a;
        const B = b.shape.length === 1 ? { shape: [b.shape[0]!, 1], data: b.data } : b;
        const [m, k] = A.shape as [number, number];
        const nn = B.shape[1]!;
        const res: number[] = [];
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < nn; j++) {
            let s = 0;
            for (let q = 0; q < k; q++) s += A.data[i * k + q]! * B.data[q * nn + j]!;
            res.push(s);
          }
        }
        out = { shape, data: res };
        break;
      }
      case 'sum':
      case 'logsumexp': {
        const a = ev(n.arg);
        const lse = n.kind === 'logsumexp';
        const reduce = (xs: number[]): number => {
          if (!lse) return xs.reduce((p, q) => p + q, 0);
          const mx = Math.max(...xs);
          return mx + Math.log(xs.reduce((p, q) => p + Math.exp(q - mx), 0));
        };
        if (n.axis === null || a.shape.length === 1) {
          out = scalar(reduce(a.data));
        } else {
          const [r, c] = a.shape as [number, number];
          const res: number[] = [];
          if (n.axis === 0) for (let j = 0; j < c; j++) res.push(reduce(Array.from({ length: r }, (_, i) => a.data[i * c + j]!)));
          else for (let i = 0; i < r; i++) res.push(reduce(a.data.slice(i * c, i * c + c)));
          out = { shape, data: res };
        }
        break;
      }
      case 'transpose': {
        const a = ev(n.arg);
        const [r, c] = a.shape as [number, number];
        const res: number[] = [];
        for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) res.push(a.data[i * c + j]!);
        out = { shape, data: res };
        break;
      }
      case 'slice': {
        const a = ev(n.arg);
        const ranges = n.index.map((ix) => ('at' in ix ? [ix.at] : Array.from({ length: size(ix.stop) - ix.start }, (_, q) => ix.start + q)));
        const res: number[] = [];
        if (a.shape.length === 1) for (const i of ranges[0]!) res.push(a.data[i]!);
        else for (const i of ranges[0]!) for (const j of ranges[1]!) res.push(a.data[i * a.shape[1]! + j]!);
        out = { shape, data: res };
        break;
      }
    }
    memo.set(n.id, out);
    return out;
  };
  return ev(model.objective);
}

/** The objective's value for a model whose params are all scalars/vectors/matrices given in order. */
export function valueOf(source: string, theta: number[], data: Record<string, number | number[]> = {}): number {
  const t = evaluate(ok(source), theta, data);
  if (t.shape.length !== 0) throw new Error('objective is not a scalar');
  return t.data[0]!;
}
