import { all, create, type MathCollection } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../compiler/1-parse/diagnostics.ts';
import { culprit, errors, ok, oneError, valueOf } from './helpers.ts';

const X3 = [0.5, -1.25, 2];

// The spec's oracle: math.js with the scalar functions applied element-wise.
const math = create(all);
const scalarFns: Record<string, (v: number) => number> = {
  exp: Math.exp, log1p: Math.log1p, abs: Math.abs, sqrt: Math.sqrt, tanh: Math.tanh, cos: Math.cos, sinh: Math.sinh, atan: Math.atan,
};
math.import(
  Object.fromEntries(
    Object.entries(scalarFns).map(([name, f]) => [name, (x: number | MathCollection) => (typeof x === 'number' ? f(x) : math.map(x, (v: number) => f(v)))]),
  ),
  { override: true },
);
const A23 = [1, -2, 0.5, 3, 0.25, -1];

describe('operators build the right graph', () => {
  it('maps each operator to its node', () => {
    const m = ok(`param A[2, 3]
param x[3]
param s
p1 = A * x
p2 = s * A
p3 = A .* A
p4 = A ./ 2
p5 = A .^ 2
p6 = s ^ 2
p7 = -A
p8 = +A
p9 = A'
p10 = A / s
minimize sum(p1) + sum(p2) + sum(p3) + sum(p4) + sum(p5) + p6 + sum(p7) + sum(p8) + sum(p9) + sum(p10)`);
    const found = new Map<string, unknown>();
    const seen = new Set<number>();
    const walk = (n: typeof m.objective): void => {
      if (seen.has(n.id)) return;
      seen.add(n.id);
      const key = n.kind === 'binary' ? `binary:${n.op}` : n.kind === 'unary' ? `unary:${n.fn}` : n.kind;
      found.set(key, n.shape);
      for (const c of [(n as { a?: typeof n }).a, (n as { b?: typeof n }).b, (n as { arg?: typeof n }).arg]) if (c) walk(c);
    };
    walk(m.objective);
    expect(found.get('matmul')).toEqual([2]);
    expect(found.get('binary:mul')).toBeDefined();
    expect(found.get('binary:div')).toBeDefined();
    expect(found.get('binary:pow')).toBeDefined();
    expect(found.get('unary:neg')).toEqual([2, 3]);
    expect(found.get('transpose')).toEqual([3, 2]);
  });

  it('unary plus is the same node, transpose of a vector is the vector', () => {
    const m = ok("param x[3]\nminimize sum(+x')");
    expect(m.objective).toMatchObject({ kind: 'sum', arg: { kind: 'param', name: 'x' } });
  });

  it('products follow the matrix-product shape rules', () => {
    const shape = (src: string): unknown => ok(src).objective.shape;
    expect(shape('param A[2, 3]\nparam B[3, 4]\nh = A * B\nminimize sum(h)')).toEqual([]);
    expect(ok('param A[2, 3]\nparam B[3, 4]\nh = A * B\nminimize sum(h)').objective).toMatchObject({ arg: { kind: 'matmul', shape: [2, 4] } });
    expect(ok('param v[2]\nparam B[2, 4]\nh = v * B\nminimize sum(h)').objective).toMatchObject({ arg: { kind: 'matmul', shape: [4] } });
    expect(ok('param v[2]\nminimize v * v').objective).toMatchObject({ kind: 'matmul', shape: [] });
    expect(ok('dim N\ndata X[N, 3]\nparam W[3, 8]\nh = X * W\nminimize sum(h)').objective).toMatchObject({ arg: { kind: 'matmul', shape: ['N', 8] } });
  });

  it('broadcasts element-wise operations from the last axis', () => {
    expect(ok('dim N\ndata X[N, 8]\nparam b[8]\nh = X + b\nminimize sum(h)').objective).toMatchObject({ arg: { kind: 'binary', op: 'add', shape: ['N', 8] } });
    expect(ok('param A[2, 1]\nparam B[1, 3]\nminimize sum(A .* B)').objective).toMatchObject({ arg: { shape: [2, 3] } });
    expect(ok('dim N\ndata y[N]\ndata z[N]\nminimize sum(y - z)').objective).toMatchObject({ arg: { shape: ['N'] } });
  });

  it('element-wise functions keep the shape', () => {
    const fns = ['exp', 'log', 'log1p', 'expm1', 'sqrt', 'square', 'cube', 'abs', 'sin', 'cos', 'tan', 'atan', 'sinh', 'cosh', 'tanh', 'sigmoid', 'softplus', 'relu'];
    for (const f of fns) {
      const m = ok(`param A[2, 3]\nminimize sum(${f}(A))`);
      expect(m.objective, f).toMatchObject({ kind: 'sum', arg: { kind: 'unary', fn: f, shape: [2, 3] } });
    }
  });

  it('reductions: axes, mean counts, logsumexp, dot', () => {
    expect(ok('param A[2, 3]\nminimize sum(sum(A, 1))').objective).toMatchObject({ arg: { kind: 'sum', axis: 0, shape: [3] } });
    expect(ok('param A[2, 3]\nminimize sum(sum(A, 2))').objective).toMatchObject({ arg: { kind: 'sum', axis: 1, shape: [2] } });
    expect(ok('param A[2, 3]\nminimize sum(logsumexp(A, 2))').objective).toMatchObject({ arg: { kind: 'logsumexp', axis: 1, shape: [2] } });
    expect(ok('param A[2, 3]\nminimize logsumexp(A)').objective).toMatchObject({ kind: 'logsumexp', axis: null, shape: [] });
    expect(ok('param a[3]\nparam b[3]\nminimize dot(a, b)').objective).toMatchObject({ kind: 'matmul', shape: [] });
    expect(ok('param A[2, 3]\nminimize mean(A)').objective).toMatchObject({ kind: 'binary', op: 'div', b: { kind: 'const', value: 6 } });
    expect(ok('dim N\ndata X[N, 3]\nminimize mean(X)').objective).toMatchObject({
      kind: 'binary', op: 'div', b: { kind: 'binary', op: 'mul', a: { kind: 'const', value: 3 }, b: { kind: 'dim', name: 'N' } },
    });
    expect(ok('dim N\ndata X[N, 3]\nminimize sum(mean(X, 1))').objective).toMatchObject({ arg: { kind: 'binary', op: 'div', b: { kind: 'dim', name: 'N' } } });
    expect(ok('param x[1]\nminimize mean(x)').objective).toMatchObject({ kind: 'sum' }); // divide by 1 is left out
  });

  it('builds each repeated subexpression once', () => {
    const m = ok('param x[3]\na = exp(x)\nb = exp(x)\nminimize sum(a + b)');
    const obj = m.objective;
    if (obj.kind !== 'sum' || obj.arg.kind !== 'binary') throw new Error('shape of graph');
    expect(obj.arg.a).toBe(obj.arg.b);
  });
});

describe('values agree with math.js evaluate (the spec oracle)', () => {
  // expressions math.js evaluates the same way (its functions, one-based indexing)
  const exprs = [
    'sum(x .^ 2) - 2 ^ 3 ^ 2 / 100',
    '-x[1] ^ 2 + (-x[1]) ^ 2',
    'sum(A * x) + sum(x\' * A\')',
    'sum(A .* A ./ 3 - A) * 2',
    'sum(sum(A, 1)) + sum(sum(A, 2) .^ 2)',
    'mean(A) + mean(x) + sum(mean(A, 1)) + sum(mean(A, 2))',
    'sum(exp(x) + log1p(abs(x)) + sqrt(abs(A[1, :])))',
    'sum(A[2, 2:end]) + sum(A[:, 1]) + A[end, end] + x[end - 1]',
    'dot(x, x) + x * x + sum(transpose(A))',
    'sum(tanh(A) .* cos(A) + sinh(A) - atan(A))',
    'pi * x[2] + e',
    's * 2 + s / 4 - s ^ 2',
    '2 .^ x[1] + sum(x ./ (1 + x .^ 2))',
  ];
  for (const expr of exprs) {
    it(expr, () => {
      const src = `param A[2, 3]\nparam x[3]\nparam s\nminimize ${expr}`;
      const mine = valueOf(src, [...A23, ...X3, 0.75]);
      const scope = { A: [[1, -2, 0.5], [3, 0.25, -1]], x: X3, s: 0.75 };
      const theirs = math.evaluate(expr, scope) as number;
      expect(mine).toBeCloseTo(theirs, 12);
    });
  }
});

describe('shape errors', () => {
  it('element-wise mismatch shows both shapes and points at the operator', () => {
    const d = oneError('dim N\ndata X[N, 3]\nparam W1[3, 8]\nparam b[3]\nh = X * W1 + b\nminimize sum(h)');
    expect([d.line, d.column, d.length]).toEqual([5, 12, 1]);
    expect(d.message).toContain('`X * W1` is [N, 8]');
    expect(d.message).toContain('`b` is [3]');
    expect(formatDiagnostic(d)).toBe(
      `m.hess:5:12: error: ${d.message}\n5 | h = X * W1 + b\n               ^`,
    );
  });

  it('[N] + [M] is a mismatch, [N] + [N] is not', () => {
    const d = oneError('dim N\ndim M\ndata a[N]\ndata b[M]\nminimize sum(a + b)');
    expect(d.message).toContain('[N]');
    expect(d.message).toContain('[M]');
    ok('dim N\ndata a[N]\ndata b[N]\nminimize sum(a + b)');
  });

  it('matrix product mismatch shows both shapes and suggests .* when it would fit', () => {
    const d = oneError('param A[2, 3]\nparam B[2, 3]\nminimize sum(A * B)');
    expect(d.message).toContain('`A` is [2, 3] and `B` is [2, 3]');
    expect(d.message).toContain('inner sizes must match (3 vs 2)');
    expect(d.message).toContain('use `.*`');
    expect(culprit(d)).toBe('*');
    const d2 = oneError('dim N\ndata X[N, 2]\nparam w[3]\nminimize sum(X * w)');
    expect(d2.message).toContain('[N, 2]');
    expect(d2.message).toContain('[3]');
    expect(d2.message).not.toContain('.*');
  });

  it('^ on a tensor suggests .^', () => {
    const d = oneError('param x[3]\nminimize sum(x ^ 2)');
    expect([d.line, d.column, d.length]).toEqual([2, 16, 1]);
    expect(d.message).toContain('use `.^` for element-wise power');
    expect(d.message).toContain('`x` is [3]');
    expect(oneError('param x[3]\nminimize sum(2 ^ x)').message).toContain('use `.^`');
    ok('param x[3]\nminimize sum(x .^ 2) + x[1] ^ 2');
  });

  it('/ needs a scalar on the right', () => {
    const d = oneError('param x[3]\nminimize sum(1 / x)');
    expect(d.message).toContain('`/` needs a scalar on the right');
    expect(d.message).toContain('use `./`');
    ok('param x[3]\nminimize sum(x / 2) + sum(1 ./ x)');
  });

  it('reductions check their axis', () => {
    expect(oneError('param x[3]\nminimize sum(x, 2)').message).toContain('`x` is a vector [3], which has only axis 1');
    expect(oneError('param s\nminimize sum(s, 1)').message).toContain('is a scalar');
    const d = oneError('param A[2, 2]\nminimize sum(sum(A, 3))');
    expect(d.message).toContain('must be the number 1');
    expect(culprit(d)).toBe('3');
    expect(oneError('param A[2, 2]\nconst k = 1\nminimize sum(sum(A, k))').message).toContain('must be the number 1');
    ok('param x[3]\nminimize sum(x, 1)');
  });

  it('dot needs two vectors of the same length', () => {
    expect(oneError('param a[3]\nparam b[4]\nminimize dot(a, b)').message).toContain('`a` is [3] and `b` is [4]');
    expect(oneError('param a[3]\nparam B[3, 3]\nminimize dot(a, B)').message).toContain('needs two vectors');
  });
});

describe('forms outside the language', () => {
  const reject = (expr: string, re: RegExp, underlined?: string): void => {
    const d = oneError(`param x\nparam y\nminimize ${expr}`);
    expect(d.message, expr).toMatch(re);
    expect(d.line).toBe(3);
    if (underlined !== undefined) expect(culprit(d), expr).toBe(underlined);
  };

  it('implicit multiplication', () => {
    reject('2x', /implicit multiplication is not allowed; write `2 \* x`/, '2x');
    reject('2 (y + 1)', /implicit multiplication/, '2 (y + 1)');
    reject('(x)(y)', /implicit multiplication/, '(x)(y)');
    reject('3 x y', /implicit multiplication/);
    reject('2 cm', /implicit multiplication/);
    reject('1.5e', /implicit multiplication/);
  });
  it('%, mod', () => {
    reject('x % 2', /`%` \(modulo\) is not supported/, '%');
    reject('50%', /`%` is not supported/, '%');
  });
  it('comparisons, logic, conditionals', () => {
    reject('x < y', /comparisons/, '<');
    reject('x == y', /comparisons/, '==');
    reject('x < y < 2', /comparisons/);
    reject('x ? x : y', /conditional expressions/, '?');
    const ds = errors('param x\nminimize x > 0 ? x : 1');
    expect(ds.map((d) => d.message)).toEqual([expect.stringContaining('comparisons'), expect.stringContaining('conditional expressions')]);
    reject('x & y', /bitwise/, '&');
    reject('x!', /factorial/, '!');
  });
  it('strings, matrix literals, objects, assignments, property access', () => {
    reject('"abc"', /strings are not supported/, '"abc"');
    reject("'abc'", /strings are not supported/, "'abc'");
    reject('sum([1, 2])', /matrix literals/, '[1, 2]');
    reject('sum([1, 2; 3, 4])', /matrix literals/);
    reject('{a: 1}', /objects/);
    reject('(y = 3)', /assignments are not allowed inside an expression/, '=');
    reject('x.y', /property access/);
    reject('1:3', /a range .* is only allowed inside an index/);
  });
  it('characters and numbers outside the language', () => {
    reject('x @ y', /unexpected character `@`/, '@');
    reject('x + α', /names use only A-Z/, 'α');
    reject('0x1F + x', /only decimal numbers/, '0x1F');
    reject('0b101 + x', /only decimal numbers/);
    reject('x + 1e+', /ends with `\+`|the exponent needs digits/);
    reject('x; y', /`;` is not allowed/);
  });
  it('unknown functions and wrong argument counts', () => {
    reject('foo(x)', /unknown function `foo`/, 'foo');
    reject('tahn(x)', /unknown function `tahn`; did you mean `tanh`\?/, 'tahn');
    reject('ln(x)', /use `log`/);
    reject('max(x, 0)', /relu/);
    reject('exp(x, y)', /`exp` takes 1 argument, but 2 were given/, 'exp(x, y)');
    reject('sum()', /`sum` takes 1 or 2 arguments, but 0 were given/);
    reject('dot(x)', /`dot` takes 2 arguments/);
    reject('x(2)', /`x` is a param, not a function/, 'x');
    reject('exp + x', /`exp` is a function: call it/);
    reject('end + x', /`end` can only be used inside an index/);
  });
  it('syntax errors point at the culprit', () => {
    reject('x +* y', /expected a value|unexpected/);
    reject('x y 1 2', /implicit multiplication|unexpected/);
    reject('(x + y', /`\(` is never closed/, '(');
    reject('x + y)', /unmatched `\)`/, ')');
    reject('sum(x]', /`\]` does not match the `\(`/, ']');
    reject('sum(x,)', /expected a value before `\)`/, ')');
  });
});

describe('did you mean', () => {
  it('suggests the closest name in scope', () => {
    const d = oneError('param W1[3, 8]\nparam b1[8]\nminimize sum(w1)');
    expect(d.message).toBe('unknown name `w1`; did you mean `W1`?');
    expect(culprit(d)).toBe('w1');
    expect(oneError('param alpha\nminimize aplha').message).toContain('did you mean `alpha`?');
    expect(oneError('param x\nminimize x + pii').message).toContain('did you mean `pi`?');
    expect(oneError('param x\nminimize x + zzz').message).toBe('unknown name `zzz`');
  });

  it('suggests function arguments inside a function body', () => {
    expect(oneError('f(alpha) = 2 * alpah\nminimize 1').message).toContain('did you mean `alpha`?');
  });

  it('suggests user functions', () => {
    expect(oneError('param x\nsquash(u) = tanh(u)\nminimize squish(x)').message).toContain('did you mean `squash`?');
  });
});

describe('several errors', () => {
  it('reports every error of a file, in order, without cascades', () => {
    const ds = errors(`dim N
data X[N, 3]
param W[3, 4]
param b[5]
h = X * W + b          # 1: shape mismatch
k = h .* zz            # 2: unknown name
r = sum(k) + sum(h)    # nothing new: k is unknown, h is unknown
param v[N]             # 3: symbolic dim in a param
q = v + 1              # nothing new: v is unknown
s = x ^ 2              # 4: unknown name
minimize sum(r) +      # continues
   sum(X ^ 2)          # 5: ^ on a tensor
`);
    expect(ds.map((d) => d.line)).toEqual([5, 6, 8, 10, 12]);
    expect(ds[0]!.message).toContain('shape mismatch');
    expect(ds[1]!.message).toContain('unknown name `zz`');
    expect(ds[2]!.message).toContain('param must be known at compile time');
    expect(ds[3]!.message).toContain('unknown name `x`; did you mean `X`?');
    expect(ds[4]!.message).toContain('use `.^`');
    for (const d of ds) expect(d.file).toBe('m.hess');
  });

  it('reports every problem inside one expression', () => {
    const ds = errors('param x[3]\nminimize sum(x[1:2:3]) + x[end+1] + x[1.5] + x(1) + x.y + sum + end + 2x');
    expect(ds.map((d) => culprit(d))).toEqual(['2', 'end+1', '1.5', 'x', '.y', 'sum', 'end', '2x']);
  });
});
