import { describe, expect, it } from 'vitest';
import { culprit, errors, ok, oneError, valueOf } from './helpers.ts';

describe('functions', () => {
  it('are inlined at each call with the arguments bound', () => {
    const m = ok('param a[2]\nparam b[3]\nsq(u) = sum(u .^ 2)\nminimize sq(a) + sq(b)');
    const obj = m.objective;
    expect(obj).toMatchObject({ kind: 'binary', op: 'add', a: { kind: 'sum', arg: { kind: 'binary', op: 'pow', a: { name: 'a' } } }, b: { kind: 'sum', arg: { a: { name: 'b' } } } });
    expect(valueOf('param a[2]\nparam b[3]\nsq(u) = sum(u .^ 2)\nminimize sq(a) + sq(b)', [1, 2, 1, 1, 1])).toBe(8);
  });

  it('may use names defined above, call other functions, and have several arguments', () => {
    const src = `param W[2, 2]
param b[2]
layer(x) = tanh(W * x + b)
twice(x) = layer(layer(x))
mix(p, q, r) = p .* q - r
param v[2]
minimize sum(mix(twice(v), v, b))`;
    const m = ok(src);
    expect(m.params.map((p) => p.name)).toEqual(['W', 'b', 'v']);
    const theta = [0.5, -0.25, 0.125, 1, 0.1, -0.2, 0.3, 0.7];
    const tanh = Math.tanh;
    const layer = (x: number[]): number[] => [tanh(0.5 * x[0]! - 0.25 * x[1]! + 0.1), tanh(0.125 * x[0]! + 1 * x[1]! - 0.2)];
    const t = layer(layer([0.3, 0.7]));
    expect(valueOf(src, theta)).toBeCloseTo(t[0]! * 0.3 - 0.1 + t[1]! * 0.7 + 0.2, 12);
  });

  it('arguments shadow global names', () => {
    expect(valueOf('param x\nparam y\nf(x) = 2 * x\nminimize f(y)', [100, 3])).toBe(6);
  });

  it('check shapes per call, reporting in the body with the call site', () => {
    const d = oneError('param W[3, 3]\nf(x) = W * x\nparam v[3]\nparam u[2]\na = f(v)\nb = f(u)\nminimize sum(a) + sum(b)');
    expect(d.line).toBe(2);
    expect(culprit(d)).toBe('*');
    expect(d.message).toContain('`W` is [3, 3] and `x` is [2]');
    expect(d.message).toContain('in `f` called at line 6, column 5');
  });

  it('report body errors that do not depend on the arguments once, at the definition', () => {
    const ds = errors('param a[2]\nparam b[3]\nf(x) = x + (a + b)\nminimize sum(f(a)) + sum(f(b))');
    expect(ds).toHaveLength(1);
    expect(ds[0]!.line).toBe(3);
    expect(ds[0]!.message).not.toContain('called at');
  });

  it('reject the wrong number of arguments', () => {
    const d = oneError('param x\nf(a, b) = a * b\nminimize f(x)');
    expect(d.message).toBe('`f` takes 2 arguments (a, b), but 1 was given');
    expect(culprit(d)).toBe('f(x)');
    expect(oneError('param x\nf(a) = a\nminimize f(x, x, x)').message).toContain('takes 1 argument (a), but 3 were given');
  });

  it('reject recursion', () => {
    const d = oneError('f(a) = a + f(a - 1)\nminimize 1');
    expect(d.message).toBe('`f` cannot call itself: recursion is not allowed');
    expect([d.line, d.column, d.length]).toEqual([1, 12, 1]);
  });

  it('reject names defined after the function, even when defined before the call', () => {
    const d = oneError('f(x) = x * W\nparam W[2, 2]\nparam v[2]\nminimize sum(f(v))');
    expect(d.message).toContain('`W` is used before its definition on line 2');
    expect(d.line).toBe(1);
  });

  it('reject calls before the definition', () => {
    expect(oneError('param x\ny = g(x)\ng(u) = u\nminimize y').message).toContain('`g` is used before its definition on line 3');
  });

  it('reject bad headers and misuse', () => {
    expect(oneError('f(a, a) = a\nminimize 1').message).toContain('the argument `a` appears twice');
    expect(oneError('f(2) = 1\nminimize 1').message).toContain('arguments of a function definition must be names');
    expect(oneError('param x\nf(a) = a\nminimize f + x').message).toContain('`f` is a function: call it with its arguments, like `f(a)`');
    expect(oneError('f(a) = a(2)\nminimize 1').message).toContain('`a` is an argument (a value), not a function');
    expect(oneError('f(a) = unknown1 + a\nminimize 1').message).toBe('unknown name `unknown1`');
  });
});
