// Element-wise functions and their derivatives, as the differentiator needs them: the
// derivative of a function is `coef · g(x)` for another function g of the same argument, a
// constant, or the argument itself (so x.^2 differentiates to 2·x with no new function). Each
// function's rule is in its entry of the one table, `2-ir/functions.ts`.

import { foldMap, mapDerivative, type Derivative } from '../2-ir/functions.ts';
import type { MapFn } from '../2-ir/index-form.ts';

export { LOG0_FOLD, MAP_FUNCTIONS, type Derivative } from '../2-ir/functions.ts';

/** d/dx of f(x). Throws for a third derivative, which a Hessian never needs. */
export function derivative(f: MapFn): Derivative {
  return mapDerivative(f);
}

/** A function applied to a known constant (compile-time folding). */
export function evaluateMap(f: MapFn, x: number): number {
  return foldMap(f, x);
}
