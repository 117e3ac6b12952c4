// Floor kernels for bench/cpu.ts: how fast this machine multiplies and adds in float64 on one
// core, measured in the same process as the generated code. A dense Hessian block is a sum of
// products, so a register-blocked matrix product (GEMM) at the same multiply-add count is the
// rate our Hessian could reach; GMAC/s of ours over the floor's is the "fraction of the floor".
//
// The scalar JavaScript GEMM is written here. The WebAssembly-SIMD GEMM is the runtime's
// (runtime/wasm/dense.ts), so the bench measures the very kernel the generated code calls.

import { createDenseKernels, DENSE_ASSIGN } from '../runtime/wasm/dense.ts';
import { median } from './common.ts';
import { clockMs, type Clock } from './support.ts';

/** Rows of B (k-steps) per cache block: a 128 × n panel of B (256 KiB at n = 256) stays in L2
 *  while every 4-row strip of A passes over it. */
const KC = 128;

/** C (m×n) += A (m×k) · B (k×n), all row-major: 4×4 register blocks of C (16 accumulators stay in
 *  registers while k runs, each A and B element loaded once per block) within k-blocks of KC. */
export function gemmScalar(m: number, n: number, k: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let p0 = 0; p0 < k; p0 += KC) {
    const p1 = Math.min(k, p0 + KC);
    for (let i = 0; i < m4; i += 4) {
      const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
      for (let j = 0; j < n4; j += 4) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = p0, b = p0 * n + j; p < p1; p++, b += n) {
          const b0 = B[b], b1 = B[b + 1], b2 = B[b + 2], b3 = B[b + 3];
          const x0 = A[a0 + p], x1 = A[a1 + p], x2 = A[a2 + p], x3 = A[a3 + p];
          c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
          c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
          c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
          c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
        }
        const r0 = i * n + j, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
        C[r0] += c00; C[r0 + 1] += c01; C[r0 + 2] += c02; C[r0 + 3] += c03;
        C[r1] += c10; C[r1 + 1] += c11; C[r1 + 2] += c12; C[r1 + 3] += c13;
        C[r2] += c20; C[r2 + 1] += c21; C[r2 + 2] += c22; C[r2 + 3] += c23;
        C[r3] += c30; C[r3 + 1] += c31; C[r3 + 2] += c32; C[r3 + 3] += c33;
      }
    }
  }
  // Edges: the rows and columns the 4×4 blocks leave over, one entry at a time.
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
      C[i * n + j] += s;
    }
  }
}

/** A floor kernel: `setup` makes the operands of an m × n × k product (A[i, p] = sin(i·k + p + 1),
 *  B[p, j] = cos(p·n + j + 1), wherever and however the kernel keeps them) and returns the call that
 *  computes C = A·B (row-major m × n) and a way to read C. */
export interface FloorKernel {
  readonly name: string;
  setup(m: number, n: number, k: number): { run(): void; result(): Float64Array };
}

const fillA = (m: number, k: number, A: Float64Array) => {
  for (let i = 0; i < m * k; i++) A[i] = Math.sin(i + 1);
};
const entryB = (n: number, p: number, j: number) => Math.cos(p * n + j + 1);

export const scalarFloor: FloorKernel = {
  name: 'scalar JS GEMM',
  setup(m, n, k) {
    const A = new Float64Array(m * k);
    const B = new Float64Array(k * n);
    const C = new Float64Array(m * n);
    fillA(m, k, A);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) B[p * n + j] = entryB(n, p, j);
    return {
      run: () => {
        C.fill(0);
        gemmScalar(m, n, k, A, B, C);
      },
      result: () => C,
    };
  },
};

/** The floor kernels this process has: the scalar GEMM always, the runtime's Wasm-SIMD GEMM where
 *  it exists and this engine runs WebAssembly SIMD (a note says why when it does not). */
export async function floorKernels(): Promise<{ kernels: FloorKernel[]; notes: string[] }> {
  const kernels: FloorKernel[] = [scalarFloor];
  const notes: string[] = [];
  const wasm = await wasmGemm();
  if (typeof wasm === 'string') notes.push(wasm);
  else kernels.push(wasm);
  return { kernels, notes };
}

/** The runtime's WebAssembly-SIMD GEMM (runtime/wasm/dense.ts, the kernels generated modules call
 *  for dense blocks), or why there is none. It computes A·Bᵀ with both operands K-contiguous in its
 *  own memory, and stores the product into C from JavaScript, as a Hessian block is stored. */
async function wasmGemm(): Promise<FloorKernel | string> {
  const probe = createDenseKernels();
  if (!probe.simd) return 'no WebAssembly-SIMD floor: this engine runs no WebAssembly SIMD (runtime/wasm fell back to JavaScript)';
  return {
    name: 'Wasm SIMD GEMM',
    setup(m, n, k) {
      const kernels = createDenseKernels();
      const [A, Bt] = kernels.alloc([m * k, n * k]) as [Float64Array, Float64Array];
      fillA(m, k, A);
      for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) Bt[j * k + p] = entryB(n, p, j);
      const C = new Float64Array(m * n);
      return {
        run: () => kernels.block(A, 0, k, Bt, 0, k, m, n, k, C, 0, n, 1, 0, 0, 0, 1, DENSE_ASSIGN, false, null, 0, 1, 0, 0, 1, 0, 0),
        result: () => C,
      };
    },
  };
}

/** The shape of the floor's GEMM for a multiply-add count: square-ish m = n (a multiple of 4, so
 *  no edge work), k = count / (m·n), the whole at most `cap` multiply-adds (larger counts are
 *  timed at the cap and scaled: the rate no longer depends on the size there). */
export function floorShape(madds: number, cap = 4e8): { m: number; n: number; k: number; madds: number } {
  const target = Math.max(64, Math.min(madds, cap));
  // Square blocks of at most 256 × 256 (C stays in L2) with a long k, as a Hessian block's
  // contraction over the batch is long.
  let m = Math.max(4, Math.min(256, 4 * Math.round(Math.cbrt(target) / 4)));
  const k = Math.max(1, Math.round(target / (m * m)));
  if (m * m * k > 2 * target) m = Math.max(4, 4 * Math.floor(Math.sqrt(target / k) / 4));
  return { m, n: m, k, madds: m * m * k };
}

export interface FloorTiming {
  readonly name: string;
  /** Multiply-adds per second (median of the samples). */
  readonly rate: number;
  /** The GEMM timed: m × n × k. */
  readonly shape: { m: number; n: number; k: number };
  /** Floor time for the requested count: count / rate, in ms. */
  readonly ms: number;
  /** max |C − C_ref| / max |C_ref| against the scalar GEMM's result (0 for the scalar one). */
  readonly check: number;
}

/** Times a floor kernel at `madds` multiply-adds (a GEMM of that count, or of `cap` scaled),
 *  medians of samples on `clock` after a warm-up of at least `warmupMs` on it, within `budgetMs`
 *  (wall). Its product is checked against the scalar GEMM's. */
export function timeFloor(kernel: FloorKernel, madds: number, o: { warmupMs: number; targetMs: number; budgetMs: number; clock: Clock }): FloorTiming {
  const s = floorShape(madds);
  const { run: call, result } = kernel.setup(s.m, s.n, s.k);
  const start = performance.now();
  const c0 = clockMs(o.clock);
  // Warm-up: the JIT (or Wasm tier-up) and the caches.
  let calls = 0;
  do {
    call();
    calls++;
  } while (clockMs(o.clock) - c0 < o.warmupMs && performance.now() - start < o.budgetMs / 2);
  const perCall = (clockMs(o.clock) - c0) / calls;
  // Batches of about 2 ms: the clock's resolution does not matter.
  const batch = Math.max(1, Math.ceil(2 / Math.max(perCall, 1e-6)));
  const samples: number[] = [];
  let spent = 0;
  const end = start + o.budgetMs;
  while (samples.length < 3 || (spent < o.targetMs && samples.length < 200)) {
    const t0 = performance.now();
    const k0 = clockMs(o.clock);
    for (let i = 0; i < batch; i++) call();
    const dt = clockMs(o.clock) - k0;
    samples.push(dt / batch);
    spent += dt;
    if (performance.now() + (performance.now() - t0) > end) break;
  }
  const ms = median(samples);
  const rate = s.madds / (ms / 1000);
  // Correctness: the product against the scalar kernel's.
  let check = 0;
  if (kernel !== scalarFloor) {
    const ref = scalarFloor.setup(s.m, s.n, s.k);
    ref.run();
    const R = ref.result();
    const C = result();
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < R.length; i++) {
      const d = Math.abs(C[i]! - R[i]!);
      if (d > diff || d !== d) diff = d;
      scale = Math.max(scale, Math.abs(R[i]!));
    }
    check = diff / (scale || 1);
  }
  return { name: kernel.name, rate, shape: { m: s.m, n: s.n, k: s.k }, ms: (madds / rate) * 1000, check };
}
