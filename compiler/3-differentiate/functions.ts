// Element-wise functions and their derivatives, as the differentiator needs them: the
// derivative of a function is `coef · g(x)` for another function g of the same argument, a
// constant, or the argument itself (so x.^2 differentiates to 2·x with no new function).
// Emitters give each function name its code (6-emit), nothing else here is target-specific.

import { applyUnary, type UnaryFn } from '../2-ir/graph.ts';
import type { MapFn } from '../2-ir/index-form.ts';

export type Derivative =
  | { readonly kind: 'fn'; readonly coef: number; readonly fn: MapFn }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'arg'; readonly coef: number }; // coef · x

const fn = (name: string, coef = 1, p = 0): Derivative => ({ kind: 'fn', coef, fn: { name, p } });
const zero: Derivative = { kind: 'const', value: 0 };

/** Names of the functions emitters must implement (pow takes its exponent p). */
export const MAP_FUNCTIONS = [
  'pow', 'exp', 'log', 'log0', 'log1p', 'log1p_d1', 'log1p_d2', 'expm1', 'abs', 'sign', 'sin', 'cos', 'tan', 'tan_d1',
  'tan_d2', 'atan', 'atan_d1', 'atan_d2', 'sinh', 'cosh', 'tanh', 'tanh_d1', 'tanh_d2', 'sigmoid',
  'sigmoid_d1', 'sigmoid_d2', 'softplus', 'relu', 'step',
] as const;

const DERIVATIVES: Record<string, Derivative> = {
  exp: fn('exp'),
  log: fn('pow', 1, -1),
  log0: fn('pow', 1, -1),
  log1p: fn('log1p_d1'),
  log1p_d1: fn('log1p_d2'),
  expm1: fn('exp'),
  abs: fn('sign'), // abs'(0) = 0, as the spec says
  sign: zero,
  sin: fn('cos'),
  cos: fn('sin', -1),
  tan: fn('tan_d1'),
  tan_d1: fn('tan_d2'),
  atan: fn('atan_d1'),
  atan_d1: fn('atan_d2'),
  sinh: fn('cosh'),
  cosh: fn('sinh'),
  tanh: fn('tanh_d1'),
  tanh_d1: fn('tanh_d2'),
  sigmoid: fn('sigmoid_d1'),
  sigmoid_d1: fn('sigmoid_d2'),
  softplus: fn('sigmoid'),
  relu: fn('step'), // relu'(0) = 0
  step: zero,
};

/** d/dx of f(x). Throws for a third derivative, which a Hessian never needs. */
export function derivative(f: MapFn): Derivative {
  if (f.name === 'pow') return powDerivative(f.p);
  const d = DERIVATIVES[f.name];
  if (!d) throw new Error(`internal: no derivative for ${f.name}`);
  return d;
}

/**
 * What `log0(0)` folds to: a finite stand-in for −∞ that both targets represent, whose square
 * (second derivatives in the exponent) stays finite in float32, and for which exp(p·LOG0) is 0
 * for every p > 1e-13.
 */
export const LOG0_FOLD = -1e15;

/** A function applied to a known constant (compile-time folding). */
export function evaluateMap(f: MapFn, x: number): number {
  if (f.name === 'pow') return Math.pow(x, f.p);
  if (f.name === 'log0') return x === 0 ? LOG0_FOLD : Math.log(x);
  return applyUnary(f.name as UnaryFn, x);
}

function powDerivative(p: number): Derivative {
  if (p === 0) return zero;
  if (p === 1) return { kind: 'const', value: 1 };
  if (p === 2) return { kind: 'arg', coef: 2 };
  return fn('pow', p, p - 1);
}
