// Polynomials in run-time symbols (extents, offsets, sizes, loop variables), as the CPU passes
// compare index expressions: a map from monomial (its atoms sorted and joined by *; '' for the
// constant) to coefficient, zero terms left out.

export type Poly = Map<string, number>;

export const polyConst = (c: number): Poly => (c === 0 ? new Map() : new Map([['', c]]));

export function polyAdd(a: Poly, b: Poly, sign = 1): Poly {
  const r = new Map(a);
  for (const [k, v] of b) {
    const s = (r.get(k) ?? 0) + sign * v;
    if (s === 0) r.delete(k);
    else r.set(k, s);
  }
  return r;
}

export function polyMul(a: Poly, b: Poly): Poly {
  let r: Poly = new Map();
  for (const [ka, va] of a) {
    for (const [kb, vb] of b) {
      const key = [...ka.split('*'), ...kb.split('*')].filter((x) => x !== '').sort().join('*');
      r = polyAdd(r, new Map([[key, va * vb]]));
    }
  }
  return r;
}

export const polyEq = (a: Poly, b: Poly): boolean => polyAdd(a, b, -1).size === 0;

/** A canonical text of p (equal polynomials, equal texts). */
export const polyText = (p: Poly): string => [...p].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, c]) => `${c}${k}`).join('+');
