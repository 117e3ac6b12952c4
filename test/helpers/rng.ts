// A small deterministic PRNG (mulberry32) so every test point is reproducible.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Uniform in [lo, hi] with a random sign: values bounded away from zero by lo. */
  awayFromZero(lo: number, hi: number): number;
  int(lo: number, hiInclusive: number): number;
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function makeRng(seed: number | string): Rng {
  let a = (typeof seed === 'string' ? hashString(seed) : seed) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    awayFromZero: (lo, hi) => (next() < 0.5 ? -1 : 1) * (lo + (hi - lo) * next()),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}
