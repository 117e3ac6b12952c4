// The 3-5-1 MLP's Hessian written by hand for this one model (bench/models/mlp_3_5_1.hess): what a
// lowering that sees the model's structure could reach. `npm run bench` times it in back-to-back
// pairs with the generated module and reports both against PyTorch.
//
// f(θ) = mean_n (p_n − y_n)², p_n = Σ_h w2[h]·tanh(z_nh) + b2, z_nh = Σ_i X[n,i]·W1[i,h] + b1[h].
// With c = 2/N, e_n = p_n − y_n and J_n = ∂p_n/∂θ (26 entries):
//   H = c·(Σ_n J_n J_nᵀ + Σ_n e_n ∂²p_n/∂θ²),
// the first term one Gram product of the 26 × N matrix J, the second nonzero only within each hidden
// unit's (W1[:,h], b1[h], w2[h]) entries, summed over the samples in registers. J is written
// straight into the layout of the dense kernels' micro-kernel (panels of 4 rows, the samples
// k-major: J[(r div 4)·N·4 + k·4 + r mod 4]), so that the Gram product is 28 calls of that
// WebAssembly-SIMD micro-kernel (runtime/wasm/gemm-module.ts, 4 × 4 tiles of the upper triangle),
// or the same 4 × 4 tiles in JavaScript (`gram: 'js'`).
//
// θ layout (declaration order, row-major): W1[3, 5] at 0, b1[5] at 15, w2[5] at 20, b2 at 25.

import { DENSE_WASM } from '../runtime/wasm/dense.ts';

const n = 26;
/** Rows of J padded to whole panels of 4 (rows 26 and 27 stay zero). */
const ROWS = 28;
const PANELS = ROWS / 4;
const G_BYTES = ROWS * ROWS * 8;

interface Micro {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  micro(ap: number, bp: number, kc: number, c: number, ldc: number): void;
}
// (The WebAssembly API as far as used here: the project's types do not include lib.dom.)
const api = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: object } } }).WebAssembly;
const wasm = new api.Instance(new api.Module(Buffer.from(DENSE_WASM, 'base64')), {}).exports as Micro;

// G (the Gram product, 28 × 28) at byte 0 of the kernels' memory, J's panels after it; views are
// remade when the memory grows.
let cap = -1;
let G = new Float64Array(0);
let J = new Float64Array(0);
let tanhs = new Float64Array(0); // [5, N]
let errors = new Float64Array(0); // [N]
const curvature = new Float64Array(5 * 14);

function reserve(N: number): void {
  if (N <= cap) return;
  const bytes = G_BYTES + ROWS * N * 8;
  const have = wasm.memory.buffer.byteLength;
  if (bytes > have) wasm.memory.grow(Math.ceil((bytes - have) / 65536));
  G = new Float64Array(wasm.memory.buffer, 0, ROWS * ROWS);
  J = new Float64Array(wasm.memory.buffer, G_BYTES, ROWS * N);
  tanhs = new Float64Array(5 * N);
  errors = new Float64Array(N);
  cap = N;
}

/** Position of J[r, k] (row r of θ, sample k) in the panel layout. */
const at = (r: number, k: number, N: number): number => ((r >> 2) * N + k) * 4 + (r & 3);

/** H (26 × 26, row-major, both triangles) of the model at θ for data X [N, 3] and y [N]. */
export function handHessian(
  theta: ArrayLike<number>,
  data: { readonly X: ArrayLike<number>; readonly y: ArrayLike<number> },
  out: Float64Array,
  gram: 'wasm' | 'js' = 'wasm',
): Float64Array {
  const { X, y } = data;
  const N = y.length;
  reserve(N);
  // Forward pass: tanh(z) per unit and sample, and the errors e = p − y.
  for (let k = 0; k < N; k++) errors[k] = theta[25]! - y[k]!;
  for (let h = 0; h < 5; h++) {
    const a0 = theta[h]!, a1 = theta[5 + h]!, a2 = theta[10 + h]!, b = theta[15 + h]!, w = theta[20 + h]!;
    for (let k = 0; k < N; k++) {
      const t = Math.tanh(X[k * 3]! * a0 + X[k * 3 + 1]! * a1 + X[k * 3 + 2]! * a2 + b);
      tanhs[h * N + k] = t;
      errors[k] += w * t;
    }
  }
  // J, and per unit the curvature sums: ∂²p/∂z² = −2w·t·(1 − t²) times (x, 1) ⊗ (x, 1) over the
  // unit's inputs, ∂²p/∂z∂w = 1 − t² between them and w2[h].
  for (let k = 0; k < N; k++) {
    const last = at(25, k, N); // (row 24, in the same panel, is written below)
    J[last] = 1;
    J[last + 1] = 0;
    J[last + 2] = 0;
  }
  for (let h = 0; h < 5; h++) {
    const w = theta[20 + h]!;
    let q00 = 0, q01 = 0, q02 = 0, q03 = 0, q11 = 0, q12 = 0, q13 = 0, q22 = 0, q23 = 0, q33 = 0;
    let e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    for (let k = 0; k < N; k++) {
      const x0 = X[k * 3]!, x1 = X[k * 3 + 1]!, x2 = X[k * 3 + 2]!;
      const t = tanhs[h * N + k]!;
      const d = 1 - t * t;
      const e = errors[k]!;
      const a = w * d;
      J[at(h, k, N)] = a * x0;
      J[at(5 + h, k, N)] = a * x1;
      J[at(10 + h, k, N)] = a * x2;
      J[at(15 + h, k, N)] = a;
      J[at(20 + h, k, N)] = t;
      const g2 = -2 * e * w * t * d;
      const u0 = g2 * x0, u1 = g2 * x1, u2 = g2 * x2;
      q00 += u0 * x0; q01 += u0 * x1; q02 += u0 * x2; q03 += u0;
      q11 += u1 * x1; q12 += u1 * x2; q13 += u1;
      q22 += u2 * x2; q23 += u2;
      q33 += g2;
      const g1 = e * d;
      e0 += g1 * x0; e1 += g1 * x1; e2 += g1 * x2; e3 += g1;
    }
    const q = h * 14;
    curvature[q] = q00; curvature[q + 1] = q01; curvature[q + 2] = q02; curvature[q + 3] = q03;
    curvature[q + 4] = q11; curvature[q + 5] = q12; curvature[q + 6] = q13;
    curvature[q + 7] = q22; curvature[q + 8] = q23; curvature[q + 9] = q33;
    curvature[q + 10] = e0; curvature[q + 11] = e1; curvature[q + 12] = e2; curvature[q + 13] = e3;
  }
  // G = J·Jᵀ on the tiles on and above the diagonal.
  G.fill(0);
  if (gram === 'wasm') {
    for (let bi = 0; bi < PANELS; bi++)
      for (let bj = bi; bj < PANELS; bj++) wasm.micro(G_BYTES + bi * N * 32, G_BYTES + bj * N * 32, N, (bi * 4 * ROWS + bj * 4) * 8, ROWS * 8);
  } else {
    for (let bi = 0; bi < PANELS; bi++) for (let bj = bi; bj < PANELS; bj++) tileJs(bi * N * 4, bj * N * 4, N, bi * 4 * ROWS + bj * 4);
  }
  // The curvature sums join G, then H = c·G, mirrored.
  for (let h = 0; h < 5; h++) {
    // Rows h, 5 + h, 10 + h, 15 + h (W1[0..2, h], b1[h]) are 5·ROWS apart; column 20 + h is w2[h].
    const q = h * 14;
    let m = q;
    for (let i = 0; i < 4; i++) {
      const row = (h + 5 * i) * ROWS;
      for (let j = i; j < 4; j++) G[row + h + 5 * j] += curvature[m++]!;
      G[row + 20 + h] += curvature[q + 10 + i]!;
    }
  }
  const c = 2 / N;
  for (let i = 0; i < n; i++) {
    out[i * n + i] = c * G[i * ROWS + i]!;
    for (let j = i + 1; j < n; j++) {
      const v = c * G[i * ROWS + j]!;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** G[g..] (a 4 × 4 tile, rows ROWS apart) += Σ_k J[a + 4k + 0..3] ⊗ J[b + 4k + 0..3]: the micro-kernel in JavaScript. */
function tileJs(a: number, b: number, K: number, g: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < K; k++, a += 4, b += 4) {
    const u0 = J[a]!, u1 = J[a + 1]!, u2 = J[a + 2]!, u3 = J[a + 3]!;
    const v0 = J[b]!, v1 = J[b + 1]!, v2 = J[b + 2]!, v3 = J[b + 3]!;
    c00 += u0 * v0; c01 += u0 * v1; c02 += u0 * v2; c03 += u0 * v3;
    c10 += u1 * v0; c11 += u1 * v1; c12 += u1 * v2; c13 += u1 * v3;
    c20 += u2 * v0; c21 += u2 * v1; c22 += u2 * v2; c23 += u2 * v3;
    c30 += u3 * v0; c31 += u3 * v1; c32 += u3 * v2; c33 += u3 * v3;
  }
  G[g] += c00; G[g + 1] += c01; G[g + 2] += c02; G[g + 3] += c03;
  g += ROWS;
  G[g] += c10; G[g + 1] += c11; G[g + 2] += c12; G[g + 3] += c13;
  g += ROWS;
  G[g] += c20; G[g + 1] += c21; G[g + 2] += c22; G[g + 3] += c23;
  g += ROWS;
  G[g] += c30; G[g + 1] += c31; G[g + 2] += c32; G[g + 3] += c33;
}
