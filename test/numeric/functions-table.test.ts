// The table of element-wise functions (compiler/2-ir/functions.ts) against itself and against
// textbook formulas: each entry's fold against an independent float64 reference, its derivative
// rule against central differences of the fold, its TypeScript body against the fold, its
// shared-derivative rule against the folds of f′ and f″, and the chains closed (every derivative
// and every WGSL callee is an entry; every language function has a second derivative).
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  ELEMENT_FUNCTIONS, LANGUAGE_FUNCTIONS, MAP_FUNCTIONS, SHARED_DERIVATIVES, TS_HELPERS, foldMap, languageMap, mapDerivative, tsBody, tsHelpers, wgslCalls, type Derivative,
} from '../../compiler/2-ir/functions.ts';
import type { MapFn } from '../../compiler/2-ir/index-form.ts';

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const sec = (x: number) => 1 / Math.cos(x);
const REF: Record<string, (x: number) => number> = {
  exp: Math.exp, log: Math.log, log0: Math.log, log1p: (x) => Math.log(1 + x), log1p_d1: (x) => 1 / (1 + x), log1p_d2: (x) => -((1 + x) ** -2),
  expm1: (x) => Math.exp(x) - 1, sqrt: (x) => x ** 0.5, square: (x) => x ** 2, cube: (x) => x ** 3, abs: (x) => (x < 0 ? -x : x),
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), sin: Math.sin, cos: Math.cos, tan: (x) => Math.sin(x) / Math.cos(x),
  tan_d1: (x) => sec(x) ** 2, tan_d2: (x) => 2 * sec(x) ** 2 * Math.tan(x), atan: Math.atan, atan_d1: (x) => 1 / (1 + x * x),
  atan_d2: (x) => (-2 * x) / (1 + x * x) ** 2, sinh: (x) => (Math.exp(x) - Math.exp(-x)) / 2, cosh: (x) => (Math.exp(x) + Math.exp(-x)) / 2,
  tanh: (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1), tanh_d1: (x) => 1 - Math.tanh(x) ** 2, tanh_d2: (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2),
  sigmoid: sig, sigmoid_d1: (x) => sig(x) * (1 - sig(x)), sigmoid_d2: (x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)),
  softplus: (x) => Math.log(1 + Math.exp(x)), relu: (x) => (x > 0 ? x : 0), step: (x) => (x > 0 ? 1 : 0),
};

/** Moderate points of a function's domain, away from kinks (abs, relu, sign at 0) and poles. */
function points(name: string): number[] {
  const grid = Array.from({ length: 41 }, (_, i) => -3.05 + 0.15 * i);
  if (name.startsWith('log1p')) return grid.filter((x) => x > -0.9);
  if (name === 'log' || name === 'log0' || name === 'sqrt') return grid.map((x) => x + 3.2);
  if (name.startsWith('tan') && !name.startsWith('tanh')) return grid.map((x) => x / 2.5);
  return grid;
}

const relClose = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function apply(d: Derivative, x: number): number {
  return d.kind === 'const' ? d.value : d.kind === 'arg' ? d.coef * x : d.coef * foldMap(d.fn, x);
}

const names = Object.keys(ELEMENT_FUNCTIONS);

describe('the table of element-wise functions', () => {
  it('folds every function as the textbook formula does', () => {
    expect(names.sort()).toEqual(Object.keys(REF).sort());
    for (const name of names) {
      const fold = (ELEMENT_FUNCTIONS as Record<string, { fold: (x: number) => number }>)[name]!.fold;
      for (const x of points(name)) expect(relClose(fold(x), REF[name]!(x), 1e-13), `${name}(${x})`).toBe(true);
    }
    expect(foldMap({ name: 'log0', p: 0 }, 0)).toBe(-1e15);
  });

  it("gives each map function's derivative as its fold's central difference", () => {
    const h = 1e-5;
    for (const name of MAP_FUNCTIONS) {
      if (name === 'pow') continue;
      const f: MapFn = { name, p: 0 };
      let d: Derivative;
      try {
        d = mapDerivative(f);
      } catch {
        continue; // a third derivative: never needed
      }
      for (const x of points(name)) {
        const fd = (foldMap(f, x + h) - foldMap(f, x - h)) / (2 * h);
        expect(relClose(apply(d, x), fd, 1e-6), `${name}'(${x})`).toBe(true);
      }
    }
    for (const p of [2, 3, -1, 0.5, -0.5, 1.5]) {
      for (const x of [0.5, 1.3, 2.7]) {
        const f: MapFn = { name: 'pow', p };
        const fd = (foldMap(f, x + h) - foldMap(f, x - h)) / (2 * h);
        expect(relClose(apply(mapDerivative(f), x), fd, 1e-6), `pow ${p} at ${x}`).toBe(true);
      }
    }
  });

  it('closes the chains: derivatives and WGSL callees are entries, language functions have f″', () => {
    const known = new Set(MAP_FUNCTIONS);
    for (const name of MAP_FUNCTIONS) {
      if (name === 'pow') continue;
      for (const c of wgslCalls({ name, p: 0 })) expect(known.has(c.name), `${name} calls ${c.name}`).toBe(true);
    }
    for (const name of LANGUAGE_FUNCTIONS) {
      const d1 = mapDerivative(languageMap(name));
      if (d1.kind !== 'fn') continue;
      expect(known.has(d1.fn.name), name).toBe(true);
      expect(() => mapDerivative(d1.fn), `${name}″`).not.toThrow();
    }
  });

  it('writes TypeScript bodies that compute the fold', () => {
    const numText = (v: number) => (v < 0 ? `(${v})` : String(v));
    const fns: MapFn[] = [...MAP_FUNCTIONS.filter((n) => n !== 'pow').map((name) => ({ name, p: 0 })), ...[2, 3, -1, -2, 0.5, -0.5, 1.5, -2.5].map((p) => ({ name: 'pow', p }))];
    for (const f of fns) {
      // The body with the module-level helpers it calls, as a generated module has them.
      const helpers = tsHelpers(f).map((h) => transformSync(TS_HELPERS[h](), { loader: 'ts' }).code).join('\n');
      const body = new Function(`${helpers}\nreturn (x) => {\n${tsBody(f, numText)}\n};`)() as (x: number) => number;
      const xs = f.name === 'pow' ? [0.5, 1.3, 2.7] : points(f.name);
      for (const x of xs) expect(relClose(body(x), foldMap(f, x), 1e-14), `${f.name} ${f.p} at ${x}`).toBe(true);
    }
  });

  it("derives f′ and f″ of the shared families from y = f(x) and d = f′(x)", () => {
    expect(SHARED_DERIVATIVES.map((f) => f.fn).sort()).toEqual(['sigmoid', 'tanh']);
    const ops = { num: (v: number) => v, mul: (a: number, b: number) => a * b, sub: (a: number, b: number) => a - b };
    for (const f of SHARED_DERIVATIVES) {
      expect(mapDerivative({ name: f.fn, p: 0 })).toMatchObject({ kind: 'fn', coef: 1, fn: { name: f.d1 } });
      expect(mapDerivative({ name: f.d1, p: 0 })).toMatchObject({ kind: 'fn', coef: 1, fn: { name: f.d2 } });
      for (const x of points(f.fn)) {
        const y = foldMap({ name: f.fn, p: 0 }, x);
        const d = foldMap({ name: f.d1, p: 0 }, x);
        expect(relClose(f.second(y, d, ops), REF[f.d2]!(x), 1e-12), `${f.d2}(${x})`).toBe(true);
      }
    }
  });
});
