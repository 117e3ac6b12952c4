// Checks a model's data against its declared shapes, infers the run-time dimensions (and, with
// batched arrays, the number of problems), and packs every array into one float32 buffer.
// The errors are the TypeScript target's RangeErrors, with the batch added.

import type { Dim } from './engine.ts';

export interface DataLayout {
  /** Every array back to back, in declaration order. */
  readonly values: Float32Array;
  /** Where each declared array starts, and its length per problem (0 when shared by all). */
  readonly arrays: readonly { readonly offset: number; readonly stride: number }[];
  readonly dims: ReadonlyMap<string, number>;
  /** Problems held by batched arrays; null when no array is batched. */
  readonly problems: number | null;
}

interface Plan {
  readonly dims: readonly string[];
  readonly data: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
}

const shapeText = (shape: readonly Dim[]) => (shape.length === 0 ? 'scalar' : `[${shape.join(', ')}]`);

export function checkData(model: string, plan: Plan, data: Record<string, unknown> | null | undefined, batched: readonly string[] | undefined): DataLayout {
  if (data == null || typeof data !== 'object') throw new RangeError(`data: expected an object with ${plan.data.map((d) => d.name).join(', ') || 'no arrays'}`);
  const names = new Set(plan.data.map((d) => d.name));
  const batch = new Set<string>();
  for (const b of batched ?? []) {
    if (!names.has(b)) throw new RangeError(`batched: ${JSON.stringify(b)} is not a data array of ${model} (it has ${[...names].join(', ') || 'none'})`);
    batch.add(b);
  }
  const dims = new Map<string, { value: number; from: string }>();
  let problems: { value: number; from: string } | null = null;
  // Each input as an array (a batched scalar is an array of B numbers).
  const arrays = plan.data.map((d) => {
    const v = Object.prototype.hasOwnProperty.call(data, d.name) ? data[d.name] : undefined;
    const isBatched = batch.has(d.name);
    if (d.shape.length === 0 && !isBatched) {
      if (typeof v !== 'number') throw new RangeError(`data.${d.name}: expected a number, got ${v === undefined ? 'nothing' : typeof v}`);
      return { decl: d, values: [v] as ArrayLike<number>, batched: false };
    }
    if (v == null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
      throw new RangeError(`data.${d.name}: expected an array of numbers (${shapeText(d.shape)}${isBatched ? ' per problem, problems back to back' : ', row-major'})`);
    }
    return { decl: d, values: v as ArrayLike<number>, batched: isBatched };
  });
  // Solve for the unknown dimensions (and B) array by array until nothing changes.
  const solved = new Set<number>();
  for (let progress = true; progress; ) {
    progress = false;
    arrays.forEach((a, k) => {
      if (solved.has(k)) return;
      const len = a.values.length;
      const unknown = [...new Set(a.decl.shape.filter((x): x is string => typeof x === 'string' && !dims.has(x)))];
      const fixed = a.decl.shape.reduce<number>((p, x) => p * (typeof x === 'number' ? x : dims.get(x)?.value ?? 1), 1);
      const batchUnknown = a.batched && problems === null;
      if (unknown.length + (batchUnknown ? 1 : 0) > 1) return;
      const per = fixed * (a.batched && problems ? problems.value : 1);
      if (unknown.length === 0 && !batchUnknown) {
        if (len !== per) {
          const from = [...new Set(a.decl.shape.filter((x): x is string => typeof x === 'string'))].map((x) => `${x} = ${dims.get(x)!.value} from data.${dims.get(x)!.from}`);
          if (a.batched) from.push(`${problems!.value} problems from data.${problems!.from}`);
          throw new RangeError(`data.${a.decl.name} has length ${len}, expected ${per} (${shapeText(a.decl.shape)}${from.length ? ', ' + from.join(', ') : ''})`);
        }
      } else if (batchUnknown) {
        const B = len / per;
        if (!Number.isInteger(B) || B < 1) throw new RangeError(`data.${a.decl.name} has length ${len}, expected a positive multiple of ${per} (${shapeText(a.decl.shape)} per problem)`);
        problems = { value: B, from: a.decl.name };
      } else {
        const u = unknown[0]!;
        const power = a.decl.shape.filter((x) => x === u).length;
        const q = len / per;
        const value = power === 1 ? q : Math.round(Math.pow(q, 1 / power));
        if (!Number.isInteger(value) || Math.pow(value, power) * per !== len) {
          throw new RangeError(`data.${a.decl.name} has length ${len}, expected a multiple of ${per} (${shapeText(a.decl.shape)}${a.batched ? ' per problem' : ''})`);
        }
        // As in the TypeScript target: no rows is an error, not a NaN or zero result.
        if (value === 0) throw new RangeError(`data.${a.decl.name} has length 0, so ${u} = 0: run-time dimensions must be at least 1`);
        dims.set(u, { value, from: a.decl.name });
      }
      solved.add(k);
      progress = true;
    });
  }
  arrays.forEach((a, k) => {
    if (solved.has(k)) return;
    const unknown = [...new Set(a.decl.shape.filter((x): x is string => typeof x === 'string' && !dims.has(x)))];
    const what = [...unknown, ...(a.batched && problems === null ? ['the number of problems'] : [])];
    throw new RangeError(`data.${a.decl.name}: cannot infer ${what.join(' and ')} from one array; declare another array that has only one of them`);
  });
  const B = (problems as { value: number } | null)?.value ?? null;
  let total = 0;
  const layout = arrays.map((a) => {
    const offset = total;
    total += a.values.length;
    return { offset, stride: a.batched ? a.values.length / B! : 0 };
  });
  const values = new Float32Array(total);
  arrays.forEach((a, k) => {
    const v = a.values;
    const o = layout[k]!.offset;
    for (let i = 0; i < v.length; i++) values[o + i] = v[i]!;
  });
  const dimValues = new Map<string, number>();
  for (const d of plan.dims) dimValues.set(d, dims.get(d)?.value ?? 0);
  return { values, arrays: layout, dims: dimValues, problems: B };
}
