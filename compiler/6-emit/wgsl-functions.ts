// WGSL code of the element-wise functions (and the derivatives the Hessian needs), in f32: names,
// literals, and each function's definition from its entry in `2-ir/functions.ts` (why the bodies
// avoid WGSL's loose builtins is written there).

import { wgslBody, wgslCalls } from '../2-ir/functions.ts';
import type { MapFn } from '../2-ir/index-form.ts';

export function wgslFnName(fn: MapFn): string {
  if (fn.name !== 'pow') return `f_${fn.name}`;
  const p = String(fn.p).replace(/-/g, 'm').replace(/\./g, 'p').replace(/\+/g, '');
  return `f_pow_${p}`;
}

/** The functions a function's code calls in turn (so that they are emitted too). */
export function wgslFnDeps(fn: MapFn): MapFn[] {
  return wgslCalls(fn);
}

export function wgslFloat(v: number): string {
  if (Number.isNaN(v)) throw new Error('internal: NaN constant');
  const max = 3.4028234663852886e38;
  // f32 has no infinity literal and rejects out-of-range ones: the largest finite value stands in.
  if (v >= max) return `${max}f`;
  if (v <= -max) return `(-${max}f)`;
  if (Math.abs(v) < 1.1754943508222875e-38) return Object.is(v, -0) || v < 0 ? '(-0.0f)' : '0.0f';
  let s = String(v);
  if (!/[.e]/.test(s)) s += '.0';
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** A function's code: its body from the table of element-wise functions (`2-ir/functions.ts`). */
export function wgslFnDefinition(fn: MapFn): string {
  return `fn ${wgslFnName(fn)}(x: f32) -> f32 {\n  ${wgslBody(fn, wgslFloat)}\n}`;
}
