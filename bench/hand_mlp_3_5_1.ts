// The 3-5-1 MLP's Hessian written by hand for this one model (bench/models/mlp_3_5_1.hess), as a
// bound on what any lowering of it to JavaScript could gain: `npm run bench` times it in
// back-to-back pairs with the generated module and reports both against PyTorch.
//
// f(θ) = mean_n (p_n − y_n)², p_n = Σ_h w2[h]·tanh(z_nh) + b2, z_nh = Σ_i X[n,i]·W1[i,h] + b1[h].
// With c = 2/N, r_n = c·(p_n − y_n) and J_n = ∂p_n/∂θ (26 entries):
//   H = c·Σ_n J_n J_nᵀ + Σ_n r_n ∂²p_n/∂θ²,
// the first term one Gram product of the 26 × N matrix J (4 × 4 register blocks, the same
// micro-kernel as bench/floors.ts), the second nonzero only within each hidden unit's
// (W1[:,h], b1[h], w2[h]) entries. What the generated code does in a dozen kernels over the same
// multiply-adds, this does in two loops, knowing the model's structure, which hessgen's lowering
// does not look for.
//
// θ layout (declaration order, row-major): W1[3, 5] at 0, b1[5] at 15, w2[5] at 20, b2 at 25.

const n = 26;
/** Rows of J padded to whole 4-row blocks (rows 26 and 27 stay zero). */
const ROWS = 28;

let cap = 0;
let J = new Float64Array(0); // [ROWS, N]: J[k·N + s] = ∂p_s/∂θ_k
const G = new Float64Array(ROWS * ROWS); // upper blocks of J·Jᵀ
const t = new Float64Array(5);
const d = new Float64Array(5);

/** H (26 × 26, row-major, both triangles) of the model at θ for data X [N, 3] and y [N]. */
export function handHessian(theta: ArrayLike<number>, data: { readonly X: ArrayLike<number>; readonly y: ArrayLike<number> }, out: Float64Array): Float64Array {
  const { X, y } = data;
  const N = y.length;
  if (N > cap) {
    cap = N;
    J = new Float64Array(ROWS * N);
  }
  const S = N;
  J.fill(0, n * S, ROWS * S);
  const c = 2 / N;
  out.fill(0);
  // Forward pass, J and the curvature terms (upper triangle), one sample at a time.
  for (let s = 0; s < N; s++) {
    const x0 = X[s * 3]!, x1 = X[s * 3 + 1]!, x2 = X[s * 3 + 2]!;
    let p = theta[25]!;
    for (let h = 0; h < 5; h++) {
      const th = Math.tanh(x0 * theta[h]! + x1 * theta[5 + h]! + x2 * theta[10 + h]! + theta[15 + h]!);
      t[h] = th;
      d[h] = 1 - th * th;
      p += theta[20 + h]! * th;
    }
    const r = c * (p - y[s]!);
    for (let h = 0; h < 5; h++) {
      const w = theta[20 + h]!;
      const a = w * d[h]!;
      J[h * S + s] = a * x0;
      J[(5 + h) * S + s] = a * x1;
      J[(10 + h) * S + s] = a * x2;
      J[(15 + h) * S + s] = a;
      J[(20 + h) * S + s] = t[h]!;
      // ∂²p/∂z² = w·tanh''(z) = −2w·t·(1 − t²) over the unit's inputs (x, 1) ⊗ (x, 1), and
      // ∂²p/∂z∂w = 1 − t² between them and w2[h].
      const g2 = -2 * r * w * t[h]! * d[h]!;
      const i0 = h, i1 = 5 + h, i2 = 10 + h, i3 = 15 + h, iw = 20 + h;
      out[i0 * n + i0] += g2 * x0 * x0;
      out[i0 * n + i1] += g2 * x0 * x1;
      out[i0 * n + i2] += g2 * x0 * x2;
      out[i0 * n + i3] += g2 * x0;
      out[i1 * n + i1] += g2 * x1 * x1;
      out[i1 * n + i2] += g2 * x1 * x2;
      out[i1 * n + i3] += g2 * x1;
      out[i2 * n + i2] += g2 * x2 * x2;
      out[i2 * n + i3] += g2 * x2;
      out[i3 * n + i3] += g2;
      const g1 = r * d[h]!;
      out[i0 * n + iw] += g1 * x0;
      out[i1 * n + iw] += g1 * x1;
      out[i2 * n + iw] += g1 * x2;
      out[i3 * n + iw] += g1;
    }
    J[25 * S + s] = 1;
  }
  // G = J·Jᵀ on the blocks on and above the diagonal.
  for (let bi = 0; bi < ROWS; bi += 4) {
    const p0 = bi * S, p1 = p0 + S, p2 = p1 + S, p3 = p2 + S;
    for (let bj = bi; bj < ROWS; bj += 4) {
      const q0 = bj * S, q1 = q0 + S, q2 = q1 + S, q3 = q2 + S;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let s = 0; s < S; s++) {
        const u0 = J[p0 + s]!, u1 = J[p1 + s]!, u2 = J[p2 + s]!, u3 = J[p3 + s]!;
        const v0 = J[q0 + s]!, v1 = J[q1 + s]!, v2 = J[q2 + s]!, v3 = J[q3 + s]!;
        a00 += u0 * v0; a01 += u0 * v1; a02 += u0 * v2; a03 += u0 * v3;
        a10 += u1 * v0; a11 += u1 * v1; a12 += u1 * v2; a13 += u1 * v3;
        a20 += u2 * v0; a21 += u2 * v1; a22 += u2 * v2; a23 += u2 * v3;
        a30 += u3 * v0; a31 += u3 * v1; a32 += u3 * v2; a33 += u3 * v3;
      }
      const g = bi * ROWS + bj;
      G[g] = a00; G[g + 1] = a01; G[g + 2] = a02; G[g + 3] = a03;
      G[g + ROWS] = a10; G[g + ROWS + 1] = a11; G[g + ROWS + 2] = a12; G[g + ROWS + 3] = a13;
      G[g + 2 * ROWS] = a20; G[g + 2 * ROWS + 1] = a21; G[g + 2 * ROWS + 2] = a22; G[g + 2 * ROWS + 3] = a23;
      G[g + 3 * ROWS] = a30; G[g + 3 * ROWS + 1] = a31; G[g + 3 * ROWS + 2] = a32; G[g + 3 * ROWS + 3] = a33;
    }
  }
  // H = c·G + curvature, upper triangle mirrored.
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = out[i * n + j]! + c * G[i * ROWS + j]!;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}
