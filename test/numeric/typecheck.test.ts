// The generated TypeScript type-checks under `strict` (one tsc program for all of it), and its
// exported types let a strict consumer call it as docs/modules.md describes.
import { describe, it, expect } from 'vitest';
import { compileToTs } from '../helpers/load.ts';
import { loadFixtures } from '../helpers/fixtures.ts';
import { loadModelCases } from '../models/cases.ts';
import { typeCheck } from '../helpers/typecheck.ts';
import type { SourceFile } from '../helpers/typecheck.ts';

const MODELS = ['fixed_dim', 'user_fn', 'bc_column', 'idx_matrix', 'net_softmax_axis1', 'two_sym_dims', 'vector_data_scalars', 'op_scalar'];

// A strict consumer of two generated modules: the Data interface has one required member per
// data declaration, a model without data takes no data argument, and the results are typed.
const CONSUMER = `import { model, value, gradient, hessian, evaluate } from './logreg';
import type { Data } from './logreg';
import * as rb from './rosenbrock';
import * as sc from './vector_data_scalars';

const d: Data = { X: [1, 2, 3, 4], t: new Float64Array([0, 1]) };
const theta: number[] = new Array<number>(model.n).fill(0);
const v: number = value(theta, d);
const g: Float64Array = gradient(theta, d, new Float64Array(model.n));
const H: Float64Array = hessian(theta, d);
const all: { value: number; gradient: Float64Array; hessian: Float64Array } = evaluate(theta, d);
const names: string[] = model.params.map((p) => p.name + p.shape.length + p.offset + p.size);
const dataShapes: (number | string)[][] = model.data.map((x) => [...x.shape]);
// @ts-expect-error: t is missing
value(theta, { X: [1, 2] });
const r: number = rb.value([1, 2]) + rb.hessian([1, 2])[0]! + rb.evaluate([1, 2]).value;
const s: number = sc.value([1, 2], { a: 1, b: 2 });
// @ts-expect-error: a scalar data member is a number
sc.value([1, 2], { a: [1], b: 2 });
export const used = [v, g, H, all, names, dataShapes, r, s];
`;

describe('generated TypeScript', () => {
  it('type-checks under strict, fixtures and models alike, with a strict consumer', () => {
    const files: SourceFile[] = [];
    for (const fx of loadFixtures()) files.push({ name: `${fx.name}.ts`, code: compileToTs(fx.source, fx.path) });
    const cases = loadModelCases();
    for (const name of MODELS) {
      const c = cases.find((x) => x.name === name);
      if (c === undefined) throw new Error(`no model ${name}`);
      files.push({ name: `${name}.ts`, code: compileToTs(c.source, c.path) });
    }
    files.push({ name: 'consumer.ts', code: CONSUMER });
    expect(typeCheck(files)).toEqual([]);
  }, 60_000);
});
