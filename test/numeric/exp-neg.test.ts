// expNeg, the e^t (t ≤ 0) that generated TypeScript computes tanh, σ and softplus with
// (compiler/2-ir/exp-neg.ts), against e^t to 320 bits: its series in BigInt fixed point, written
// out here independently of the helper's tables.
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { EXP_NEG_LN2_32_HI, EXP_NEG_LN2_32_LO, expNegSource } from '../../compiler/2-ir/exp-neg.ts';

const expNeg = new Function(transformSync(`${expNegSource()}\nreturn expNeg;`, { loader: 'ts' }).code)() as (t: number) => number;

const F = 320n;
const SCALE = 2 ** Number(F);

/** e^t · 2^F for a double t ≤ 0: 2^2F / Σ |t|ⁿ/n! (the series of e^|t| has no cancellation). */
function reference(t: number): bigint {
  const x = BigInt(-t * SCALE); // exact: t's last bit is far above 2^−320
  let term = 1n << F;
  let sum = 0n;
  for (let n = 1n; term !== 0n; n++) {
    sum += term;
    term = (term * x) / (n << F);
  }
  return (1n << (2n * F)) / sum;
}

/** |y − e^t| in units of y's last place. */
function ulps(y: number, t: number): number {
  const diff = BigInt(y * SCALE) - reference(t);
  const ulp = 2 ** (Math.floor(Math.log2(y)) - 52);
  return Math.abs(Number(diff) / SCALE) / ulp;
}

describe('expNeg (e^t for t ≤ 0 in generated TypeScript)', () => {
  it('is within 0.52 ULP of e^t across its range, at the table steps and near 0', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const ts: number[] = [];
    for (let i = 0; i < 1500; i++) ts.push(-43 * rnd());
    for (let i = 0; i < 300; i++) ts.push(-(10 ** (-12 * rnd())) * 0.05); // 5e-14 … 0.05
    // Half-way between reduction steps (where k flips), and the ends of the range.
    for (let k = 0; k < 1985; k += 7) for (const d of [-1e-13, 0, 1e-13]) ts.push(-(k + 0.5) * (Math.LN2 / 32) + d);
    ts.push(-42.999999999, -Math.LN2, -2 * Math.LN2, -0.5, -1);
    let worst = 0;
    let at = 0;
    for (const t of ts) {
      if (!(t > -43 && t < 0)) continue;
      const e = ulps(expNeg(t), t);
      if (e > worst) [worst, at] = [e, t];
    }
    expect(worst, `worst at t = ${at}`).toBeLessThanOrEqual(0.52);
  });

  it('is exact at 0 and Math.exp outside its range', () => {
    expect(expNeg(0)).toBe(1);
    expect(expNeg(-0)).toBe(1);
    expect(expNeg(-Infinity)).toBe(0);
    expect(expNeg(NaN)).toBeNaN();
    for (const t of [-43, -50, -745, 1e-300, 0.5, 3, 800]) expect(expNeg(t)).toBe(Math.exp(t));
  });

  it('splits ln2/32 into a 32-bit head (k·head exact) and a tail', () => {
    expect(Number.isInteger(EXP_NEG_LN2_32_HI * 2 ** 37)).toBe(true);
    expect(Math.abs(EXP_NEG_LN2_32_LO)).toBeLessThan(2 ** -37);
    expect(EXP_NEG_LN2_32_HI + EXP_NEG_LN2_32_LO).toBe(Math.LN2 / 32);
  });
});
