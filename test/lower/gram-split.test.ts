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
    console.log(s!.sides.map((x) => x!.key), s!.weightKey);
  });
  for (const m of ['mlp_64_32_10', 'softmax_64_128', 'rosenbrock_1000'])
    it(`${m}`, () => {
      const { split: s } = split(`bench/models/${m}.hess`);
      console.log(m, s === null ? 'null' : s.sides.map((x) => x?.key ?? '-'));
    });
});
