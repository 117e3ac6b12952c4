// The element-wise functions, one entry each: everything every stage needs of a function lives in
// its entry, and the stages read this table instead of their own switches. The language's
// functions (`exp(x)` in a model) and the functions the differentiator introduces (`tanh_d1`, the
// derivative of tanh) are entries alike; a language function either is one of the map functions
// (`map: 'self'`) or a power (`sqrt`, `square`, `cube` are x^0.5, x², x³).
//
// An entry holds:
// - `fold`: its value on a float64 constant (compile-time folding);
// - `derivative`: d/dx as `coef · g(x)` for another entry g, a constant, or `coef · x`, so that
//   derivatives of derivatives are entries again; a function without one is never differentiated
//   (a Hessian needs the second derivative of the language functions only);
// - `ts`: the body of its TypeScript (float64) function of `x`, and `tsHelpers`, the module-level
//   helpers that body calls (`expNeg`, e^t for t ≤ 0 without Math.exp's call into C: exp-neg.ts);
// - `wgsl`: the body of its WGSL (f32) function of `x`, and `wgslCalls`, the entries that body calls.
//   WGSL has no log1p/expm1, its pow is undefined for negative bases, its builtins are loose near
//   zero (atan: 4096 ULP; log: absolute error near 1; sinh and tanh by exp differences), and
//   drivers may compile with fast-math, which undoes tricks like log(u)·x/(u − 1). So small
//   arguments go through short Taylor series, and tails through forms without cancellation;
// - `symbol`: how `hessgen inspect` writes it, where not by its name;
// - `shared`: for tanh and σ, how the CPU lowering computes f, f′, f″ at one argument together.
//
// `pow` (x^p for a compile-time p) is the one parametric function: its code depends on p, so it is
// handled by `powFold`, `powDerivative`, `tsPowBody` and `wgslPowBody` below.

import { expNegSource } from './exp-neg.ts';
import type { MapFn } from './index-form.ts';

export type Derivative =
  | { readonly kind: 'fn'; readonly coef: number; readonly fn: MapFn }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'arg'; readonly coef: number }; // coef · x

export type ElementFunction =
  | {
      /** 'self': a function of the language; absent: introduced by the differentiator only. */
      readonly language?: 'self';
      readonly fold: (x: number) => number;
      readonly derivative?: Derivative;
      readonly ts: string;
      readonly tsHelpers?: readonly TsHelper[];
      readonly wgsl: string;
      readonly wgslCalls?: readonly string[];
      readonly symbol?: string;
      readonly shared?: SharedDerivatives;
    }
  /** A function of the language that is a power (its code and derivative are pow's). */
  | { readonly language: { readonly pow: number }; readonly fold: (x: number) => number };

/**
 * A function whose second derivative is cheap from its value y and its first derivative d, both
 * computed from x (1 − y² and y(1 − y) lose the tails, where y rounds to ±1): where a lowering
 * needs several of them at one argument (CPU), it computes y and d once (`5-lower/cpu/families.ts`).
 * `second` builds f″ from y and d with the lowering's expression constructors.
 */
export interface SharedDerivatives {
  readonly d1: string;
  readonly d2: string;
  readonly second: <E>(y: E, d: E, ops: { num(v: number): E; mul(a: E, b: E): E; sub(a: E, b: E): E }) => E;
}

/** Module-level TypeScript that function bodies call, by name, with its source. */
export const TS_HELPERS = { expNeg: expNegSource } as const;
export type TsHelper = keyof typeof TS_HELPERS;

const fn = (name: string, coef = 1, p = 0): Derivative => ({ kind: 'fn', coef, fn: { name, p } });
const zero: Derivative = { kind: 'const', value: 0 };

/**
 * What `log0(0)` folds to: a finite stand-in for −∞ that both targets represent, whose square
 * (second derivatives in the exponent) stays finite in float32, and for which exp(p·LOG0) is 0
 * for every p > 1e-13.
 */
export const LOG0_FOLD = -1e15;

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const sech2 = (x: number): number => {
  const e = Math.exp(-2 * Math.abs(x));
  return (4 * e) / ((1 + e) * (1 + e));
};
const sigmoidD1 = (x: number): number => {
  const e = Math.exp(-Math.abs(x));
  return e / ((1 + e) * (1 + e));
};

/**
 * tanh(x) = x + x·z·(this), z = x²: the Taylor coefficients of tanh from x³ to x²¹ (−1/3, 2/15,
 * −17/315, …), in Horner form.
 */
const TANH_SERIES = (() => {
  const c = ['-1 / 3', '2 / 15', '-17 / 315', '62 / 2835', '-1382 / 155925', '21844 / 6081075', '-929569 / 638512875', '6404582 / 10854718875', '-443861162 / 1856156927625', '18888466084 / 194896477400625'];
  return c.reduceRight((inner, k) => (inner === '' ? k : `${k} + z * (${inner})`), '');
})();

/** Every element-wise function by name (the order of the language's list in the docs). */
export const ELEMENT_FUNCTIONS = {
  exp: {
    language: 'self',
    fold: Math.exp,
    derivative: fn('exp'),
    ts: 'return Math.exp(x);',
    wgsl: 'return exp(x);',
  },
  log: {
    language: 'self',
    fold: Math.log,
    derivative: fn('pow', 1, -1),
    ts: 'return Math.log(x);',
    // Near 1, x − 1 is exact and log1p is accurate where log's absolute error is not.
    wgsl: 'if (abs(x - 1.0f) < 0.1f) { return f_log1p(x - 1.0f); }\n  return log(x);',
    wgslCalls: ['log1p'],
  },
  // A power's log (a .^ b = exp(b .* log0(a))): finite at 0 (LOG0_FOLD), so that 0ᵖ·log 0 is 0
  // rather than NaN; its square stays finite.
  log0: {
    fold: (x) => (x === 0 ? LOG0_FOLD : Math.log(x)),
    derivative: fn('pow', 1, -1),
    ts: 'return x === 0 ? -1e100 : Math.log(x);',
    wgsl: 'if (x == 0.0f) { return -1e15f; }\n  return f_log(x);',
    wgslCalls: ['log'],
  },
  log1p: {
    language: 'self',
    fold: Math.log1p,
    derivative: fn('log1p_d1'),
    ts: 'return Math.log1p(x);',
    // Series to x⁹ below 0.1 (error < x¹⁰/10).
    wgsl: 'if (abs(x) < 0.1f) {\n    return x * (1.0f - x * (0.5f - x * (0.33333333f - x * (0.25f - x * (0.2f - x * (0.16666667f - x * (0.14285714f - x * (0.125f - x * 0.11111111f))))))));\n  }\n  return log(1.0f + x);',
  },
  log1p_d1: {
    fold: (x) => 1 / (1 + x),
    derivative: fn('log1p_d2'),
    ts: 'return 1 / (1 + x);',
    wgsl: 'return 1.0f / (1.0f + x);',
    symbol: 'log1p′',
  },
  log1p_d2: {
    fold: (x) => -1 / ((1 + x) * (1 + x)),
    ts: 'const u = 1 + x;\n  return -1 / (u * u);',
    wgsl: 'let u = 1.0f + x;\n  return -1.0f / (u * u);',
    symbol: 'log1p″',
  },
  expm1: {
    language: 'self',
    fold: Math.expm1,
    derivative: fn('exp'),
    ts: 'return Math.expm1(x);',
    // Series to x⁸ below 0.1 (error < x⁹/9!).
    wgsl: 'if (abs(x) < 0.1f) {\n    return x * (1.0f + x * (0.5f + x * (0.16666667f + x * (0.041666668f + x * (0.008333334f + x * (0.0013888889f + x * (0.0001984127f + x * 0.0000248016f)))))));\n  }\n  return exp(x) - 1.0f;',
  },
  sqrt: { language: { pow: 0.5 }, fold: Math.sqrt },
  square: { language: { pow: 2 }, fold: (x) => x * x },
  cube: { language: { pow: 3 }, fold: (x) => x * x * x },
  abs: {
    language: 'self',
    fold: Math.abs,
    derivative: fn('sign'), // abs'(0) = 0, as the spec says
    ts: 'return Math.abs(x);',
    wgsl: 'return abs(x);',
  },
  sign: {
    fold: Math.sign,
    derivative: zero,
    ts: 'return x > 0 ? 1 : x < 0 ? -1 : 0;',
    wgsl: 'return sign(x);',
  },
  sin: {
    language: 'self',
    fold: Math.sin,
    derivative: fn('cos'),
    ts: 'return Math.sin(x);',
    wgsl: 'return sin(x);',
  },
  cos: {
    language: 'self',
    fold: Math.cos,
    derivative: fn('sin', -1),
    ts: 'return Math.cos(x);',
    wgsl: 'return cos(x);',
  },
  tan: {
    language: 'self',
    fold: Math.tan,
    derivative: fn('tan_d1'),
    ts: 'return Math.tan(x);',
    wgsl: 'return tan(x);',
  },
  tan_d1: {
    fold: (x) => 1 / (Math.cos(x) * Math.cos(x)),
    derivative: fn('tan_d2'),
    ts: 'const c = Math.cos(x);\n  return 1 / (c * c);',
    wgsl: 'let c = cos(x);\n  return 1.0f / (c * c);',
    symbol: 'tan′',
  },
  tan_d2: {
    fold: (x) => (2 * Math.sin(x)) / Math.cos(x) ** 3,
    ts: 'const c = Math.cos(x);\n  return (2 * Math.sin(x)) / (c * c * c);',
    wgsl: 'let c = cos(x);\n  return (2.0f * sin(x)) / (c * c * c);',
    symbol: 'tan″',
  },
  atan: {
    language: 'self',
    fold: Math.atan,
    derivative: fn('atan_d1'),
    ts: 'return Math.atan(x);',
    wgsl: 'if (abs(x) < 0.05f) {\n    let x2 = x * x;\n    return x * (1.0f - x2 * (0.33333333f - x2 * (0.2f - x2 * 0.14285714f)));\n  }\n  return atan(x);',
  },
  atan_d1: {
    fold: (x) => 1 / (1 + x * x),
    derivative: fn('atan_d2'),
    ts: 'return 1 / (1 + x * x);',
    wgsl: 'return 1.0f / (1.0f + x * x);',
    symbol: 'atan′',
  },
  atan_d2: {
    fold: (x) => (-2 * x) / ((1 + x * x) * (1 + x * x)),
    ts: 'const u = 1 + x * x;\n  return (-2 * x) / (u * u);',
    wgsl: 'let u = 1.0f + x * x;\n  return (-2.0f * x) / (u * u);',
    symbol: 'atan″',
  },
  sinh: {
    language: 'self',
    fold: Math.sinh,
    derivative: fn('cosh'),
    ts: 'return Math.sinh(x);',
    wgsl: 'if (abs(x) < 0.1f) {\n    let x2 = x * x;\n    return x * (1.0f + x2 * (0.16666667f + x2 * (0.008333334f + x2 * 0.0001984127f)));\n  }\n  return 0.5f * (exp(x) - exp(-x));',
  },
  cosh: {
    language: 'self',
    fold: Math.cosh,
    derivative: fn('sinh'),
    ts: 'return Math.cosh(x);',
    wgsl: 'return 0.5f * (exp(x) + exp(-x));',
  },
  tanh: {
    language: 'self',
    fold: Math.tanh,
    derivative: fn('tanh_d1'),
    // From e = e^(−2|x|), the very expression of tanh′'s body: where both run at one argument (the
    // CPU's map kernels, cpu/families.ts) V8's optimizing compiler computes it once for both (35
    // tanh and tanh′: 0.88 µs with Math.tanh, half that with Math.exp, a quarter less again with
    // expNeg). (1 − e)/(1 + e) cancels near 0, where the Taylor series to x²¹ takes over (|x| < 0.3:
    // next term below 1e-17 relative).
    // Within 3 ULP of Math.tanh (3 million points).
    ts: [
      'const e = expNeg(-2 * Math.abs(x));',
      'if (Math.abs(x) < 0.3) {',
      '  const z = x * x;',
      `  return x === 0 ? x : x + x * z * (${TANH_SERIES});`,
      '}',
      'const y = (1 - e) / (1 + e);',
      'return x < 0 ? -y : y;',
    ].join('\n  '),
    tsHelpers: ['expNeg'],
    // From expm1(−2|x|): no overflow for large |x|, full accuracy near 0.
    wgsl: 'let e = f_expm1(-2.0f * abs(x));\n  return sign(x) * (-e / (2.0f + e));',
    wgslCalls: ['expm1'],
    shared: { d1: 'tanh_d1', d2: 'tanh_d2', second: (y, d, o) => o.mul(o.mul(o.num(-2), y), d) },
  },
  // sech² as 4e/(1 + e)² with e = e^(−2|x|): 1 − tanh² is 0 from |x| ≈ 19 on, and loses
  // relative accuracy long before.
  tanh_d1: {
    fold: sech2,
    derivative: fn('tanh_d2'),
    ts: 'const e = expNeg(-2 * Math.abs(x));\n  const u = 1 + e;\n  return (4 * e) / (u * u);',
    tsHelpers: ['expNeg'],
    wgsl: 'let e = exp(-2.0f * abs(x));\n  return 4.0f * e / ((1.0f + e) * (1.0f + e));',
    symbol: 'tanh′',
  },
  tanh_d2: {
    fold: (x) => -2 * Math.tanh(x) * sech2(x),
    ts: 'const e = expNeg(-2 * Math.abs(x));\n  const u = 1 + e;\n  return (-8 * e * Math.tanh(x)) / (u * u);',
    tsHelpers: ['expNeg'],
    wgsl: 'return -2.0f * f_tanh(x) * f_tanh_d1(x);',
    wgslCalls: ['tanh', 'tanh_d1'],
    symbol: 'tanh″',
  },
  // Written so that it never overflows for large |x|.
  sigmoid: {
    language: 'self',
    fold: sigmoid,
    derivative: fn('sigmoid_d1'),
    // On e^(−|x|), σ′'s own expression, for the same reason as tanh's.
    ts: 'const e = expNeg(-Math.abs(x));\n  return x >= 0 ? 1 / (1 + e) : e / (1 + e);',
    tsHelpers: ['expNeg'],
    wgsl: 'if (x >= 0.0f) { return 1.0f / (1.0f + exp(-x)); }\n  let e = exp(x);\n  return e / (1.0f + e);',
    symbol: 'σ',
    // 1 − 2y: absolute error ~1e-16 where it is near 0, relative error ~1e-16 in the tails.
    shared: { d1: 'sigmoid_d1', d2: 'sigmoid_d2', second: (y, d, o) => o.mul(d, o.sub(o.num(1), o.mul(o.num(2), y))) },
  },
  // σ(1 − σ) = e/(1 + e)² with e = e^(−|x|): accurate on both tails (σ(1 − σ) is 0 from x ≈ 37
  // on); 1 − 2σ = −sign(x)·(1 − e)/(1 + e), with 1 − e from expm1.
  sigmoid_d1: {
    fold: sigmoidD1,
    derivative: fn('sigmoid_d2'),
    ts: 'const e = expNeg(-Math.abs(x));\n  const u = 1 + e;\n  return e / (u * u);',
    tsHelpers: ['expNeg'],
    wgsl: 'let e = exp(-abs(x));\n  return e / ((1.0f + e) * (1.0f + e));',
    symbol: 'σ′',
  },
  sigmoid_d2: {
    fold: (x) => sigmoidD1(x) * Math.sign(-x) * (-Math.expm1(-Math.abs(x)) / (1 + Math.exp(-Math.abs(x)))),
    ts: 'const e = expNeg(-Math.abs(x));\n  const u = 1 + e;\n  const m = -Math.expm1(-Math.abs(x)) / u;\n  return (e / (u * u)) * (x >= 0 ? -m : m);',
    tsHelpers: ['expNeg'],
    wgsl: 'let e = exp(-abs(x));\n  return f_sigmoid_d1(x) * sign(x) * f_expm1(-abs(x)) / (1.0f + e);',
    wgslCalls: ['sigmoid_d1', 'expm1'],
    symbol: 'σ″',
  },
  softplus: {
    language: 'self',
    fold: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    derivative: fn('sigmoid'),
    ts: 'return Math.max(x, 0) + Math.log1p(expNeg(-Math.abs(x)));',
    tsHelpers: ['expNeg'],
    wgsl: 'return max(x, 0.0f) + f_log1p(exp(-abs(x)));',
    wgslCalls: ['log1p'],
  },
  relu: {
    language: 'self',
    fold: (x) => Math.max(x, 0),
    derivative: fn('step'), // relu'(0) = 0
    ts: 'return x > 0 ? x : 0;',
    wgsl: 'return max(x, 0.0f);',
  },
  step: {
    fold: (x) => (x > 0 ? 1 : 0),
    derivative: zero,
    ts: 'return x > 0 ? 1 : 0;',
    wgsl: 'return select(0.0f, 1.0f, x > 0.0f);',
  },
} as const satisfies Readonly<Record<string, ElementFunction>>;

/** A function of the language (`exp`, `sqrt`, …). */
export type LanguageFn = { [K in keyof typeof ELEMENT_FUNCTIONS]: (typeof ELEMENT_FUNCTIONS)[K] extends { readonly language: unknown } ? K : never }[keyof typeof ELEMENT_FUNCTIONS];
const TABLE: Readonly<Record<string, ElementFunction>> = ELEMENT_FUNCTIONS;

/** The language's element-wise functions, in the table's order. */
export const LANGUAGE_FUNCTIONS = Object.keys(TABLE).filter((k) => TABLE[k]!.language !== undefined) as readonly LanguageFn[];

/** Names of the functions emitters implement: pow and every entry that is a map function. */
export const MAP_FUNCTIONS: readonly string[] = ['pow', ...Object.keys(TABLE).filter((k) => typeof TABLE[k]!.language !== 'object')];

type MapEntry = Exclude<ElementFunction, { readonly language: { readonly pow: number } }>;

function mapEntry(name: string): MapEntry {
  const e = entry(name);
  if (typeof e.language === 'object') throw new Error(`internal: ${name} is a power`);
  return e as MapEntry;
}

function entry(name: string): ElementFunction {
  const e = Object.hasOwn(TABLE, name) ? TABLE[name] : undefined;
  if (!e) throw new Error(`internal: no element-wise function ${name}`);
  return e;
}

/** The functions with shared derivatives, each with its two derivatives' names and f″ of y and d. */
export const SHARED_DERIVATIVES: readonly (SharedDerivatives & { readonly fn: string })[] = Object.keys(TABLE).flatMap((k) => {
  const e = TABLE[k]!;
  return 'shared' in e && e.shared ? [{ fn: k, ...e.shared }] : [];
});

/** The map function a language function is (`sqrt` is pow 0.5). */
export function languageMap(name: string): MapFn {
  const l = entry(name).language;
  if (!l) throw new Error(`internal: ${name} is not a language function`);
  return l === 'self' ? { name, p: 0 } : { name: 'pow', p: l.pow };
}

/** A function applied to a known constant (compile-time folding). */
export function foldMap(f: MapFn, x: number): number {
  return f.name === 'pow' ? Math.pow(x, f.p) : entry(f.name).fold(x);
}

/** A language function applied to a known constant. */
export function foldLanguage(name: string, x: number): number {
  return entry(name).fold(x);
}

/** d/dx of f(x). Throws for a function without one (a third derivative, never needed). */
export function mapDerivative(f: MapFn): Derivative {
  if (f.name === 'pow') return powDerivative(f.p);
  const d = mapEntry(f.name).derivative;
  if (!d) throw new Error(`internal: no derivative for ${f.name}`);
  return d;
}

function powDerivative(p: number): Derivative {
  if (p === 0) return zero;
  if (p === 1) return { kind: 'const', value: 1 };
  if (p === 2) return { kind: 'arg', coef: 2 };
  return fn('pow', p, p - 1);
}

/** The body of f's TypeScript function of `x` (numText writes a number literal). */
export function tsBody(f: MapFn, numText: (v: number) => string): string {
  if (f.name !== 'pow') return code(f.name, 'ts');
  const p = f.p;
  if (p === 2) return 'return x * x;';
  if (p === 3) return 'return x * x * x;';
  if (p === -1) return 'return 1 / x;';
  if (p === -2) return 'return 1 / (x * x);';
  if (p === 0.5) return 'return Math.sqrt(x);';
  if (p === -0.5) return 'return 1 / Math.sqrt(x);';
  return `return Math.pow(x, ${numText(p)});`;
}

/** The module-level helpers f's TypeScript body calls (emitted once per module). */
export function tsHelpers(f: MapFn): readonly TsHelper[] {
  return f.name === 'pow' ? [] : (mapEntry(f.name).tsHelpers ?? []);
}

/** The body of f's WGSL function of `x` (float writes an f32 literal). */
export function wgslBody(f: MapFn, float: (v: number) => string): string {
  if (f.name !== 'pow') return code(f.name, 'wgsl');
  const p = f.p;
  // x^p: integer exponents by multiplication (any sign of x), others through WGSL's pow.
  if (p === 2) return 'return x * x;';
  if (p === 3) return 'return x * x * x;';
  if (p === -1) return 'return 1.0f / x;';
  if (p === -2) return 'return 1.0f / (x * x);';
  if (p === 0.5) return 'return sqrt(x);';
  if (p === -0.5) return 'return inverseSqrt(x);';
  if (Number.isInteger(p)) {
    const k = Math.abs(p);
    // |x|^k with the sign of x for odd k.
    const mag = `pow(abs(x), ${float(k)})`;
    const signed = k % 2 === 1 ? `select(${mag}, -${mag}, x < 0.0f)` : mag;
    return p > 0 ? `return ${signed};` : `return 1.0f / ${signed};`;
  }
  return `return pow(x, ${float(p)});`;
}

/** The functions f's WGSL code calls in turn (so that they are emitted too). */
export function wgslCalls(f: MapFn): MapFn[] {
  if (f.name === 'pow') return [];
  return (mapEntry(f.name).wgslCalls ?? []).map((name) => ({ name, p: 0 }));
}

/** How `hessgen inspect` writes f's name. */
export function fnSymbol(name: string): string {
  const e = Object.hasOwn(TABLE, name) ? TABLE[name]! : undefined;
  return (e && 'symbol' in e ? e.symbol : undefined) ?? name;
}

function code(name: string, target: 'ts' | 'wgsl'): string {
  return mapEntry(name)[target];
}
