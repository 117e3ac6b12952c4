// Splitting a batch into shards: contiguous row ranges, and each data array's rows of a range.

import type { ShardRange } from './protocol.ts';

/** `count` contiguous ranges covering [0, total), sizes differing by at most one (some empty when total < count). */
export function splitRows(total: number, count: number): ShardRange[] {
  const ranges: ShardRange[] = [];
  for (let k = 0; k < count; k++) {
    ranges.push({ start: Math.floor((k * total) / count), end: Math.floor(((k + 1) * total) / count), total });
  }
  return ranges;
}

/**
 * The batch size of `data`: read off the first array that has the batch dimension, whose other
 * dimensions are compile-time sizes (a shardable model has no other run-time dimension).
 */
export function batchSize(layout: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[], dim: string, data: Readonly<Record<string, unknown>>): number {
  for (const d of layout) {
    if (!d.shape.includes(dim)) continue;
    const array = data[d.name] as ArrayLike<number> | undefined;
    if (array == null || typeof array !== 'object' || typeof array.length !== 'number') {
      throw new RangeError(`data.${d.name}: expected an array of numbers ([${d.shape.join(', ')}], row-major)`);
    }
    const per = d.shape.reduce<number>((a, x) => a * (x === dim ? 1 : (x as number)), 1);
    const total = array.length / per;
    if (!Number.isInteger(total)) throw new RangeError(`data.${d.name} has length ${array.length}, expected a multiple of ${per} ([${d.shape.join(', ')}])`);
    return total;
  }
  throw new RangeError(`no data array has the batch dimension ${dim}`);
}

/**
 * Rows [start, end) along the batch axis of a row-major array of `shape`: a view when the batch is
 * the first axis (the rows are contiguous), a copy otherwise.
 */
export function rowsOf(array: Float64Array, shape: readonly (number | string)[], dim: string, range: ShardRange): Float64Array {
  const axis = shape.indexOf(dim);
  if (axis < 0) return array;
  const size = (from: number, to: number) => shape.slice(from, to).reduce<number>((a, x) => a * (x === dim ? range.total : (x as number)), 1);
  const inner = size(axis + 1, shape.length);
  if (axis === 0) return array.subarray(range.start * inner, range.end * inner);
  const outer = size(0, axis);
  const rows = range.end - range.start;
  const out = new Float64Array(outer * rows * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * range.total + range.start) * inner;
    out.set(array.subarray(from, from + rows * inner), o * rows * inner);
  }
  return out;
}
