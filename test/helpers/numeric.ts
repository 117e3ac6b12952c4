// Comparisons and finite differences for the numeric tests.

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  /** |actual - expected| / scale */
  error: number;
}

/**
 * Largest error of `actual` against `expected`, relative to the scale max(1, max|expected|):
 * an all-zero reference is compared absolutely. NaN anywhere counts as an infinite error.
 */
export function worstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>): Mismatch {
  if (actual.length !== expected.length) {
    return { index: -1, actual: actual.length, expected: expected.length, error: Infinity };
  }
  const scale = Math.max(1, maxAbs(expected));
  let worst: Mismatch = { index: -1, actual: 0, expected: 0, error: 0 };
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!) / scale;
    const error = Number.isNaN(d) ? Infinity : d;
    if (error > worst.error || worst.index < 0) worst = { index: i, actual: actual[i]!, expected: expected[i]!, error };
  }
  return worst;
}

/** A readable description of the worst entry, with (i, j) for a Hessian of size n. */
export function describeMismatch(m: Mismatch, n?: number): string {
  if (m.index < 0) return m.error === Infinity ? `length ${m.actual}, expected ${m.expected}` : 'no entries';
  const where = n === undefined ? `[${m.index}]` : `[${Math.floor(m.index / n)}, ${m.index % n}]`;
  return `worst entry ${where}: got ${m.actual}, expected ${m.expected} (relative error ${m.error.toExponential(2)})`;
}

/** Throws with a description when the worst relative error exceeds `tol`. */
export function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, n?: number): void {
  const m = worstMismatch(actual, expected);
  if (!(m.error <= tol)) throw new Error(`${what}: ${describeMismatch(m, n)}, tolerance ${tol}`);
}

export function assertScalarClose(what: string, actual: number, expected: number, tol: number): void {
  assertClose(what, [actual], [expected], tol);
}

/** First (i, j) where H[i*n+j] !== H[j*n+i] (a NaN counts as a difference). */
export function asymmetry(H: ArrayLike<number>, n: number): string | null {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = H[i * n + j]!;
      const b = H[j * n + i]!;
      if (a !== b) return `H[${i},${j}] = ${a} but H[${j},${i}] = ${b}`;
    }
  }
  return null;
}

export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** Step for coordinate i: relative to |θi|, never below the absolute step. */
function step(h: number, x: number): number {
  return h * Math.max(1, Math.abs(x));
}

/**
 * Gradient of `f` by the fourth-order central difference
 * (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h.
 */
export function fdGradient(f: (theta: Float64Array) => number, theta: ArrayLike<number>, h = 1e-4): Float64Array {
  const n = theta.length;
  const x = Float64Array.from(theta);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const hi = step(h, xi);
    const at = (d: number): number => {
      x[i] = xi + d;
      const v = f(x);
      x[i] = xi;
      return v;
    };
    g[i] = (at(-2 * hi) - 8 * at(-hi) + 8 * at(hi) - at(2 * hi)) / (12 * hi);
  }
  return g;
}

/** Hessian (row-major n × n) by the same stencil applied to an exact gradient. */
export function fdHessian(grad: (theta: Float64Array) => Float64Array, theta: ArrayLike<number>, h = 1e-4): Float64Array {
  const n = theta.length;
  const x = Float64Array.from(theta);
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const hi = step(h, xi);
    const at = (d: number): Float64Array => {
      x[i] = xi + d;
      const g = Float64Array.from(grad(x));
      x[i] = xi;
      return g;
    };
    const m2 = at(-2 * hi);
    const m1 = at(-hi);
    const p1 = at(hi);
    const p2 = at(2 * hi);
    // Row i holds d(gradient)/dθi: by symmetry of the true Hessian it is also column i.
    for (let j = 0; j < n; j++) H[i * n + j] = (m2[j]! - 8 * m1[j]! + 8 * p1[j]! - p2[j]!) / (12 * hi);
  }
  return H;
}

/**
 * max |a − b| / max(|b|, floor) over all entries (the absolute error when b is all zeros and no
 * floor is given); a length mismatch or a NaN is an infinite error.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  if (actual.length !== expected.length) return Infinity;
  let m = floor;
  let e = 0;
  for (let i = 0; i < expected.length; i++) {
    m = Math.max(m, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    e = Math.max(e, Number.isNaN(d) ? Infinity : d);
  }
  return m === 0 ? e : e / m;
}
