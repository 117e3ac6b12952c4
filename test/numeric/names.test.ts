// User names that collide with JavaScript (reserved words, Object.prototype members, globals),
// with math.js operators, and with names a code generator likes to use itself. The model must
// give exactly what the same model with plain names gives (that one is checked against the
// oracle and finite differences like every other model).
import { describe, it, expect } from 'vitest';
import { compileModel } from '../helpers/load.ts';
import { oracleValue } from '../oracle/mathjs.ts';
import { assertClose, assertScalarClose } from '../helpers/numeric.ts';

// name in the tricky model -> name in the plain model
const RENAMES: [string, string][] = [
  ['constructor', 'dX'],
  ['toString', 'dy'],
  ['__proto__', 'pW'],
  ['var', 'pb'],
  ['new', 'pv'],
  ['arguments', 'hid'],
  ['eval', 'out1'],
  ['Math', 'fn1'],
  ['NaN', 'arg1'],
  ['in', 'mid'],
  ['mod', 'sq'],
  ['theta', 'tt'],
  ['state', 'st'],
];

const TRICKY = `dim N
data constructor[N, 2]
data toString[N]
param __proto__[2, 3]
param var[3]
param new[3]
param theta
state = theta * 2
Math(NaN) = NaN .* NaN
arguments = tanh(constructor * __proto__ + var)
in = arguments * new + state
eval = Math(in - toString)
mod = sum(eval)
minimize mod / N + theta ^ 2
`;

function rename(src: string): string {
  let out = src;
  for (const [from, to] of RENAMES) out = out.replace(new RegExp(`(?<![A-Za-z0-9_])${from.replace(/\$/g, '\\$')}(?![A-Za-z0-9_])`, 'g'), to);
  return out;
}

describe('names that collide with JavaScript, math.js and generated code', () => {
  it('give the same results as the same model with plain names', async () => {
    const plainSrc = rename(TRICKY);
    expect(plainSrc).not.toMatch(/constructor|__proto__|\bvar\b|\bnew\b/);
    const tricky = (await compileModel(TRICKY, 'names.hess')).module;
    const plain = (await compileModel(plainSrc, 'plain_names.hess')).module;
    expect(tricky.model.params.map((p) => p.name)).toEqual(['__proto__', 'var', 'new', 'theta']);
    expect(tricky.model.data.map((d) => d.name)).toEqual(['constructor', 'toString']);

    const theta = Float64Array.from({ length: tricky.model.n }, (_, i) => Math.cos(i + 0.5));
    const X = Float64Array.from({ length: 8 }, (_, i) => Math.sin(i * 1.3));
    const y = Float64Array.of(0.1, -0.4, 0.7, 0.2);
    const trickyData = Object.fromEntries([['constructor', X], ['toString', y]]) as Record<string, Float64Array>;
    const plainData = { dX: X, dy: y };

    const a = tricky.evaluate(theta, trickyData);
    const b = plain.evaluate(theta, plainData);
    assertScalarClose('plain model vs oracle', b.value, oracleValue(plainSrc, theta, plainData), 1e-12);
    assertScalarClose('value', a.value, b.value, 1e-14);
    assertClose('gradient', a.gradient, b.gradient, 1e-14);
    assertClose('Hessian', a.hessian, b.hessian, 1e-14, tricky.model.n);
  });
});
