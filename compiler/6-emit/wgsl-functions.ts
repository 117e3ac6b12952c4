// WGSL code of the element-wise functions (and the derivatives the Hessian needs), in f32.
// WGSL has no log1p/expm1, its pow is undefined for negative bases, its builtins are loose near
// zero (atan: 4096 ULP; log: absolute error near 1; sinh and tanh by exp differences), and
// drivers may compile with fast-math, which undoes tricks like log(u)·x/(u − 1). So small
// arguments go through short Taylor series, and tails through forms without cancellation.

import type { MapFn } from '../2-ir/index-form.ts';

export function wgslFnName(fn: MapFn): string {
  if (fn.name !== 'pow') return `f_${fn.name}`;
  const p = String(fn.p).replace(/-/g, 'm').replace(/\./g, 'p').replace(/\+/g, '');
  return `f_pow_${p}`;
}

/** The functions a function's code calls in turn (so that they are emitted too). */
export function wgslFnDeps(fn: MapFn): MapFn[] {
  const f = (name: string): MapFn => ({ name, p: 0 });
  switch (fn.name) {
    case 'log': case 'softplus': return [f('log1p')];
    case 'log0': return [f('log')];
    case 'tanh_d2': return [f('tanh'), f('tanh_d1')];
    case 'tanh': return [f('expm1')];
    case 'sigmoid_d2': return [f('sigmoid_d1'), f('expm1')];
    default: return [];
  }
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

export function wgslFnDefinition(fn: MapFn): string {
  const name = wgslFnName(fn);
  const body = ((): string => {
    switch (fn.name) {
      case 'pow': return powBody(fn.p);
      case 'exp': return 'return exp(x);';
      case 'log':
        // Near 1, x − 1 is exact and log1p is accurate where log's absolute error is not.
        return 'if (abs(x - 1.0f) < 0.1f) { return f_log1p(x - 1.0f); }\n  return log(x);';
      // A power's log: finite at 0 (see LOG0_FOLD in 3-differentiate/functions.ts).
      case 'log0': return 'if (x == 0.0f) { return -1e15f; }\n  return f_log(x);';
      case 'log1p':
        // Series to x⁹ below 0.1 (error < x¹⁰/10).
        return 'if (abs(x) < 0.1f) {\n    return x * (1.0f - x * (0.5f - x * (0.33333333f - x * (0.25f - x * (0.2f - x * (0.16666667f - x * (0.14285714f - x * (0.125f - x * 0.11111111f))))))));\n  }\n  return log(1.0f + x);';
      case 'log1p_d1': return 'return 1.0f / (1.0f + x);';
      case 'log1p_d2': return 'let u = 1.0f + x;\n  return -1.0f / (u * u);';
      case 'expm1':
        // Series to x⁸ below 0.1 (error < x⁹/9!).
        return 'if (abs(x) < 0.1f) {\n    return x * (1.0f + x * (0.5f + x * (0.16666667f + x * (0.041666668f + x * (0.008333334f + x * (0.0013888889f + x * (0.0001984127f + x * 0.0000248016f)))))));\n  }\n  return exp(x) - 1.0f;';
      case 'abs': return 'return abs(x);';
      case 'sign': return 'return sign(x);';
      case 'sin': return 'return sin(x);';
      case 'cos': return 'return cos(x);';
      case 'tan': return 'return tan(x);';
      case 'tan_d1': return 'let c = cos(x);\n  return 1.0f / (c * c);';
      case 'tan_d2': return 'let c = cos(x);\n  return (2.0f * sin(x)) / (c * c * c);';
      case 'atan': return 'if (abs(x) < 0.05f) {\n    let x2 = x * x;\n    return x * (1.0f - x2 * (0.33333333f - x2 * (0.2f - x2 * 0.14285714f)));\n  }\n  return atan(x);';
      case 'atan_d1': return 'return 1.0f / (1.0f + x * x);';
      case 'atan_d2': return 'let u = 1.0f + x * x;\n  return (-2.0f * x) / (u * u);';
      case 'sinh': return 'if (abs(x) < 0.1f) {\n    let x2 = x * x;\n    return x * (1.0f + x2 * (0.16666667f + x2 * (0.008333334f + x2 * 0.0001984127f)));\n  }\n  return 0.5f * (exp(x) - exp(-x));';
      case 'cosh': return 'return 0.5f * (exp(x) + exp(-x));';
      case 'tanh':
        // From expm1(−2|x|): no overflow for large |x|, full accuracy near 0.
        return 'let e = f_expm1(-2.0f * abs(x));\n  return sign(x) * (-e / (2.0f + e));';
      // sech² from e^(−2|x|): no 1 − tanh² cancellation in the tails.
      case 'tanh_d1': return 'let e = exp(-2.0f * abs(x));\n  return 4.0f * e / ((1.0f + e) * (1.0f + e));';
      case 'tanh_d2': return 'return -2.0f * f_tanh(x) * f_tanh_d1(x);';
      case 'sigmoid': return 'if (x >= 0.0f) { return 1.0f / (1.0f + exp(-x)); }\n  let e = exp(x);\n  return e / (1.0f + e);';
      // σ(1 − σ) = e/(1 + e)² with e = e^(−|x|); 1 − 2σ = sign(x)·expm1(−|x|)/(1 + e).
      case 'sigmoid_d1': return 'let e = exp(-abs(x));\n  return e / ((1.0f + e) * (1.0f + e));';
      case 'sigmoid_d2': return 'let e = exp(-abs(x));\n  return f_sigmoid_d1(x) * sign(x) * f_expm1(-abs(x)) / (1.0f + e);';
      case 'softplus': return 'return max(x, 0.0f) + f_log1p(exp(-abs(x)));';
      case 'relu': return 'return max(x, 0.0f);';
      case 'step': return 'return select(0.0f, 1.0f, x > 0.0f);';
    }
    throw new Error(`internal: no WGSL for ${fn.name}`);
  })();
  return `fn ${name}(x: f32) -> f32 {\n  ${body}\n}`;
}

/** x^p: integer exponents by multiplication (any sign of x), others through WGSL's pow. */
function powBody(p: number): string {
  if (p === 2) return 'return x * x;';
  if (p === 3) return 'return x * x * x;';
  if (p === -1) return 'return 1.0f / x;';
  if (p === -2) return 'return 1.0f / (x * x);';
  if (p === 0.5) return 'return sqrt(x);';
  if (p === -0.5) return 'return inverseSqrt(x);';
  if (Number.isInteger(p)) {
    const k = Math.abs(p);
    // |x|^k with the sign of x for odd k.
    const mag = `pow(abs(x), ${wgslFloat(k)})`;
    const signed = k % 2 === 1 ? `select(${mag}, -${mag}, x < 0.0f)` : mag;
    return p > 0 ? `return ${signed};` : `return 1.0f / ${signed};`;
  }
  return `return pow(x, ${wgslFloat(p)});`;
}
