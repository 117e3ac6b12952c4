// The hand-written 3-5-1 Hessian (bench/hand_mlp_3_5_1.ts) is the bound `npm run bench` reports
// beside PyTorch: it must compute the same Hessian as the generated module, at any batch size (3000
// rows grow the kernels' memory).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handHessian } from '../../bench/hand_mlp_3_5_1.ts';
import { compileModel } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';

describe('hand-written 3-5-1 Hessian', () => {
  it('equals the generated module’s Hessian, with either Gram product, as the batch grows and shrinks', async () => {
    const source = readFileSync('bench/models/mlp_3_5_1.hess', 'utf8');
    const { module } = await compileModel(source, 'bench/models/mlp_3_5_1.hess');
    const rng = makeRng('hand-3-5-1');
    for (const N of [7, 30, 1, 3000, 7]) for (const gram of ['wasm', 'js'] as const) {
      const theta = Float64Array.from({ length: 26 }, () => rng.uniform(-1, 1));
      const data = { X: Float64Array.from({ length: 3 * N }, () => rng.uniform(-2, 2)), y: Float64Array.from({ length: N }, () => rng.uniform(-1, 1)) };
      const ours = module.hessian(theta, data);
      const hand = handHessian(theta, data, new Float64Array(676).fill(Number.NaN), gram);
      const scale = Math.max(...ours.map(Math.abs));
      for (let i = 0; i < 676; i++) expect(Math.abs(hand[i]! - ours[i]!)).toBeLessThanOrEqual(1e-13 * scale);
    }
  });
});
