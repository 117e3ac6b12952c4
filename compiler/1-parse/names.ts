// The reserved words of the language and the built-in functions, with their argument counts.
import { UNARY_FUNCTIONS, type UnaryFn } from '../2-ir/graph.ts';

export const KEYWORDS = ['dim', 'data', 'param', 'const', 'minimize'] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** Element-wise functions of one argument (any rank). */
export const ELEMENTWISE: readonly string[] = UNARY_FUNCTIONS;

/** Every built-in function with the argument counts it accepts. */
export const BUILTIN_ARITY: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ...ELEMENTWISE.map((name) => [name, [1]] as [string, number[]]),
  ['transpose', [1]],
  ['sum', [1, 2]],
  ['mean', [1, 2]],
  ['logsumexp', [1, 2]],
  ['dot', [2]],
]);

export const BUILTIN_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['pi', Math.PI],
  ['e', Math.E],
]);

export function isKeyword(name: string): name is Keyword {
  return (KEYWORDS as readonly string[]).includes(name);
}

export function isBuiltinFunction(name: string): boolean {
  return BUILTIN_ARITY.has(name);
}

export function isElementwise(name: string): name is Exclude<UnaryFn, 'neg'> {
  return ELEMENTWISE.includes(name);
}

/** Why `name` cannot be used as a user name, or null when it can. */
export function reservedReason(name: string): string | null {
  if (isKeyword(name)) return `\`${name}\` is a keyword`;
  if (isBuiltinFunction(name)) return `\`${name}\` is a built-in function`;
  if (BUILTIN_CONSTANTS.has(name)) return `\`${name}\` is a built-in constant`;
  if (name === 'end') return '`end` is reserved for indexing (the last index)';
  return null;
}

/** `1 argument`, `1 or 2 arguments`, `2 arguments`. */
export function arityText(counts: readonly number[]): string {
  const last = counts[counts.length - 1] ?? 0;
  const head = counts.slice(0, -1);
  const numbers = head.length ? `${head.join(', ')} or ${last}` : `${last}`;
  return `${numbers} argument${last === 1 ? '' : 's'}`;
}

/**
 * Names that math.js's parser treats as operators or literals (`a mod b`, `true`). In this
 * language they are ordinary names, so they are renamed before math.js sees them.
 */
export const MATHJS_WORDS: readonly string[] = [
  'mod', 'to', 'in', 'and', 'or', 'xor', 'not', 'true', 'false', 'null', 'undefined', 'NaN', 'Infinity',
];

/** Hints for functions users often expect from math.js or other languages. */
export const FUNCTION_HINTS: ReadonlyMap<string, string> = new Map([
  ['ln', 'use `log` (the natural logarithm)'],
  ['pow', 'use `.^` (element-wise) or `^` (scalars)'],
  ['max', 'only `relu(x)` (= max(x, 0)) is available'],
  ['min', 'only `relu` (max(x, 0)) is available; min(x, 0) is `-relu(-x)`'],
  ['logistic', 'use `sigmoid`'],
  ['expit', 'use `sigmoid`'],
  ['softmax', 'there is no softmax; a cross-entropy over the rows of Z is `logsumexp(Z, 2) - sum(Y .* Z, 2)`'],
  ['norm', 'use `sqrt(sum(x .^ 2))`'],
  ['prod', 'products of elements are not available'],
  ['multiply', 'use `*` or `.*`'],
  ['dotMultiply', 'use `.*`'],
  ['ctranspose', "use `A'` or `transpose(A)`"],
  ['size', 'sizes are fixed at compile time; use the `dim` names'],
]);
