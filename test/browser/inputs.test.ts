// The playground's θ and data: random draws that fit the model, the JSON it shows, and what a
// user may paste (with the errors the page shows for what does not fit).
import { describe, expect, it } from 'vitest';
import { inputsToJson, parseInputs, randomInputs, symbolicDims, thetaLabel, type ModelShape } from '../../playground/src/inputs.ts';

const model: ModelShape = {
  name: 'net',
  n: 3 * 2 + 2 + 1,
  params: [
    { name: 'W', shape: [3, 2], offset: 0, size: 6 },
    { name: 'b', shape: [2], offset: 6, size: 2 },
    { name: 'c', shape: [], offset: 8, size: 1 },
  ],
  data: [
    { name: 'X', shape: ['N', 3] },
    { name: 'Y', shape: ['N', 'K'] },
    { name: 'lam', shape: [] },
  ],
};

describe('playground inputs', () => {
  it('draws θ and data of the right sizes, reproducibly, within their ranges', () => {
    expect(symbolicDims(model)).toEqual(['N', 'K']);
    const a = randomInputs(model, { N: 5, K: 4 }, 7);
    const b = randomInputs(model, { N: 5, K: 4 }, 7);
    const c = randomInputs(model, { N: 5, K: 4 }, 8);
    expect(a.theta.length).toBe(9);
    expect((a.data.X as Float64Array).length).toBe(15);
    expect((a.data.Y as Float64Array).length).toBe(20);
    expect(typeof a.data.lam).toBe('number');
    expect([...a.theta]).toEqual([...b.theta]);
    expect([...a.theta]).not.toEqual([...c.theta]);
    for (const x of a.theta) expect(Math.abs(x)).toBeLessThanOrEqual(0.5);
    for (const x of a.data.X as Float64Array) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    // θ comes first from the seed: changing a dim keeps it.
    expect([...randomInputs(model, { N: 50, K: 1 }, 7).theta]).toEqual([...a.theta]);
  });

  it('reads back the JSON it writes, exactly', () => {
    const a = randomInputs(model, { N: 2, K: 3 }, 3);
    const back = parseInputs(inputsToJson(a), model);
    expect([...back.theta]).toEqual([...a.theta]);
    expect([...(back.data.X as Float64Array)]).toEqual([...(a.data.X as Float64Array)]);
    expect(back.data.lam).toBe(a.data.lam);
  });

  it('accepts nested arrays (row-major) and, without data, bare numbers', () => {
    const text = JSON.stringify({ theta: [[1, 2], [3, 4], [5, 6], [7, 8], 9], data: { X: [[1, 2, 3]], Y: [[1, 0]], lam: [0.5] } });
    const r = parseInputs(text, model);
    expect([...r.theta]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...(r.data.X as Float64Array)]).toEqual([1, 2, 3]);
    expect(r.data.lam).toBe(0.5);
    const free: ModelShape = { name: 'rosen', n: 3, params: [{ name: 'x', shape: [3], offset: 0, size: 3 }], data: [] };
    expect([...parseInputs('1, -2.5 3e-1', free).theta]).toEqual([1, -2.5, 0.3]);
    expect([...parseInputs('[1, 2, 3]', free).theta]).toEqual([1, 2, 3]);
  });

  it('says what is wrong with inputs that do not fit', () => {
    const ok = { theta: Array(9).fill(0), data: { X: [1, 2, 3], Y: [1], lam: 1 } };
    const err = (v: unknown): string => {
      try {
        parseInputs(typeof v === 'string' ? v : JSON.stringify(v), model);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('{ theta: [1] }')).toMatch(/^inputs are not valid JSON/);
    expect(err({ ...ok, theta: [1, 2] })).toBe('theta has 2 numbers; net needs 9');
    expect(err({ data: ok.data })).toBe('inputs: "theta" is missing');
    expect(err({ ...ok, data: { X: [1], Y: [1] } })).toBe('data: "lam" is missing');
    expect(err({ ...ok, data: { ...ok.data, Z: [1] } })).toBe('data: "Z" is not a data input of net');
    expect(err({ ...ok, data: { ...ok.data, lam: [1, 2] } })).toBe('data.lam is a scalar; found 2 numbers');
    expect(err({ ...ok, data: { ...ok.data, X: [1, 'a'] } })).toBe('data.X: expected numbers (nested arrays are flattened row-major), found "a"');
    expect(err({ ...ok, data: { ...ok.data, X: [1, null] } })).toMatch(/found null/);
    expect(err(ok)).toBe('no error');
  });

  it('labels θ entries one-based, as the language indexes', () => {
    expect(thetaLabel(model, 0)).toBe('W[1,1]');
    expect(thetaLabel(model, 5)).toBe('W[3,2]');
    expect(thetaLabel(model, 7)).toBe('b[2]');
    expect(thetaLabel(model, 8)).toBe('c');
  });
});
