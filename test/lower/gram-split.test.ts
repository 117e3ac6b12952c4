// The Gram split's recognizer (compiler/4-simplify/gram-split.ts) on the bench models.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { toIndexForm } from '../../compiler/2-ir/to-index-form.ts';
import { withCompileContext } from '../../compiler/2-ir/index-form.ts';
import { Differentiator } from '../../compiler/3-differentiate/derivative.ts';
import { gramSplit } from '../../compiler/4-simplify/gram-split.ts';

function split(file: string) {
  const { model } = parseModel(readFileSync(file, 'utf8'), file);
  return withCompileContext(() => {
    const im = toIndexForm(model!);
    const diff = new Differentiator(im.nodes);
    const g = im.params.map((p) => diff.formula(im.objective, p));
    const H = im.params.map((_, i) => im.params.map((q, j) => (j < i ? { shape: [], terms: [] } : diff.formula(g[i]!, q))));
    return { split: gramSplit(im.params.map((p) => p.shape.length), H), H };
  });
}

describe('gram split', () => {
  it('3-5-1 MLP: one side per parameter, the δ terms left per block', () => {
    const { split: s, H } = split('bench/models/mlp_3_5_1.hess');
    expect(s).not.toBeNull();
    expect(s!.batchDim).toBe('N');
    expect(s!.sides.every((x) => x !== null)).toBe(true);
    const restTerms = s!.rest.map((row, i) => row.map((f, j) => (j < i ? 0 : f.terms.length)));
    const allTerms = H.map((row, i) => row.map((f, j) => (j < i ? 0 : f.terms.length)));
    // Exactly one term taken from each block (i ≤ j).
    for (let i = 0; i < 4; i++) for (let j = i; j < 4; j++) expect(restTerms[i]![j]).toBe(allTerms[i]![j]! - 1);
    // b2's side is empty (its entries of J are 1); the weight is 2·(1/N), one scalar factor.
    expect(s!.sides[3]!.factors).toEqual([]);
    expect(s!.sides.slice(0, 3).every((x) => x!.factors.length > 0)).toBe(true);
    expect(s!.weight.coef).toBe(2);
    expect(s!.weight.factors.map((f) => f.idx.length)).toEqual([0]);
  });
  it('softmax regression: the Σ p pᵀ term of every block, one side per parameter', () => {
    const { split: s } = split('bench/models/softmax_64_128.hess');
    expect(s).not.toBeNull();
    expect(s!.sides.every((x) => x !== null)).toBe(true);
  });
  it('none where the products also sum over the outputs (64-32-10) or there is no batch (Rosenbrock)', () => {
    expect(split('bench/models/mlp_64_32_10.hess').split).toBeNull();
    expect(split('bench/models/rosenbrock_1000.hess').split).toBeNull();
  });
});
