// The dense kernels as a WebAssembly module (SIMD, f64x2), assembled with ./encoder.ts.
//
// T = A·Bᵀ for A [R × K] and B [C × K], both with K contiguous (the packed row and column sides
// of a Hessian block, batch innermost). GotoBLAS-style: blocks of K are packed into panels of 4
// rows of A and 4 rows of B (k-major, zero-padded to whole panels), and a 4 × 4 register-blocked
// micro-kernel (8 f64x2 accumulators, which stay in x86-64's 16 vector registers beside the two B
// vectors and four broadcasts) accumulates each 4 × 4 piece of T. The caller (dense.ts) chooses the
// blocks so that a panel of B stays in L1 and the packed A block in L2.
//
// Exports (all pointers and strides in bytes):
//   memory
//   pack(src, ld, count, padded, kc, dst, w)   panels of w rows: dst[p][k][i] = src[p·w + i][k], 0 past count
//   micro(ap, bp, kc, c, ldc)                  T[0..4)[0..4) at c += Σ_k ap[k][0..4) ⊗ bp[k][0..4)
//   gemm(a, lda, b, ldb, R, Rp, C, Cp, K, c, ldc, ap, bp, KC, bPacked, lower)
//                                              T [Rp × Cp at c, rows ldc apart] += A·Bᵀ (Rp, Cp: R, C
//                                              rounded up to 4; ap, bp: packing space for
//                                              Rp·KC and Cp·KC doubles; bPacked = 1: bp holds B
//                                              packed already, all of K, block pc at bp + pc·Cp·8),
//                                              skipping the 4 × 4 pieces at (ir, jr) with
//                                              ir − jr > lower (below a diagonal: upper triangles)
//   mul(dst, x, y, n)                          dst[i] = x[i]·y[i] for i < n (dst may be x or y)
//   store(t, ldt, mb, nb, diag, o, ors, ocs, m, mrs, mcs, scale, mode)
//                                              for i < mb, max(0, i − diag) ≤ j < nb: v = scale·t[i, j]
//                                              (rows ldt apart) assigned (mode 0) or added (1) at
//                                              o + i·ors + j·ocs, and (2) also added at m + i·mrs +
//                                              j·mcs where that is another address

import { encodeModule, F64, FunctionBuilder, I32, memarg, V128 } from './encoder.ts';

export const MICRO_ROWS = 4;
export const MICRO_COLS = 4;

/** The module's bytes (deterministic). */
export function gemmModuleBytes(): Uint8Array {
  // ---- pack ----
  const pack = new FunctionBuilder('pack', [['src', 'i32'], ['ld', 'i32'], ['count', 'i32'], ['padded', 'i32'], ['kc', 'i32'], ['dst', 'i32'], ['w', 'i32']]);
  pack.local('r', 'i32').local('i', 'i32').local('k', 'i32').local('s', 'i32').local('d', 'i32').local('pd', 'i32').local('step', 'i32');
  // step = w·8 bytes between consecutive k in a panel
  pack.get('w').i32(3).op(I32.shl).set('step');
  pack.get('dst').set('pd');
  pack.loop(
    (f) => f.get('r').get('padded').op(I32.geS),
    (f) => {
      f.i32(0).set('i');
      f.loop(
        (g) => g.get('i').get('w').op(I32.geS),
        (g) => {
          g.get('pd').get('i').i32(3).op(I32.shl).op(I32.add).set('d');
          g.i32(0).set('k');
          g.get('r').get('count').op(I32.ltS).ifElse(
            (h) => {
              h.get('src').get('r').get('ld').op(I32.mul).op(I32.add).set('s');
              h.loop(
                (x) => x.get('k').get('kc').op(I32.geS),
                (x) => {
                  x.get('d').get('s').op(F64.load, ...memarg(3)).op(F64.store, ...memarg(3));
                  x.inc('s', 8).inc('d', 'step').inc('k', 1);
                },
              );
            },
            (h) => {
              h.loop(
                (x) => x.get('k').get('kc').op(I32.geS),
                (x) => {
                  x.get('d').f64(0).op(F64.store, ...memarg(3));
                  x.inc('d', 'step').inc('k', 1);
                },
              );
            },
          );
          g.inc('i', 1).inc('r', 1);
        },
      );
      f.get('pd').get('kc').get('step').op(I32.mul).op(I32.add).set('pd');
    },
  );

  // ---- micro ----
  const micro = new FunctionBuilder('micro', [['ap', 'i32'], ['bp', 'i32'], ['kc', 'i32'], ['c', 'i32'], ['ldc', 'i32']]);
  micro.local('k', 'i32').local('b0', 'v128').local('b1', 'v128').local('x', 'v128');
  const acc = (i: number, j: number) => `acc${i}${j}`;
  for (let i = 0; i < MICRO_ROWS; i++) for (let j = 0; j < 2; j++) micro.local(acc(i, j), 'v128');
  // One k step per iteration: two B vectors, four broadcasts of A, eight multiply-adds (f64x2).
  // V8's optimizing compiler loads all of an iteration's operands first; with a 6-row tile or two
  // steps per iteration they no longer fit beside the accumulators in x86-64's 16 vector registers
  // and accumulators spill to the stack (6 × 4, two steps: 6.7 GMAC/s; 4 × 4, one step: 9.9).
  micro.get('kc').set('k');
  micro.loop(
    (f) => f.get('k').op(I32.eqz),
    (f) => {
      f.get('bp').simd(V128.load, ...memarg(4, 0)).set('b0');
      f.get('bp').simd(V128.load, ...memarg(4, 16)).set('b1');
      for (let i = 0; i < MICRO_ROWS; i++) {
        f.get('ap').simd(V128.load64Splat, ...memarg(3, 8 * i)).tee('x');
        f.get('b0').simd(V128.f64x2Mul).get(acc(i, 0)).simd(V128.f64x2Add).set(acc(i, 0));
        f.get('x').get('b1').simd(V128.f64x2Mul).get(acc(i, 1)).simd(V128.f64x2Add).set(acc(i, 1));
      }
      f.inc('ap', 8 * MICRO_ROWS).inc('bp', 8 * MICRO_COLS);
      f.get('k').i32(1).op(I32.sub).set('k');
    },
  );
  for (let i = 0; i < MICRO_ROWS; i++) {
    for (let j = 0; j < 2; j++) {
      // c[i·ldc + 16j] += acc
      micro.get('c').get('c').simd(V128.load, ...memarg(3, 16 * j)).get(acc(i, j)).simd(V128.f64x2Add).simd(V128.store, ...memarg(3, 16 * j));
    }
    if (i < MICRO_ROWS - 1) micro.inc('c', 'ldc');
  }

  // ---- gemm ----
  const gemm = new FunctionBuilder('gemm', [
    ['a', 'i32'], ['lda', 'i32'], ['b', 'i32'], ['ldb', 'i32'], ['R', 'i32'], ['Rp', 'i32'], ['C', 'i32'], ['Cp', 'i32'],
    ['K', 'i32'], ['c', 'i32'], ['ldc', 'i32'], ['ap', 'i32'], ['bp', 'i32'], ['KC', 'i32'], ['bPacked', 'i32'], ['lower', 'i32'],
  ]);
  gemm.local('pc', 'i32').local('kc', 'i32').local('ir', 'i32').local('jr', 'i32').local('bq', 'i32');
  const PACK = 0;
  const MICRO = 1;
  gemm.loop(
    (f) => f.get('pc').get('K').op(I32.geS),
    (f) => {
      // kc = min(KC, K − pc)
      f.get('K').get('pc').op(I32.sub).tee('kc').get('KC').op(I32.gtS).ifElse((g) => g.get('KC').set('kc'));
      f.get('a').get('pc').i32(3).op(I32.shl).op(I32.add).get('lda').get('R').get('Rp').get('kc').get('ap').i32(MICRO_ROWS).call(PACK);
      // B's panels: packed here into bp, or (bPacked = 1) packed already for all of K, the block
      // at pc starting at bp + pc·Cp·8 (so that one packing serves many calls).
      f.get('bp').get('bPacked').get('pc').op(I32.mul).get('Cp').op(I32.mul).i32(3).op(I32.shl).op(I32.add).set('bq');
      f.get('bPacked').op(I32.eqz).ifElse((g) => {
        g.get('b').get('pc').i32(3).op(I32.shl).op(I32.add).get('ldb').get('C').get('Cp').get('kc').get('bp').i32(MICRO_COLS).call(PACK);
      });
      f.i32(0).set('jr');
      f.loop(
        (g) => g.get('jr').get('Cp').op(I32.geS),
        (g) => {
          g.i32(0).set('ir');
          // Rows run down to the last piece at or above the diagonal `lower` (all of them for a large one).
          g.loop(
            (h) => h.get('ir').get('Rp').op(I32.geS).get('ir').get('jr').op(I32.sub).get('lower').op(I32.gtS).op(I32.or),
            (h) => {
              // micro(ap + ir·kc·8, bp + jr·kc·8, kc, c + ir·ldc + jr·8, ldc)
              h.get('ap').get('ir').get('kc').op(I32.mul).i32(3).op(I32.shl).op(I32.add);
              h.get('bq').get('jr').get('kc').op(I32.mul).i32(3).op(I32.shl).op(I32.add);
              h.get('kc');
              h.get('c').get('ir').get('ldc').op(I32.mul).op(I32.add).get('jr').i32(3).op(I32.shl).op(I32.add);
              h.get('ldc').call(MICRO);
              h.inc('ir', MICRO_ROWS);
            },
          );
          g.inc('jr', MICRO_COLS);
        },
      );
      f.inc('pc', 'KC');
    },
  );

  // ---- mul ----
  // The pair kernels' sides (dense.ts, pairs()): U[p] = A[a]·A[c] over all row pairs, as many
  // products as the pair block has rows × the batch. In JavaScript they took a third of the
  // 64-32-10 δ-form block's time (1.4 of 4.0 ms).
  const mul = new FunctionBuilder('mul', [['dst', 'i32'], ['x', 'i32'], ['y', 'i32'], ['n', 'i32']]);
  mul.loop(
    (f) => f.get('n').i32(2).op(I32.ltS),
    (f) => {
      f.get('dst').get('x').simd(V128.load, ...memarg(3, 0)).get('y').simd(V128.load, ...memarg(3, 0)).simd(V128.f64x2Mul).simd(V128.store, ...memarg(3, 0));
      f.inc('dst', 16).inc('x', 16).inc('y', 16);
      f.get('n').i32(2).op(I32.sub).set('n');
    },
  );
  mul.get('n').ifElse((f) => {
    f.get('dst').get('x').op(F64.load, ...memarg(3)).get('y').op(F64.load, ...memarg(3)).op(F64.mul).op(F64.store, ...memarg(3));
  });
  // ---- store ----
  // A tile of T into an output in this memory (dense.ts, block()): in JavaScript the store loop
  // took a third of the 3-5-1 MLP's Gram product call (0.5 of 1.6 µs).
  const store = new FunctionBuilder('store', [
    ['t', 'i32'], ['ldt', 'i32'], ['mb', 'i32'], ['nb', 'i32'], ['diag', 'i32'],
    ['o', 'i32'], ['ors', 'i32'], ['ocs', 'i32'], ['m', 'i32'], ['mrs', 'i32'], ['mcs', 'i32'], ['scale', 'f64'], ['mode', 'i32'],
  ]);
  store.local('i', 'i32').local('j', 'i32').local('tp', 'i32').local('op', 'i32').local('mp', 'i32').local('v', 'f64');
  store.loop(
    (f) => f.get('i').get('mb').op(I32.geS),
    (f) => {
      // j = max(0, i − diag): the row's first entry on or above the diagonal.
      f.get('i').get('diag').op(I32.sub).tee('j').i32(0).op(I32.ltS).ifElse((g) => g.i32(0).set('j'));
      f.get('t').get('i').get('ldt').op(I32.mul).op(I32.add).get('j').i32(3).op(I32.shl).op(I32.add).set('tp');
      f.get('o').get('i').get('ors').op(I32.mul).op(I32.add).get('j').get('ocs').op(I32.mul).op(I32.add).set('op');
      f.get('m').get('i').get('mrs').op(I32.mul).op(I32.add).get('j').get('mcs').op(I32.mul).op(I32.add).set('mp');
      f.loop(
        (g) => g.get('j').get('nb').op(I32.geS),
        (g) => {
          g.get('scale').get('tp').op(F64.load, ...memarg(3)).op(F64.mul).set('v');
          g.get('mode').op(I32.eqz).ifElse(
            (h) => h.get('op').get('v').op(F64.store, ...memarg(3)),
            (h) => {
              h.get('op').get('op').op(F64.load, ...memarg(3)).get('v').op(F64.add).op(F64.store, ...memarg(3));
              h.get('mode').i32(2).op(I32.eq).ifElse((x) => {
                x.get('mp').get('op').op(I32.ne).ifElse((y) => {
                  y.get('mp').get('mp').op(F64.load, ...memarg(3)).get('v').op(F64.add).op(F64.store, ...memarg(3));
                });
              });
            },
          );
          g.inc('tp', 8).inc('op', 'ocs').inc('mp', 'mcs').inc('j', 1);
        },
      );
      f.inc('i', 1);
    },
  );
  return encodeModule([pack, micro, gemm, mul, store], { pages: 1, exportName: 'memory' });
}

/** A module using one SIMD instruction: `WebAssembly.validate` of it says whether SIMD is there. */
export function simdProbeBytes(): Uint8Array {
  const f = new FunctionBuilder('probe', [], []);
  // v128.const 0; f64x2.extract_lane 0; drop
  f.simd(V128.const, ...new Array<number>(16).fill(0)).simd(V128.f64x2ExtractLane, 0).op(0x1a);
  return encodeModule([f], { pages: 0, exportName: 'memory' });
}
