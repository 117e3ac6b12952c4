// Eigenvalues of a dense symmetric matrix: Householder reduction to tridiagonal form, then the
// implicit QL method with Wilkinson shifts on the tridiagonal matrix. O(n³) work, O(n²) memory;
// fine for the few hundred parameters the playground plots. Eigenvalues only (no vectors).

/**
 * The eigenvalues of the symmetric n × n matrix `a` (row-major; only its lower triangle is read),
 * in ascending order. `a` is not modified. Throws when the QL iteration does not converge, which
 * only happens for NaN or infinite entries.
 */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  if (a.length !== n * n) throw new RangeError(`symmetricEigenvalues: expected ${n * n} entries (n = ${n}), got ${a.length}`);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(a, n, d, e);
  tridiagonalQL(d, e);
  return d.sort();
}

/**
 * Householder reduction: d gets the diagonal, e[k] the entry between rows k and k + 1 (e[n-1] = 0).
 * Step k reflects rows/columns k+1..n-1 so that column k is zero below its subdiagonal.
 */
function tridiagonalize(src: ArrayLike<number>, n: number, d: Float64Array, e: Float64Array): void {
  // Work on a full symmetric copy built from the lower triangle.
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = src[i * n + j]!;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // x = a[k+1.., k]; reflect it onto alpha·e1 with alpha = −sign(x0)·‖x‖ (no cancellation).
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + k]!));
    d[k] = a[k * n + k]!;
    if (scale === 0) {
      e[k] = 0;
      continue;
    }
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) {
      const x = a[i * n + k]! / scale; // scaled to avoid overflow in the squares
      v[i] = x;
      norm2 += x * x;
    }
    const x0 = v[k + 1]!;
    const alpha = (x0 >= 0 ? -1 : 1) * Math.sqrt(norm2);
    e[k] = alpha * scale;
    v[k + 1] = x0 - alpha;
    // ‖v‖² = ‖x‖² − 2·alpha·x0 + alpha² = 2·(norm2 − alpha·x0)
    const vnorm = Math.sqrt(2 * (norm2 - alpha * x0));
    for (let i = k + 1; i < n; i++) v[i] = v[i]! / vnorm;
    // A22 ← H·A22·H with H = I − 2vvᵀ: p = A22·v, q = p − (vᵀp)·v, A22 −= 2(vqᵀ + qvᵀ).
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += a[i * n + j]! * v[j]!;
      p[i] = s;
      vp += v[i]! * s;
    }
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - vp * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const vi = 2 * v[i]!;
      const qi = 2 * p[i]!;
      for (let j = k + 1; j < n; j++) a[i * n + j] = a[i * n + j]! - vi * p[j]! - qi * v[j]!;
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)]!;
    e[n - 2] = a[(n - 1) * n + (n - 2)]!;
  }
  if (n >= 1) {
    d[n - 1] = a[(n - 1) * n + (n - 1)]!;
    e[n - 1] = 0;
  }
}

/**
 * Implicit QL with Wilkinson shifts on the symmetric tridiagonal matrix (diagonal d, off-diagonal
 * e[i] between i and i + 1). On return d holds the eigenvalues (unsorted); e is destroyed.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  // Off-diagonal entries below eps·‖T‖ are negligible: a test relative only to the neighbouring
  // diagonal entries never passes next to (near-)zero eigenvalues, which rank-deficient
  // Hessians (fewer samples than parameters) have by the dozen.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  const floor = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      // Smallest m ≥ l where the matrix splits (e[m] negligible next to its diagonal neighbours).
      let m = l;
      while (m < n - 1) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Math.max(Number.EPSILON * dd, floor)) break;
        m++;
      }
      if (m === l) break;
      if (iter === 60) throw new Error('symmetricEigenvalues: the QL iteration did not converge (NaN or infinite entries?)');
      // Wilkinson shift from the leading 2 × 2 block, then one sweep of Givens rotations from m up to l.
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let deflated = false;
      for (let i = m - 1; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The rotation underflowed: the matrix splits here; restart the search for this l.
          d[i + 1] = d[i + 1]! - p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l] = d[l]! - p;
      e[l] = g;
      e[m] = 0;
    }
  }
}
