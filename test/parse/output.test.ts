// `output NAME = expr`: a definition marked as a model output (the Gauss-Newton matrix
// linearizes through it). `output` is a keyword only in that three-token form.
import { describe, expect, it } from 'vitest';
import { culprit, errors, ok, oneError } from './helpers.ts';

describe('output statements', () => {
  it('marks definitions as outputs, in order, and defines them like any other', () => {
    const m = ok(`dim N
data X[N, 2]
param w[2]
param c
output z = X * w
output s = tanh(z) + c   # uses the other output
minimize sum(s .^ 2) + sum(z)
`);
    expect(m.outputs?.map((o) => o.name)).toEqual(['z', 's']);
    expect(m.outputs![0]!.node.shape).toEqual(['N']);
    expect(m.definitions?.map((d) => d.name)).toEqual(['z', 's']);
    expect(m.objectiveAt).toEqual({ line: 7, column: 1, length: 8 });
  });

  it('a model without outputs has none', () => {
    expect(ok('param x\nminimize x ^ 2').outputs).toBeUndefined();
  });

  it('`output` stays an ordinary name elsewhere', () => {
    const m = ok(`param x
output = x ^ 2
output2 = output + 1
outputs(a) = a * 2
minimize output + outputs(output2)
`);
    expect(m.outputs).toBeUndefined();
    expect(m.definitions?.map((d) => d.name)).toEqual(['output', 'output2']);
  });

  it('an output line starts a new statement after a dangling operator', () => {
    const ds = errors('param x\ny = x +\noutput z = x ^ 3\nminimize z + y\n');
    expect(ds.map((d) => d.line)).toEqual([2]);
  });

  it('an output that does not depend on a param is an error at its name', () => {
    const d = oneError('dim N\ndata X[N]\nparam w\noutput q = X .^ 2\nminimize w * sum(q)\n');
    expect(d.line).toBe(4);
    expect(culprit(d)).toBe('q');
    expect(d.message).toMatch(/output `q` does not depend on any param/);
  });

  it('a reserved name after `output` is reported', () => {
    const d = oneError('param x\noutput sum = x ^ 2\nminimize x\n');
    expect(culprit(d)).toBe('sum');
    expect(d.message).toMatch(/built-in function/);
  });
});
