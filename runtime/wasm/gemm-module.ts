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
//   tile(ap, bp, kc, o, ors, m, scale, h, w, mirror)
//                                              micro's piece v = scale·Σ_k ap[k] ⊗ bp[k], its first
//                                              h rows and w columns added straight at o (rows ors
//                                              apart, columns contiguous), with `mirror` also
//                                              transposed at m
//   gram(a, lda, n, np, K, ap, t, o, ors, scale, mode, upper)
//                                              T = A·Aᵀ (K ≤ KC) stored as store's modes do into an
//                                              output with contiguous columns, the mirror of (r, c)
//                                              at (c, r): A packed, the pieces by tile where they
//                                              can be, else by micro into t and store

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
  const acc = (i: number, j: number) => `acc${i}${j}`;
  /**
   * The micro-kernel's locals and its loop over k: acc(i, j) (f64x2, columns 2j and 2j + 1 of row
   * i) = Σ_k ap[k][i]·bp[k][2j .. 2j + 1], reading ap and bp (panels of 4, k-major) for kc steps.
   * One k step per iteration: two B vectors, four broadcasts of A, eight multiply-adds (f64x2).
   * V8's optimizing compiler loads all of an iteration's operands first; with a 6-row tile or two
   * steps per iteration they no longer fit beside the accumulators in x86-64's 16 vector registers
   * and accumulators spill to the stack (6 × 4, two steps: 6.7 GMAC/s; 4 × 4, one step: 9.9).
   */
  const accumulate = (fb: FunctionBuilder): void => {
    fb.local('k', 'i32').local('b0', 'v128').local('b1', 'v128').local('x', 'v128');
    for (let i = 0; i < MICRO_ROWS; i++) for (let j = 0; j < 2; j++) fb.local(acc(i, j), 'v128');
    fb.get('kc').set('k');
    fb.loop(
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
  };
  const micro = new FunctionBuilder('micro', [['ap', 'i32'], ['bp', 'i32'], ['kc', 'i32'], ['c', 'i32'], ['ldc', 'i32']]);
  accumulate(micro);
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
  const STORE = 4;

  // ---- tile ----
  // micro's 4 × 4 piece, scaled, straight into the output: its first h rows and w columns added at
  // o (rows ors apart, columns contiguous), and with `mirror` also added transposed at m (rows ors
  // apart). For Gram products (gram below): no tile of T to clear, write and read back, and the
  // mirror's columns become rows by shuffles.
  const tile = new FunctionBuilder('tile', [
    ['ap', 'i32'], ['bp', 'i32'], ['kc', 'i32'], ['o', 'i32'], ['ors', 'i32'], ['m', 'i32'], ['scale', 'f64'],
    ['h', 'i32'], ['w', 'i32'], ['mirror', 'i32'],
  ]);
  accumulate(tile);
  tile.local('s', 'v128').local('lo', 'v128').local('hi', 'v128');
  tile.get('scale').simd(V128.f64x2Splat).set('s');
  for (let i = 0; i < MICRO_ROWS; i++) for (let j = 0; j < 2; j++) tile.get(acc(i, j)).get('s').simd(V128.f64x2Mul).set(acc(i, j));
  /** out[p + off …] += v: both lanes, or (`lane`) lane 0 only. */
  const put = (f: FunctionBuilder, p: string, off: number, v: string, lane: boolean): void => {
    if (lane) f.get(p).get(p).op(F64.load, ...memarg(3, off)).get(v).simd(V128.f64x2ExtractLane, 0).op(F64.add).op(F64.store, ...memarg(3, off));
    else f.get(p).get(p).simd(V128.load, ...memarg(3, off)).get(v).simd(V128.f64x2Add).simd(V128.store, ...memarg(3, off));
  };
  /** out[p …] += the first `count` (1 … 4) of lo's and hi's four lanes. */
  const putFirst = (f: FunctionBuilder, p: string, count: string): void => {
    f.get(count).i32(2).op(I32.geS).ifElse((g) => put(g, p, 0, 'lo', false), (g) => put(g, p, 0, 'lo', true));
    f.get(count).i32(4).op(I32.geS).ifElse(
      (g) => put(g, p, 16, 'hi', false),
      (g) => g.get(count).i32(3).op(I32.eq).ifElse((x) => put(x, p, 16, 'hi', true)),
    );
  };
  /** Each of the first `count` rows at p: lo and hi set by `vectors`, added by putFirst. */
  const putRows = (f: FunctionBuilder, p: string, count: string, width: string, vectors: (f: FunctionBuilder, j: number) => void): void => {
    for (let j = 0; j < 4; j++) {
      const body = (g: FunctionBuilder) => {
        vectors(g, j);
        putFirst(g, p, width);
        if (j < 3) g.inc(p, 'ors');
      };
      if (j === 0) body(f);
      else f.get(count).i32(j).op(I32.gtS).ifElse(body);
    }
  };
  putRows(tile, 'o', 'h', 'w', (g, i) => g.get(acc(i, 0)).set('lo').get(acc(i, 1)).set('hi'));
  tile.get('mirror').ifElse((f) => {
    // Row j of the mirror is column j of the piece: lane j mod 2 of acc(0 … 3, ⌊j/2⌋), gathered in
    // pairs by i8x16.shuffle (bytes 8l … 8l + 7 of each operand).
    const column = (g: FunctionBuilder, r0: number, r1: number, j: number, into: string) => {
      const bytes = [...Array(8).keys()].map((b) => 8 * (j & 1) + b);
      g.get(acc(r0, j >> 1)).get(acc(r1, j >> 1)).simd(V128.shuffle, ...bytes, ...bytes.map((b) => b + 16)).set(into);
    };
    putRows(f, 'm', 'w', 'h', (g, j) => {
      column(g, 0, 1, j, 'lo');
      column(g, 2, 3, j, 'hi');
    });
  });
  const TILE = 5;

  // ---- pack4 ----
  // pack(…, w = 4) for whole panels by SIMD: two k at a time, the four rows' pairs shuffled into
  // the panel's two k-rows (the 3-5-1 MLP's 26 × 7 sides: 76 → 46 ns); a panel cut by count, and
  // an odd k at the end, as pack does them.
  const pack4 = new FunctionBuilder('pack4', [['src', 'i32'], ['ld', 'i32'], ['count', 'i32'], ['padded', 'i32'], ['kc', 'i32'], ['dst', 'i32']]);
  pack4.local('p', 'i32').local('s0', 'i32').local('d', 'i32').local('k', 'i32').local('v0', 'v128').local('v1', 'v128').local('v2', 'v128').local('v3', 'v128');
  const lanes = (l: number) => [...Array(8).keys()].map((b) => 8 * l + b);
  pack4.loop(
    (f) => f.get('p').get('padded').op(I32.geS),
    (f) => {
      f.get('dst').get('p').get('kc').op(I32.mul).i32(3).op(I32.shl).op(I32.add).set('d');
      f.get('src').get('p').get('ld').op(I32.mul).op(I32.add).set('s0');
      f.get('p').i32(4).op(I32.add).get('count').op(I32.leS).ifElse(
        (g) => {
          g.i32(0).set('k');
          g.loop(
            (x) => x.get('k').i32(2).op(I32.add).get('kc').op(I32.gtS),
            (x) => {
              for (let r = 0; r < 4; r++) {
                x.get('s0');
                for (let q = 0; q < r; q++) x.get('ld').op(I32.add);
                x.simd(V128.load, ...memarg(3, 0)).set(`v${r}`);
              }
              for (const [at, a, b, l] of [[0, 0, 1, 0], [16, 2, 3, 0], [32, 0, 1, 1], [48, 2, 3, 1]] as const) {
                x.get('d').get(`v${a}`).get(`v${b}`).simd(V128.shuffle, ...lanes(l), ...lanes(l).map((y) => y + 16)).simd(V128.store, ...memarg(3, at));
              }
              x.inc('s0', 16).inc('d', 64).inc('k', 2);
            },
          );
          // The odd k left: four scalars.
          g.get('k').get('kc').op(I32.ltS).ifElse((x) => {
            for (let r = 0; r < 4; r++) {
              x.get('d').get('s0');
              for (let q = 0; q < r; q++) x.get('ld').op(I32.add);
              x.op(F64.load, ...memarg(3)).op(F64.store, ...memarg(3, 8 * r));
            }
          });
        },
        (g) => g.get('s0').get('ld').get('count').get('p').op(I32.sub).i32(4).get('kc').get('d').i32(4).call(PACK),
      );
      f.inc('p', 4);
    },
  );
  const PACK4 = 7;

  // ---- gram ----
  // T = A·Aᵀ for A [n × K] (K ≤ KC, one block), scale·T stored as store's modes do into an output in
  // this memory whose columns are contiguous (o, rows ors apart; mode 2's mirror of (r, c) is
  // (c, r)), only the pieces at or above the diagonal when `upper`. A is packed once; with mode 1
  // or 2 every piece goes straight to the output by tile, except a diagonal piece that must be cut
  // at the diagonal (those, and all of mode 0's, by micro into the scratch piece t, then store). A
  // diagonal piece is exactly symmetric (the same products summed in the same order), so with
  // `upper` and the mirror, adding all of it once adds each entry above the diagonal at its place
  // and at its mirror. One call for a small Gram product (the 3-5-1 MLP's: 0.51 µs, against 0.84
  // through gemm and a JavaScript-driven store).
  const gram = new FunctionBuilder('gram', [
    ['a', 'i32'], ['lda', 'i32'], ['n', 'i32'], ['np', 'i32'], ['K', 'i32'], ['ap', 'i32'], ['t', 'i32'],
    ['o', 'i32'], ['ors', 'i32'], ['scale', 'f64'], ['mode', 'i32'], ['upper', 'i32'],
  ]);
  // select(x, y, c): x when c ≠ 0, else y.
  const SELECT = 0x1b;
  gram.local('ir', 'i32').local('jr', 'i32').local('pb', 'i32').local('h', 'i32').local('w', 'i32').local('q', 'i32');
  gram.get('a').get('lda').get('n').get('np').get('K').get('ap').call(PACK4);
  gram.loop(
    (f) => f.get('jr').get('np').op(I32.geS),
    (f) => {
      f.get('ap').get('jr').get('K').op(I32.mul).i32(3).op(I32.shl).op(I32.add).set('pb');
      // w = min(4, n − jr)
      f.i32(MICRO_COLS).get('n').get('jr').op(I32.sub).tee('q').get('q').i32(MICRO_COLS).op(I32.gtS).op(SELECT).set('w');
      f.i32(0).set('ir');
      f.loop(
        (g) => g.get('ir').get('np').op(I32.geS).get('upper').get('ir').get('jr').op(I32.gtS).op(I32.and).op(I32.or),
        (g) => {
          g.i32(MICRO_ROWS).get('n').get('ir').op(I32.sub).tee('q').get('q').i32(MICRO_ROWS).op(I32.gtS).op(SELECT).set('h');
          const pa = (h: FunctionBuilder) => h.get('ap').get('ir').get('K').op(I32.mul).i32(3).op(I32.shl).op(I32.add);
          const at = (h: FunctionBuilder, r: string, c: string) => h.get('o').get(r).get('ors').op(I32.mul).op(I32.add).get(c).i32(3).op(I32.shl).op(I32.add);
          const direct = (h: FunctionBuilder, mirror: (x: FunctionBuilder) => void) => {
            pa(h).get('pb').get('K');
            at(h, 'ir', 'jr');
            h.get('ors');
            at(h, 'jr', 'ir');
            h.get('scale').get('h').get('w');
            mirror(h);
            h.call(TILE);
          };
          // Added (mode ≠ 0), and off the diagonal or a diagonal piece added whole: (upper and
          // mirror) or (neither: every entry once).
          g.get('ir').get('jr').op(I32.ne).get('upper').get('mode').i32(2).op(I32.eq).op(I32.eq).op(I32.or).get('mode').i32(0).op(I32.ne).op(I32.and);
          g.ifElse(
            (h) => direct(h, (x) => x.get('ir').get('jr').op(I32.ne).get('mode').i32(2).op(I32.eq).op(I32.and)),
            (h) => {
              for (let b = 0; b < MICRO_ROWS * MICRO_COLS * 8; b += 16) h.get('t').simd(V128.const, ...new Array<number>(16).fill(0)).simd(V128.store, ...memarg(3, b));
              pa(h).get('pb').get('K').get('t').i32(8 * MICRO_COLS).call(MICRO);
              // store(t, 32, h, w, upper ? jr − ir : 2³⁰, o(ir, jr), ors, 8, o(jr, ir), 8, ors, scale, mode)
              h.get('t').i32(8 * MICRO_COLS).get('h').get('w').get('jr').get('ir').op(I32.sub).i32(1 << 30).get('upper').op(SELECT);
              at(h, 'ir', 'jr');
              h.get('ors').i32(8);
              at(h, 'jr', 'ir');
              h.i32(8).get('ors').get('scale').get('mode').call(STORE);
            },
          );
          g.inc('ir', MICRO_ROWS);
        },
      );
      f.inc('jr', MICRO_COLS);
    },
  );
  return encodeModule([pack, micro, gemm, mul, store, tile, gram, pack4], { pages: 1, exportName: 'memory' });
}

/** A module using one SIMD instruction: `WebAssembly.validate` of it says whether SIMD is there. */
export function simdProbeBytes(): Uint8Array {
  const f = new FunctionBuilder('probe', [], []);
  // v128.const 0; f64x2.extract_lane 0; drop
  f.simd(V128.const, ...new Array<number>(16).fill(0)).simd(V128.f64x2ExtractLane, 0).op(0x1a);
  return encodeModule([f], { pages: 0, exportName: 'memory' });
}
