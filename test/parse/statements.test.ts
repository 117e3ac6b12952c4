import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { culprit, errors, ok, oneError, valueOf } from './helpers.ts';

describe('statement forms', () => {
  it('reads every declaration form', () => {
    const m = ok(`
dim N
dim H = 4
const lam = 0.5
data s
data v[N]
data M[N, 3]
data F[H, 2]
param a
param b[H]
param C[2, H]
minimize lam * (a + sum(b) + sum(C)) + s + sum(v) + sum(M) + sum(F)
`);
    expect(m.symbolicDims).toEqual(['N']);
    expect(m.data).toEqual([
      { name: 's', shape: [] },
      { name: 'v', shape: ['N'] },
      { name: 'M', shape: ['N', 3] },
      { name: 'F', shape: [4, 2] },
    ]);
    expect(m.params).toEqual([
      { name: 'a', shape: [] },
      { name: 'b', shape: [4] },
      { name: 'C', shape: [2, 4] },
    ]);
  });

  it('names the model after the file', () => {
    expect(ok('param x\nminimize x', 'some/dir/my_model.hess').name).toBe('my_model');
    expect(ok('param x\nminimize x', 'C:\\models\\win.hess').name).toBe('win');
  });

  it('definitions and functions build the right value', () => {
    const src = `
param x[3]
sq(u) = u .^ 2
twice(u, v) = 2 * u + v
h = sq(x)
minimize sum(twice(h, x))
`;
    // sum(2 x^2 + x) at x = (1, 2, 3): 2*14 + 6
    expect(valueOf(src, [1, 2, 3])).toBe(34);
  });

  it('a dimension name is a number in expressions', () => {
    expect(valueOf('dim H = 3\nparam x[H]\nminimize sum(x) / H', [3, 6, 9])).toBe(6);
    const m = ok('dim N\ndata y[N]\nparam b\nminimize sum(y - b) / N');
    expect(m.objective).toMatchObject({ kind: 'binary', op: 'div', b: { kind: 'dim', name: 'N' } });
  });

  it('evaluates consts at compile time', () => {
    const m = ok('const a = 2\nconst b = (a + 1) ^ 2 / 3 - pi + e\ndim H = 2 * a\nparam x[H]\nminimize b * sum(x)');
    expect(m.params[0]!.shape).toEqual([4]);
    expect(m.objective).toMatchObject({ kind: 'binary', op: 'mul', a: { kind: 'const' } });
    const obj = m.objective;
    if (obj.kind === 'binary' && obj.a.kind === 'const') expect(obj.a.value).toBeCloseTo(3 - Math.PI + Math.E, 14);
    expect(valueOf('const c = sqrt(16) + .5 + 1e-1 + 2E1\nparam x\nminimize c * x', [1])).toBeCloseTo(24.6, 12);
  });

  it('numbers in every written form', () => {
    expect(valueOf('param x\nminimize 3 + 2.5 + .5 + 1e-3 + 6.02E23 * 0 + x', [0])).toBeCloseTo(6.001, 12);
  });

  it('pi and e are constants', () => {
    expect(valueOf('param x\nminimize pi * x + e', [2])).toBeCloseTo(2 * Math.PI + Math.E, 14);
  });

  it('names may be math.js words (mod, in, true, ...)', () => {
    expect(valueOf('param in[2]\nconst mod = 3\ntrue = in * mod\nminimize sum(true)', [1, 2])).toBe(9);
  });
});

describe('lexical rules', () => {
  it('ignores comments and blank lines', () => {
    const m = ok(`# header

param x   # a param
# between
minimize x  # objective # with a second hash
`);
    expect(m.params).toEqual([{ name: 'x', shape: [] }]);
  });

  it('continues a statement while a bracket is open', () => {
    expect(valueOf('param x[3]\nminimize sum(x .*\n  x,\n  1)', [1, 2, 3])).toBe(14);
    expect(valueOf('param A[2, 2]\nminimize sum(A[1,\n 2:end])', [1, 2, 3, 4])).toBe(2);
    const m = ok('param W[\n  2,\n  3\n]\nminimize sum(W)');
    expect(m.params[0]!.shape).toEqual([2, 3]);
  });

  it('continues a statement after a trailing binary operator', () => {
    for (const op of ['+', '-', '*', '/', '^', '.*', './', '.^']) {
      const v = valueOf(`param x\nminimize x ${op}\n   2`, [3]);
      const expected = { '+': 5, '-': 1, '*': 6, '/': 1.5, '^': 9, '.*': 6, './': 1.5, '.^': 9 }[op];
      expect(v, op).toBe(expected);
    }
  });

  it('skips comment lines inside a continued statement, and a comment after the operator', () => {
    expect(valueOf('param x\nminimize x +   # first part\n  # more\n\n  x', [2])).toBe(4);
  });

  it('does not continue after a postfix transpose', () => {
    const m = ok("param A[2, 2]\nB = A'\nminimize sum(B)");
    expect(m.params).toHaveLength(1);
  });

  it('keeps columns right on continuation lines', () => {
    const d = oneError('param x[3]\nminimize sum(x +\n    yy)');
    expect([d.line, d.column, d.length]).toEqual([3, 5, 2]);
    expect(d.sourceLine).toBe('    yy)');
    expect(culprit(d)).toBe('yy');
  });

  it('accepts CRLF line ends and a BOM', () => {
    expect(valueOf('\uFEFFparam x\r\nminimize x\r\n', [3])).toBe(3);
  });

  it('is case-sensitive', () => {
    expect(valueOf('param w\nparam W\nminimize w - W', [5, 2])).toBe(3);
  });
});

describe('minimize', () => {
  it('is required', () => {
    const d = oneError('param x[3]\nh = sum(x)\n');
    expect(d.message).toMatch(/no objective.*minimize/);
    expect(d.line).toBe(2);
  });

  it('appears only once', () => {
    const d = oneError('param x\nminimize x\nminimize 2 * x');
    expect([d.line, d.column, d.length]).toEqual([3, 1, 8]);
    expect(d.message).toContain('already one on line 2');
  });

  it('must be a scalar', () => {
    const d = oneError('dim N\ndata y[N]\nparam b\nminimize y - b');
    expect(d.message).toContain('must be a scalar');
    expect(d.message).toContain('[N]');
    expect(d.message).toContain('`y - b`');
    expect(culprit(d)).toBe('y - b');
  });

  it('needs an expression', () => {
    const d = oneError('param x\nminimize');
    expect(d.message).toContain('missing expression after `minimize`');
    expect([d.line, d.column]).toEqual([2, 9]);
  });
});

describe('statement errors', () => {
  it('rejects names that are keywords, built-ins, pi, e or end', () => {
    const cases: [string, RegExp][] = [
      ['dim = 3', /`dim` is a keyword/],
      ['param data', /`data` is a keyword/],
      ['exp = 4', /`exp` is a built-in function/],
      ['param sum[2]', /`sum` is a built-in function/],
      ['const pi = 3', /`pi` is a built-in constant/],
      ['e = 2', /`e` is a built-in constant/],
      ['data end', /`end` is reserved/],
      ['dim logsumexp', /`logsumexp` is a built-in function/],
      ['sigmoid(x) = x', /`sigmoid` is a built-in function/],
      ['f(dot) = dot', /`dot` is a built-in function and cannot be used as an argument name/],
    ];
    for (const [line, re] of cases) {
      const d = oneError(`${line}\nminimize 1`);
      expect(d.message, line).toMatch(re);
      expect(d.line).toBe(1);
    }
  });

  it('rejects a name defined twice, pointing at the second', () => {
    const d = oneError('param x\nconst k = 1\nx = 2 * x\nminimize x');
    expect([d.line, d.column, d.length]).toEqual([3, 1, 1]);
    expect(d.message).toContain('`x` is already defined on line 1');
  });

  it('rejects use before definition', () => {
    const d = oneError('h = 2 * x\nparam x\nminimize x');
    expect(d.message).toContain('`x` is used before its definition on line 2');
    expect(culprit(d)).toBe('x');
  });

  it('rejects a definition using itself', () => {
    const d = oneError('param x\ny = y + x\nminimize y');
    expect(d.message).toContain('`y` cannot be used in its own definition');
    expect([d.line, d.column]).toEqual([2, 5]);
  });

  it('rejects symbolic dims in param shapes', () => {
    const d = oneError('dim N\ndata X[N, 3]\nparam W[N, 3]\nminimize sum(W) + sum(X)');
    expect([d.line, d.column, d.length]).toEqual([3, 9, 1]);
    expect(d.message).toContain('sizes of a param must be known at compile time');
    expect(d.message).toContain('`N` is given at run time');
  });

  it('rejects bad shapes', () => {
    const ds = errors('param A[2, 2, 2]\nparam B[]\nparam C[0]\nparam D[1.5]\nparam E[lam]\nconst lam = 2\nparam F[2] G\nparam H[2 * 3]\nminimize 1');
    const byLine = new Map(ds.map((d) => [d.line, d.message]));
    expect(byLine.get(1)).toContain('at most 2 axes');
    expect(byLine.get(2)).toContain('empty shape');
    expect(byLine.get(3)).toContain('positive whole number');
    expect(byLine.get(4)).toContain('positive whole number');
    expect(byLine.get(5)).toContain('`lam` is used before its definition');
    expect(byLine.get(7)).toContain('unexpected `G`');
    expect(byLine.get(8)).toContain('a size must be a whole number or a name declared with `dim`');
  });

  it('rejects a const used as a size', () => {
    const d = oneError('const k = 2\nparam x[k]\nminimize sum(x)');
    expect(d.message).toContain('`k` is a const, not a dimension');
  });

  it('rejects bad dim sizes', () => {
    expect(oneError('dim H = 2.5\nminimize 1').message).toContain('positive whole number, but this is 2.5');
    expect(oneError('dim H = 0\nminimize 1').message).toContain('positive whole number');
    expect(oneError('dim N\ndim H = N\ndata x[N]\nminimize sum(x)').message).toContain('`N` is known only at run time');
    expect(oneError('dim H[3]\nminimize 1').message).toContain('unexpected `[`');
  });

  it('rejects consts that are not compile-time numbers', () => {
    expect(oneError('param x\nconst c = 2 * x\nminimize x').message).toMatch(/`x` is a param: a `const` is computed at compile time/);
    expect(oneError('const c = 1 / 0\nminimize 1').message).toContain('Infinity');
    expect(oneError('const c\nminimize 1').message).toContain('a constant needs a value');
    expect(oneError('param x[2]\nconst c = sum(x)\nminimize 1').message).toContain('`sum(...)` cannot be used here');
  });

  it('suggests the keyword for a misspelt statement', () => {
    const ds = errors('parm x[3]\nminimise sum(x)');
    expect(ds).toHaveLength(2); // no "missing minimize" on top, no cascade from x
    expect(ds[0]!.message).toContain('did you mean `param`?');
    expect(ds[1]!.message).toContain('did you mean `minimize`?');
  });

  it('rejects an expression that is not a statement', () => {
    expect(oneError('param x\nsum(x)\nminimize x').message).toContain('an expression alone is not a statement');
    expect(oneError('param x[2]\nx[1] = 3\nminimize 1').message).toContain('cannot assign to part of `x`');
    expect(oneError('= 3\nminimize 1').message).toContain('a name is missing before `=`');
    expect(oneError('param x\nh =\nminimize x').message).toContain('missing expression after `=`');
  });

  it('returns no model whenever there is a diagnostic', () => {
    const r = parseModel('param x\nminimize x\nbad bad bad', 'm.hess');
    expect(r.model).toBeNull();
    expect(r.diagnostics.length).toBeGreaterThan(0);
  });
});
