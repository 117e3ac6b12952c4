// The dense-block kernels (runtime/wasm) against plain loops: every remainder of the 4 × 4
// micro-kernel and of the blocks, the upper-triangle variant, each store mode, operands inside
// and outside the kernels' memory (the output too: then the SIMD kernels store the tiles), and the
// JavaScript fallback forced.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createDenseKernels, DENSE_ADD, DENSE_ADD_MIRROR, DENSE_ASSIGN, DENSE_KC, DENSE_MB, DENSE_NB, DENSE_WASM, DENSE_WIDE_NB, type DenseKernels } from '../../runtime/wasm/dense.ts';
import { gemmModuleBytes } from '../../runtime/wasm/gemm-module.ts';
import { makeRng } from '../helpers/rng.ts';

interface Case { R: number; C: number; K: number; lda: number; ldb: number }

/**
 * Runs block() on random operands and compares with the naive loops' result. `outInMemory`: the
 * output is a view on the kernels' memory too (with `inMemory`).
 */
function check(k: DenseKernels, c: Case, mode: number, upper: boolean, inMemory: boolean, seed: number, factor = false, outInMemory = false): number {
  const g = makeRng(seed);
  const rand = () => g.next();
  // Output laid out like a Hessian of side n with the block at (or0, oc0), mirror at (oc0, or0).
  const n = c.R + c.C + 3;
  const [A, B, O] = inMemory ? k.alloc([c.R * c.lda + 3, c.C * c.ldb + 5, n * n]) : [new Float64Array(c.R * c.lda + 3), new Float64Array(c.C * c.ldb + 5)];
  for (let i = 0; i < A!.length; i++) A![i] = rand() - 0.5;
  for (let i = 0; i < B!.length; i++) B![i] = rand() - 0.5;
  const or0 = 1;
  const oc0 = upper ? 1 : c.R + 2;
  const out = outInMemory ? O! : new Float64Array(n * n);
  expect(k.inMemory(out)).toBe(outInMemory && k.simd);
  for (let i = 0; i < out.length; i++) out[i] = rand();
  const want = out.slice();
  const scale = -1.75;
  // A factor per entry, F[2 + fr(r) + fc(c)] with rows and columns seen as [R/2-ish, radix] grids.
  const fr = [Math.max(1, c.R >> 1), 7, 2] as const;
  const fc = [Math.max(1, c.C >> 1), 3, 5] as const;
  const fAt = (r: number, q: number) => 2 + Math.floor(r / fr[0]) * fr[1] + (r % fr[0]) * fr[2] + Math.floor(q / fc[0]) * fc[1] + (q % fc[0]) * fc[2];
  const F = factor ? new Float64Array(fAt(c.R, c.C) + 40).map(() => rand() + 0.5) : null;
  for (let r = 0; r < c.R; r++) {
    for (let q = upper ? r : 0; q < c.C; q++) {
      let s = 0;
      for (let kk = 0; kk < c.K; kk++) s += A![3 + r * c.lda + kk]! * B![5 + q * c.ldb + kk]!;
      if (F) s *= F[fAt(r, q)]!;
      const at = (or0 + r) * n + oc0 + q;
      const m = (oc0 + q) * n + or0 + r;
      if (mode === DENSE_ASSIGN) want[at] = scale * s;
      else want[at] += scale * s;
      if (mode === DENSE_ADD_MIRROR && m !== at) want[m] += scale * s;
    }
  }
  k.block(A!, 3, c.lda, B!, 5, c.ldb, c.R, c.C, c.K, out, or0 * n + oc0, n, 1, oc0 * n + or0, 1, n, scale, mode, upper, F, 2, fr[0], fr[1], fr[2], fc[0], fc[1], fc[2]);
  let err = 0;
  for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return err;
}

/**
 * A Gram product A·Aᵀ (both sides the same rows of one array) into an output in the kernels'
 * memory, laid out like a Hessian of side n with the block at (1, 1): with `mirror` 'transpose',
 * the mirror of (r, c) is (c, r) (the WebAssembly gram kernel's case), with 'shifted' one column
 * further (the general path). Against the sums written out.
 */
function checkGram(k: DenseKernels, R: number, K: number, lda: number, mode: number, upper: boolean, mirror: 'transpose' | 'shifted', seed: number): number {
  const g = makeRng(seed);
  const n = R + 3;
  const [A, out] = k.alloc([R * lda + 3, n * n]) as [Float64Array, Float64Array];
  for (let i = 0; i < A.length; i++) A[i] = g.next() - 0.5;
  for (let i = 0; i < out.length; i++) out[i] = g.next();
  const want = out.slice();
  const scale = 0.625;
  const shift = mirror === 'transpose' ? 0 : 1;
  for (let r = 0; r < R; r++) {
    for (let q = upper ? r : 0; q < R; q++) {
      let s = 0;
      for (let kk = 0; kk < K; kk++) s += A[3 + r * lda + kk]! * A[3 + q * lda + kk]!;
      const at = (1 + r) * n + 1 + q;
      const m = (1 + q) * n + 1 + shift + r;
      if (mode === DENSE_ASSIGN) want[at] = scale * s;
      else want[at] += scale * s;
      if (mode === DENSE_ADD_MIRROR && m !== at) want[m] += scale * s;
    }
  }
  k.block(A, 3, lda, A, 3, lda, R, R, K, out, n + 1, n, 1, n + 1 + shift, 1, n, scale, mode, upper, null, 0, 1, 0, 0, 1, 0, 0);
  let err = 0;
  for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return err;
}

const small: Case[] = [];
for (const R of [1, 2, 5, 6, 7, 11, 12, 13]) for (const C of [1, 3, 4, 5, 8, 9]) for (const K of [1, 2, 3, 8, 17]) small.push({ R, C, K, lda: K + (R % 3), ldb: K + (C % 2) });
// Past one block in every direction (rows, columns, depth), with remainders.
const large: Case[] = [
  { R: DENSE_MB + 7, C: DENSE_NB + 3, K: DENSE_KC + 5, lda: DENSE_KC + 5, ldb: DENSE_KC + 9 },
  { R: 2 * DENSE_MB + 1, C: DENSE_NB - 1, K: 2 * DENSE_KC + 1, lda: 2 * DENSE_KC + 1, ldb: 2 * DENSE_KC + 1 },
];

describe.each([
  ['WebAssembly SIMD', { simd: true }],
  ['JavaScript fallback', { simd: false }],
])('dense kernels: %s', (_name, opts) => {
  const k = createDenseKernels(opts.simd ? {} : { simd: false });
  it('runs the kernel it says', () => {
    // Node 20 has WebAssembly SIMD: the default must use it.
    expect(k.simd).toBe(opts.simd);
  });
  it('matches the naive loops for every remainder, mode and the upper triangle', () => {
    let seed = 1;
    let worst = 0;
    for (const c of small) {
      for (const mode of [DENSE_ASSIGN, DENSE_ADD, DENSE_ADD_MIRROR]) {
        worst = Math.max(worst, check(k, c, mode, false, true, seed++));
        worst = Math.max(worst, check(k, c, mode, false, true, seed++, true));
        if (c.R === c.C && c.lda === c.ldb) worst = Math.max(worst, check(k, c, DENSE_ADD_MIRROR, true, true, seed++), check(k, c, DENSE_ADD_MIRROR, true, true, seed++, true));
      }
    }
    expect(worst).toBeLessThan(1e-14);
  });
  it('stores into an output in its memory: every remainder, mode, the upper triangle and a mirror', () => {
    let seed = 5000;
    let worst = 0;
    for (const c of small) {
      for (const mode of [DENSE_ASSIGN, DENSE_ADD, DENSE_ADD_MIRROR]) {
        worst = Math.max(worst, check(k, c, mode, false, true, seed++, false, true), check(k, c, mode, false, true, seed++, true, true));
        if (c.R === c.C && c.lda === c.ldb) worst = Math.max(worst, check(k, c, mode, true, true, seed++, false, true));
      }
    }
    for (const c of large) worst = Math.max(worst, check(k, { ...c, C: c.R, ldb: c.lda }, DENSE_ADD_MIRROR, true, true, 9, false, true));
    expect(worst).toBeLessThan(1e-13);
  });
  it('computes Gram products (A·Aᵀ, one call in WebAssembly) for every remainder, mode, triangle and mirror', () => {
    let seed = 9000;
    let worst = 0;
    let cases = 0;
    for (const R of [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 26, DENSE_MB - 1, DENSE_MB]) {
      for (const K of [1, 2, 7, 16, DENSE_KC]) {
        for (const mode of [DENSE_ASSIGN, DENSE_ADD, DENSE_ADD_MIRROR]) {
          for (const upper of [true, false]) {
            for (const mirror of ['transpose', 'shifted'] as const) {
              worst = Math.max(worst, checkGram(k, R, K, K + (R % 3), mode, upper, mirror, seed++));
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(13 * 5 * 3 * 2 * 2);
    expect(worst).toBeLessThan(1e-13);
  });
  it('matches across block boundaries (rows, columns and depth), upper triangle included', () => {
    let worst = 0;
    for (const c of large) worst = Math.max(worst, check(k, c, DENSE_ADD_MIRROR, false, true, 7), check(k, { ...c, C: c.R, ldb: c.lda }, DENSE_ADD_MIRROR, true, true, 8));
    expect(worst).toBeLessThan(1e-13);
  });
  it('accepts operands outside its memory (computed by the JavaScript kernel)', () => {
    expect(check(k, small[77]!, DENSE_ADD, false, false, 3)).toBeLessThan(1e-14);
  });
});

/** wMem: w is a view on the kernels' memory (their SIMD mul forms U from it), else a separate array. */
interface PairCase { m: number; m2: number; S: number; diagonal: boolean; w: boolean; wMem?: boolean; G: boolean; K: boolean; assign?: boolean }

/**
 * pairs() on random operands against the sums written out (the δ form: Σ_s w·A[a]·A[c]·B[b] at
 * (a, b, c, b) only): a parameter X[m, m2] whose own Hessian
 * block sits at rows and columns 2… of an n × n output (entry (a, b) at index a·m2 + b), so that
 * out(a, b, c, d) = H[2 + a·m2 + b, 2 + c·m2 + d] and the mirror is its transpose.
 */
function checkPairs(k: DenseKernels, c: PairCase, seed: number): number {
  const g = makeRng(seed);
  const rand = () => g.next() - 0.5;
  const { m, m2, S } = c;
  const P = (m * (m + 1)) / 2;
  const Q = c.diagonal ? m2 : (m2 * (m2 + 1)) / 2;
  const [A, B, U, V, Wm] = k.alloc([m * S + 1, m2 * S + 2, P * S, Q * S, S + 3]);
  for (let i = 0; i < A!.length; i++) A![i] = rand();
  for (let i = 0; i < B!.length; i++) B![i] = rand();
  for (let i = 0; i < Wm!.length; i++) Wm![i] = rand();
  const W = c.w ? (c.wMem ? Wm! : Float64Array.from({ length: S + 3 }, rand)) : null;
  const Gm = c.G ? Float64Array.from({ length: 4 + m2 * m2 }, rand) : null;
  const Km = c.K ? Float64Array.from({ length: 5 + m * m }, rand) : null;
  const n = m * m2 + 4;
  const out = Float64Array.from({ length: n * n }, rand);
  const want = out.slice();
  const pos = (x0: number, x1: number, x2: number, x3: number) => (2 + x0 * m2 + x1) * n + 2 + x2 * m2 + x3;
  const scale = 1.5;
  // Assigned: every entry of the block once, whatever the output held before.
  if (c.assign) for (let a = 0; a < m; a++) for (let b = 0; b < m2; b++) for (let cc = 0; cc < m; cc++) for (let d = 0; d < m2; d++) want[pos(a, b, cc, d)] = 0;
  for (let a = 0; a < m; a++) {
    for (let cc = a; cc < m; cc++) {
      for (let b = 0; b < m2; b++) {
        for (let d = b; d < (c.diagonal ? b + 1 : m2); d++) {
          let t = 0;
          // (The δ form: B once, Σ_s w·A[a]·A[c]·B[b].)
          for (let s = 0; s < S; s++) t += (W ? W[2 + s]! : 1) * A![1 + a * S + s]! * A![1 + cc * S + s]! * B![2 + b * S + s]! * (c.diagonal ? 1 : B![2 + d * S + s]!);
          t *= scale * (Km ? Km[5 + a * m + cc]! : 1);
          const g1 = Gm ? Gm[4 + b * m2 + d]! : 1;
          const x = pos(a, b, cc, d);
          const y = pos(cc, d, a, b);
          want[x] += t * g1;
          if (y !== x) want[y] += t * g1;
          if (a < cc && b < d) {
            const g2 = Gm ? Gm[4 + d * m2 + b]! : 1;
            want[pos(a, d, cc, b)] += t * g2;
            want[pos(cc, b, a, d)] += t * g2;
          }
        }
      }
    }
  }
  // out(x) = base + x0·m2·n + x1·n + x2·m2 + x3; the mirror base + x0·m2 + x1 + x2·m2·n + x3·n.
  const base = 2 * n + 2;
  k.pairs(A!, 1, S, B!, 2, S, m, m2, c.diagonal, S, W, 2, U!, V!, out, base, m2 * n, n, m2, 1, base, m2, 1, m2 * n, n,
    scale, Gm, 4, m2, 1, Km, 5, m, 1, c.assign === true);
  let err = 0;
  for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return err;
}

describe.each([
  ['WebAssembly SIMD', { simd: true }],
  ['JavaScript fallback', { simd: false }],
])('pair kernel: %s', (_name, opts) => {
  const k = createDenseKernels(opts.simd ? {} : { simd: false });
  // Column pairs in one tile (Q ≤ DENSE_NB), in one wide tile (DENSE_NB < Q ≤ DENSE_WIDE_NB) and
  // past it (tiles of DENSE_NB), rows past one row tile; every combination of the optional
  // factors; the δ form.
  const wideM2 = 20;
  const tiledM2 = Math.ceil(Math.sqrt(2 * DENSE_WIDE_NB)) + 1;
  const cases: PairCase[] = [];
  for (const [m, m2] of [[3, 1], [5, wideM2], [15, 7], [4, tiledM2], [2, 12]] as const) {
    for (const diagonal of [false, true]) {
      for (const f of [0, 7]) cases.push({ m, m2, S: m === 15 ? DENSE_KC + 3 : 9, diagonal, w: (f & 1) !== 0, G: (f & 2) !== 0, K: (f & 4) !== 0 });
      cases.push({ m, m2, S: 9, diagonal, w: true, wMem: true, G: false, K: false });
    }
  }
  cases.push({ m: 6, m2: 5, S: 4, diagonal: false, w: true, G: false, K: true });
  // Assigning instead of adding (a block left uncleared), in each column tiling.
  for (const [m, m2] of [[5, wideM2], [15, 7], [4, tiledM2], [3, 1]] as const) cases.push({ m, m2, S: 9, diagonal: false, w: true, G: true, K: true, assign: true });
  it('covers both column tilings', () => {
    expect((wideM2 * (wideM2 + 1)) / 2).toBeGreaterThan(DENSE_NB);
    expect((wideM2 * (wideM2 + 1)) / 2).toBeLessThanOrEqual(DENSE_WIDE_NB);
    expect((tiledM2 * (tiledM2 + 1)) / 2).toBeGreaterThan(DENSE_WIDE_NB);
    expect((15 * 16) / 2).toBeGreaterThan(DENSE_MB);
  });
  it('refuses to assign a diagonal (δ) block, whose entries it does not all write', () => {
    expect(() => checkPairs(k, { m: 3, m2: 2, S: 4, diagonal: true, w: false, G: false, K: false, assign: true }, 1)).toThrow(/diagonal pair block/);
  });
  it('matches the sums written out, at every entry and mirror', () => {
    let worst = 0;
    cases.forEach((c, i) => {
      worst = Math.max(worst, checkPairs(k, c, 100 + i));
    });
    expect(worst).toBeLessThan(1e-13);
  });
});

describe('dense kernels: memory', () => {
  it('recreates the views when the memory grows; arrays come zeroed', () => {
    const k = createDenseKernels();
    const [a] = k.alloc([10]);
    a!.fill(3);
    const [b, c] = k.alloc([4_000_000, 10]);
    expect(b!.buffer).toBe(c!.buffer);
    expect(c!.every((x) => x === 0)).toBe(true);
    expect(b!.length).toBe(4_000_000);
  });
  it('forces the JavaScript kernel with HESSGEN_DENSE=js', () => {
    const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'test/wasm/simd-probe.ts'], { env: { ...process.env, HESSGEN_DENSE: 'js' }, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('simd false');
  });
});

describe('dense kernels: embedded copies', () => {
  it('DENSE_WASM is the module gemm-module.ts assembles, under 4 KB (synchronous compilation on a browser main thread)', () => {
    const bytes = gemmModuleBytes();
    expect(Buffer.from(bytes).toString('base64')).toBe(DENSE_WASM);
    expect(bytes.length).toBeLessThan(4096);
  });
  it('compiler/6-emit/dense-runtime.ts is current', () => {
    const r = spawnSync(process.execPath, ['scripts/embed-dense.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
