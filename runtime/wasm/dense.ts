// Dense Hessian blocks on the CPU: T = A·Bᵀ (A [R × K], B [C × K], K contiguous) through the
// WebAssembly SIMD kernels of gemm-module.ts, then scale·T stored (or added, with mirror images)
// into the caller's output at affine positions. Where WebAssembly SIMD is unavailable (or when
// asked), a plain JavaScript kernel with the same semantics runs instead.
//
// Operands live in the kernels' own WebAssembly memory: `alloc` hands out the workspaces as
// Float64Array views on it, so no operand is copied per call. Outputs stay wherever the caller
// keeps them: each block's tile of T is computed into the memory, then stored from JavaScript.
//
// This file is self-contained (no imports): generated CPU modules embed it as is, without its
// `export` keywords (scripts/embed-dense.mjs writes compiler/6-emit/dense-runtime.ts from it, and
// DENSE_WASM from gemm-module.ts; test/wasm/ checks both are current). The module is 3.4 KB, below
// the 4 KB above which a browser's main thread refuses synchronous compilation.

/** The kernels' WebAssembly module (gemm-module.ts), base64. */
export const DENSE_WASM = 'AGFzbQEAAAABYghgB39/f39/f38AYAV/f39/fwBgEH9/f39/f39/f39/f39/f38AYAR/f39/AGANf39/f39/f39/f398fwBgCn9/f39/f3x/f38AYAx/f39/f39/f398f38AYAZ/f39/f38AAwkIAAECAwQFBgcFAwEAAQdECQZtZW1vcnkCAARwYWNrAAAFbWljcm8AAQRnZW1tAAIDbXVsAAMFc3RvcmUABAR0aWxlAAUEZ3JhbQAGBXBhY2s0AAcKoxkIwwEBB38gBkEDdCENIAUhDAJAA0AgByADTg0BQQAhCAJAA0AgCCAGTg0BIAwgCEEDdGohC0EAIQkgByACSARAIAAgByABbGohCgJAA0AgCSAETg0BIAsgCisDADkDACAKQQhqIQogCyANaiELIAlBAWohCQwACwsFAkADQCAJIARODQEgC0QAAAAAAAAAADkDACALIA1qIQsgCUEBaiEJDAALCwsgCEEBaiEIIAdBAWohBwwACwsgDCAEIA1saiEMDAALCwvhAgIBfwt7IAIhBQJAA0AgBUUNASAB/QAEACEGIAH9AAQQIQcgAP0KAwAiCCAG/fIBIAn98AEhCSAIIAf98gEgCv3wASEKIAD9CgMIIgggBv3yASAL/fABIQsgCCAH/fIBIAz98AEhDCAA/QoDECIIIAb98gEgDf3wASENIAggB/3yASAO/fABIQ4gAP0KAxgiCCAG/fIBIA/98AEhDyAIIAf98gEgEP3wASEQIABBIGohACABQSBqIQEgBUEBayEFDAALCyADIAP9AAMAIAn98AH9CwMAIAMgA/0AAxAgCv3wAf0LAxAgAyAEaiEDIAMgA/0AAwAgC/3wAf0LAwAgAyAD/QADECAM/fAB/QsDECADIARqIQMgAyAD/QADACAN/fAB/QsDACADIAP9AAMQIA798AH9CwMQIAMgBGohAyADIAP9AAMAIA/98AH9CwMAIAMgA/0AAxAgEP3wAf0LAxAL1AEBBX8CQANAIBAgCE4NASAIIBBrIhEgDUoEQCANIRELIAAgEEEDdGogASAEIAUgESALQQQQACAMIA4gEGwgB2xBA3RqIRQgDkUEQCACIBBBA3RqIAMgBiAHIBEgDEEEEAALQQAhEwJAA0AgEyAHTg0BQQAhEgJAA0AgEiAFTiASIBNrIA9Kcg0BIAsgEiARbEEDdGogFCATIBFsQQN0aiARIAkgEiAKbGogE0EDdGogChABIBJBBGohEgwACwsgE0EEaiETDAALCyAQIA1qIRAMAAsLC1cAAkADQCADQQJIDQEgACAB/QADACAC/QADAP3yAf0LAwAgAEEQaiEAIAFBEGohASACQRBqIQIgA0ECayEDDAALCyADBEAgACABKwMAIAIrAwCiOQMACwvKAQIFfwF8AkADQCANIAJODQEgDSAEayIOQQBIBEBBACEOCyAAIA0gAWxqIA5BA3RqIQ8gBSANIAZsaiAOIAdsaiEQIAggDSAJbGogDiAKbGohEQJAA0AgDiADTg0BIAsgDysDAKIhEiAMRQRAIBAgEjkDAAUgECAQKwMAIBKgOQMAIAxBAkYEQCARIBBHBEAgESARKwMAIBKgOQMACwsLIA9BCGohDyAQIAdqIRAgESAKaiERIA5BAWohDgwACwsgDUEBaiENDAALCwuxCgIBfw57IAIhCgJAA0AgCkUNASAB/QAEACELIAH9AAQQIQwgAP0KAwAiDSAL/fIBIA798AEhDiANIAz98gEgD/3wASEPIAD9CgMIIg0gC/3yASAQ/fABIRAgDSAM/fIBIBH98AEhESAA/QoDECINIAv98gEgEv3wASESIA0gDP3yASAT/fABIRMgAP0KAxgiDSAL/fIBIBT98AEhFCANIAz98gEgFf3wASEVIABBIGohACABQSBqIQEgCkEBayEKDAALCyAG/RQhFiAOIBb98gEhDiAPIBb98gEhDyAQIBb98gEhECARIBb98gEhESASIBb98gEhEiATIBb98gEhEyAUIBb98gEhFCAVIBb98gEhFSAOIRcgDyEYIAhBAk4EQCADIAP9AAMAIBf98AH9CwMABSADIAMrAwAgF/0hAKA5AwALIAhBBE4EQCADIAP9AAMQIBj98AH9CwMQBSAIQQNGBEAgAyADKwMQIBj9IQCgOQMQCwsgAyAEaiEDIAdBAUoEQCAQIRcgESEYIAhBAk4EQCADIAP9AAMAIBf98AH9CwMABSADIAMrAwAgF/0hAKA5AwALIAhBBE4EQCADIAP9AAMQIBj98AH9CwMQBSAIQQNGBEAgAyADKwMQIBj9IQCgOQMQCwsgAyAEaiEDCyAHQQJKBEAgEiEXIBMhGCAIQQJOBEAgAyAD/QADACAX/fAB/QsDAAUgAyADKwMAIBf9IQCgOQMACyAIQQROBEAgAyAD/QADECAY/fAB/QsDEAUgCEEDRgRAIAMgAysDECAY/SEAoDkDEAsLIAMgBGohAwsgB0EDSgRAIBQhFyAVIRggCEECTgRAIAMgA/0AAwAgF/3wAf0LAwAFIAMgAysDACAX/SEAoDkDAAsgCEEETgRAIAMgA/0AAxAgGP3wAf0LAxAFIAhBA0YEQCADIAMrAxAgGP0hAKA5AxALCwsgCQRAIA4gEP0NAAECAwQFBgcQERITFBUWFyEXIBIgFP0NAAECAwQFBgcQERITFBUWFyEYIAdBAk4EQCAFIAX9AAMAIBf98AH9CwMABSAFIAUrAwAgF/0hAKA5AwALIAdBBE4EQCAFIAX9AAMQIBj98AH9CwMQBSAHQQNGBEAgBSAFKwMQIBj9IQCgOQMQCwsgBSAEaiEFIAhBAUoEQCAOIBD9DQgJCgsMDQ4PGBkaGxwdHh8hFyASIBT9DQgJCgsMDQ4PGBkaGxwdHh8hGCAHQQJOBEAgBSAF/QADACAX/fAB/QsDAAUgBSAFKwMAIBf9IQCgOQMACyAHQQROBEAgBSAF/QADECAY/fAB/QsDEAUgB0EDRgRAIAUgBSsDECAY/SEAoDkDEAsLIAUgBGohBQsgCEECSgRAIA8gEf0NAAECAwQFBgcQERITFBUWFyEXIBMgFf0NAAECAwQFBgcQERITFBUWFyEYIAdBAk4EQCAFIAX9AAMAIBf98AH9CwMABSAFIAUrAwAgF/0hAKA5AwALIAdBBE4EQCAFIAX9AAMQIBj98AH9CwMQBSAHQQNGBEAgBSAFKwMQIBj9IQCgOQMQCwsgBSAEaiEFCyAIQQNKBEAgDyAR/Q0ICQoLDA0ODxgZGhscHR4fIRcgEyAV/Q0ICQoLDA0ODxgZGhscHR4fIRggB0ECTgRAIAUgBf0AAwAgF/3wAf0LAwAFIAUgBSsDACAX/SEAoDkDAAsgB0EETgRAIAUgBf0AAxAgGP3wAf0LAxAFIAdBA0YEQCAFIAUrAxAgGP0hAKA5AxALCwsLC+cDAQZ/IAAgASACIAMgBCAFEAcCQANAIA0gA04NASAFIA0gBGxBA3RqIQ5BBCACIA1rIhEgEUEEShshEEEAIQwCQANAIAwgA04gCyAMIA1KcXINAUEEIAIgDGsiESARQQRKGyEPIAwgDUcgCyAKQQJGRnIgCkEAR3EEQCAFIAwgBGxBA3RqIA4gBCAHIAwgCGxqIA1BA3RqIAggByANIAhsaiAMQQN0aiAJIA8gECAMIA1HIApBAkZxEAUFIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwMAIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwMQIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwMgIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwMwIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwNAIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwNQIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwNgIAb9DAAAAAAAAAAAAAAAAAAAAAD9CwNwIAUgDCAEbEEDdGogDiAEIAZBIBABIAZBICAPIBAgDSAMa0GAgICABCALGyAHIAwgCGxqIA1BA3RqIAhBCCAHIA0gCGxqIAxBA3RqQQggCCAJIAoQBAsgDEEEaiEMDAALCyANQQRqIQ0MAAsLC+ICAgR/BHsCQANAIAYgA04NASAFIAYgBGxBA3RqIQggACAGIAFsaiEHIAZBBGogAkwEQEEAIQkCQANAIAlBAmogBEoNASAH/QADACEKIAcgAWr9AAMAIQsgByABaiABav0AAwAhDCAHIAFqIAFqIAFq/QADACENIAggCiAL/Q0AAQIDBAUGBxAREhMUFRYX/QsDACAIIAwgDf0NAAECAwQFBgcQERITFBUWF/0LAxAgCCAKIAv9DQgJCgsMDQ4PGBkaGxwdHh/9CwMgIAggDCAN/Q0ICQoLDA0ODxgZGhscHR4f/QsDMCAHQRBqIQcgCEHAAGohCCAJQQJqIQkMAAsLIAkgBEgEQCAIIAcrAwA5AwAgCCAHIAFqKwMAOQMIIAggByABaiABaisDADkDECAIIAcgAWogAWogAWorAwA5AxgLBSAHIAEgAiAGa0EEIAQgCEEEEAALIAZBBGohBgwACwsL';

/** Block sizes: rows of A per packed block (a multiple of 4), columns of B (a multiple of 4), depth. */
export const DENSE_MB = 96;
export const DENSE_NB = 192;
export const DENSE_KC = 256;
/**
 * Widest column tile: a pair block with at most this many column pairs is one column tile, so that
 * all the entries a row pair stands for are stored in one pass over it (64-32-10's first layer,
 * 528 column pairs: its block 10-15% faster than in tiles of DENSE_NB; the stores into the n²
 * output are most of the difference). Such a tile's panels of B are packed beforehand, so its T
 * takes the packing space of B and the tile of T together: no more memory than before.
 */
export const DENSE_WIDE_NB = Math.floor((DENSE_NB * DENSE_KC + DENSE_MB * DENSE_NB) / DENSE_MB / 4) * 4;
/** Longest sum whose column tile is packed once for all row tiles (the streamed batch's largest chunk). */
export const DENSE_PACKED_K = 2048;

/** How a block's values land in the output: assigned, added, or added at the entry and at its mirror image. */
export const DENSE_ASSIGN = 0;
export const DENSE_ADD = 1;
export const DENSE_ADD_MIRROR = 2;

/** What the kernels need of the WebAssembly API (declared here: a module must not depend on lib.dom). */
interface DenseWasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

interface DenseWasmExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  pack(src: number, ld: number, count: number, padded: number, kc: number, dst: number, w: number): void;
  gemm(a: number, lda: number, b: number, ldb: number, R: number, Rp: number, C: number, Cp: number, K: number, c: number, ldc: number, ap: number, bp: number, KC: number, bPacked: number, lower: number): void;
  mul(dst: number, x: number, y: number, n: number): void;
  store(t: number, ldt: number, mb: number, nb: number, diag: number, o: number, ors: number, ocs: number, m: number, mrs: number, mcs: number, scale: number, mode: number): void;
  gram(a: number, lda: number, n: number, np: number, K: number, ap: number, t: number, o: number, ors: number, scale: number, mode: number, upper: number): void;
}

export interface DenseKernels {
  /** Whether the WebAssembly SIMD kernels run (false: the JavaScript kernel). */
  readonly simd: boolean;
  /**
   * Float64Arrays of the given lengths, zeroed: views on the kernels' memory with SIMD (each call
   * invalidates the arrays of the previous one), plain arrays otherwise (also when the memory
   * cannot grow that far).
   */
  alloc(lengths: readonly number[]): Float64Array[];
  /** Whether x is a view on the kernels' memory (then the SIMD kernels also store into it). */
  inMemory(x: ArrayLike<number>): boolean;
  /**
   * T[r, c] = Σ_k A[aOff + r·lda + k]·B[bOff + c·ldb + k] for r < R, c < C, k < K, then for each
   * (r, c) (only c ≥ r when `upper`): v = scale·T[r, c] stored at out[oOff + r·ors + c·ocs]
   * (assigned or added, by `mode`), and with DENSE_ADD_MIRROR also added at
   * out[mOff + r·mrs + c·mcs] when that is another position. With a factor array F, v is also
   * multiplied by F[fOff + fr(r) + fc(c)], where fr(r) = ⌊r / fRowRadix⌋·fRowOuter + (r mod
   * fRowRadix)·fRowInner (a row index of up to two coordinates), fc likewise. Without F, into an
   * `out` in the kernels' memory, the SIMD kernels store too.
   */
  block(
    A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, R: number, C: number, K: number,
    out: Float64Array, oOff: number, ors: number, ocs: number, mOff: number, mrs: number, mcs: number,
    scale: number, mode: number, upper: boolean,
    F: ArrayLike<number> | null, fOff: number, fRowRadix: number, fRowOuter: number, fRowInner: number, fColRadix: number, fColOuter: number, fColInner: number,
  ): void;
  /**
   * A pair-symmetric block (compiler/5-lower/loops.ts, PairBlock): with X[x, s] = X[xOff + x·ldx + s],
   * packs U[(a, c), s] = w[s]·A[a, s]·A[c, s] for a ≤ c < m and V[(b, d), s] = B[b, s]·B[d, s] for
   * b ≤ d < m2 (s < S; the pairs in order, rows S apart: U and V must hold m(m+1)/2·S and
   * m2(m2+1)/2·S values, and be views on the kernels' memory for the SIMD kernels; `diagonal`:
   * V = B, d = b, m2·S values, and only out(a, b, c, b) and its mirror are written), multiplies
   * T = U·Vᵀ tile by tile, and adds t = scale·K[a, c]·T at out(a, b, c, d)·G[b, d] and its mirror
   * (once on the diagonal), and when a < c and b < d also t·G[d, b] at out(a, d, c, b) and its
   * mirror; out(x0, x1, x2, x3) = base + Σ x_k·s_k, the mirror mBase + Σ x_k·m_k. F[x, y] is
   * F[fOff + x·frs + y·fcs]; a null w, K or G is 1. `assign` (default false): each of those
   * positions is assigned instead (not with `diagonal`): each is stored once, so that the block
   * need not be cleared first.
   */
  pairs(
    A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, m: number, m2: number, diagonal: boolean, S: number,
    W: ArrayLike<number> | null, wOff: number, U: Float64Array, V: Float64Array,
    out: Float64Array, base: number, s0: number, s1: number, s2: number, s3: number, mBase: number, m0: number, m1: number, m2s: number, m3: number,
    scale: number, G: ArrayLike<number> | null, gOff: number, grs: number, gcs: number, K: ArrayLike<number> | null, kOff: number, krs: number, kcs: number,
    assign?: boolean,
  ): void;
}

let denseModule: object | null | undefined;

/** The compiled module, or null when this JavaScript engine has no WebAssembly SIMD. */
function denseCompiled(): object | null {
  if (denseModule !== undefined) return denseModule;
  denseModule = null;
  const api = (globalThis as unknown as { WebAssembly?: DenseWasmApi }).WebAssembly;
  if (!api) return null;
  const raw = atobPortable(DENSE_WASM);
  // validate() is false where SIMD (or WebAssembly) is missing; the module is its own probe.
  if (!api.validate(raw)) return null;
  try {
    denseModule = new api.Module(raw);
  } catch {
    denseModule = null;
  }
  return denseModule;
}

function atobPortable(s: string): Uint8Array {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = (acc << 6) | digits.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Whether HESSGEN_DENSE=js asks for the JavaScript kernel (tests of the fallback). */
function denseForcedJs(): boolean {
  const proc = (globalThis as unknown as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.['HESSGEN_DENSE'] === 'js';
}

/** Kernels with a memory of their own (one per evaluator). `simd: false` forces the JavaScript kernel. */
export function createDenseKernels(options?: { simd?: boolean }): DenseKernels {
  const compiled = options?.simd === false || denseForcedJs() ? null : denseCompiled();
  let ex: DenseWasmExports | null = null;
  if (compiled) {
    const api = (globalThis as unknown as { WebAssembly: DenseWasmApi }).WebAssembly;
    ex = new api.Instance(compiled, {}).exports as DenseWasmExports;
  }
  // Scratch at the start of the memory (in doubles): packed A, packed B, the tile of T.
  const ldt = DENSE_NB;
  const apAt = 0;
  const bpAt = apAt + DENSE_MB * DENSE_KC;
  const tAt = bpAt + DENSE_NB * DENSE_KC;
  const scratch = tAt + DENSE_MB * ldt;
  // (A wide tile's T, DENSE_MB × DENSE_WIDE_NB at most, starts at bpAt: its panels of B are
  // packed beforehand, so it takes B's packing space and the tile together.)
  // A column tile's panels for all of K, packed once and read by every row tile's product: after
  // the operands (alloc), as long as the longest of them (a tile of B is no longer; + 3 rows: its
  // panels are padded to whole micro-tiles), at most DENSE_NB·DENSE_PACKED_K doubles.
  let bAllAt = 0;
  let bAllSize = 0;
  // A view on all of the memory, made again when it grows (only grow() below grows it), so that a
  // call reads no property of the memory object itself.
  let mem = ex ? new Float64Array(ex.memory.buffer) : new Float64Array(0);
  let memBuffer: ArrayBufferLike = mem.buffer;
  const memory = (): Float64Array => mem;
  // Views found on the memory, with their byte offsets: a typed array's buffer and byteOffset are
  // getters that call into V8's runtime (~10 ns each), eight of them per Hessian call of a small
  // model (4% of the 3-5-1 MLP's). A view's buffer and offset never change; grow() detaches every
  // view, and forgets these.
  const seen: Float64Array[] = [];
  const seenAt: number[] = [];
  const known = (x: Float64Array): number => {
    for (let i = 0; i < seen.length; i++) if (seen[i] === x) return i;
    return -1;
  };
  const grow = (doubles: number): boolean => {
    if (!ex) return false;
    const need = Math.ceil((doubles * 8) / 65536) - mem.buffer.byteLength / 65536;
    if (need > 0) {
      try {
        ex.memory.grow(need);
      } catch {
        return false;
      }
      mem = new Float64Array(ex.memory.buffer);
      memBuffer = mem.buffer;
      seen.length = 0;
      seenAt.length = 0;
    }
    return true;
  };
  const simd = ex !== null && grow(scratch);
  let tileJs: Float64Array | null = null;
  /** Whether x is a view on the kernels' memory: the SIMD kernels read and write only there. */
  const inMemory = (x: ArrayLike<number>): boolean => {
    if (ex === null || !(x instanceof Float64Array)) return false;
    if (known(x) >= 0) return true;
    if (x.buffer !== memBuffer) return false;
    if (seen.length === 8) {
      seen.shift();
      seenAt.shift();
    }
    seen.push(x);
    seenAt.push(x.byteOffset);
    return true;
  };
  /** The byte address of x[at] in the kernels' memory. */
  const address = (x: Float64Array, at: number): number => {
    const i = known(x);
    return (i >= 0 ? seenAt[i]! : x.byteOffset) + 8 * at;
  };

  const alloc = (lengths: readonly number[]): Float64Array[] => {
    const views = lengths.reduce((s, n) => s + n, scratch);
    const packed = Math.min(DENSE_NB * DENSE_PACKED_K, Math.max(0, ...lengths) + 3 * DENSE_PACKED_K);
    bAllSize = 0;
    if (simd && grow(views + packed)) {
      bAllAt = views;
      bAllSize = packed;
      const buf = memory().buffer;
      let at = scratch;
      return lengths.map((n) => {
        const view = new Float64Array(buf, at * 8, n);
        view.fill(0);
        at += n;
        return view;
      });
    }
    return lengths.map((n) => new Float64Array(n));
  };

  /** tile[i·ldt + j] = Σ_k A[a + i·lda + k]·B[b + j·ldb + k], two rows by two columns at a time. */
  const tileInJs = (T: Float64Array, ldt: number, A: Float64Array, a: number, lda: number, B: Float64Array, b: number, ldb: number, mb: number, nb: number, K: number): void => {
    for (let i = 0; i < mb; i += 2) {
      const a0 = a + i * lda;
      const a1 = i + 1 < mb ? a0 + lda : a0;
      for (let j = 0; j < nb; j += 2) {
        const b0 = b + j * ldb;
        const b1 = j + 1 < nb ? b0 + ldb : b0;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let k = 0; k < K; k++) {
          const x0 = A[a0 + k]!;
          const x1 = A[a1 + k]!;
          const y0 = B[b0 + k]!;
          const y1 = B[b1 + k]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        T[i * ldt + j] = s00;
        if (j + 1 < nb) T[i * ldt + j + 1] = s01;
        if (i + 1 < mb) {
          T[(i + 1) * ldt + j] = s10;
          if (j + 1 < nb) T[(i + 1) * ldt + j + 1] = s11;
        }
      }
    }
  };

  /** Where productTile left its tile in the array it returned, and how far apart its rows are. */
  let tileAt = 0;
  let tileLd = ldt;
  /**
   * The tile of T = A·Bᵀ at rows ib … ib+mb−1, columns jb … jb+nb−1 (T[r, c] = Σ_k A[aOff + r·lda
   * + k]·B[bOff + c·ldb + k]): by the SIMD kernels when both operands are views on their memory
   * (they read them in place), by the JavaScript kernel otherwise. `upper`: only the pieces that
   * hold entries with c ≥ r need be right (the SIMD kernels skip the others). `same`: the tile is
   * A·Aᵀ (same rows, K ≤ DENSE_KC), whose panels of A serve as B's.
   */
  const productTile = (A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, ib: number, mb: number, jb: number, nb: number, K: number, bPacked: boolean, upper: boolean, same = false): Float64Array => {
    if (simd && ex !== null && inMemory(A) && inMemory(B)) {
      const T = memory();
      const Rp = Math.ceil(mb / 4) * 4;
      const Cp = Math.ceil(nb / 4) * 4;
      // A wide tile (B packed beforehand) takes B's packing space too.
      const wide = nb > DENSE_NB;
      if (wide && !bPacked) throw new Error('internal: a dense tile wider than DENSE_NB without packed panels');
      tileAt = wide ? bpAt : tAt;
      // Rows Cp apart: a small block clears (and stores from) no more than its own tile.
      tileLd = Cp;
      T.fill(0, tileAt, tileAt + Rp * tileLd);
      const aBase = address(A, aOff) / 8;
      const bBase = address(B, bOff) / 8;
      ex.gemm((aBase + ib * lda) * 8, lda * 8, (bBase + jb * ldb) * 8, ldb * 8, mb, Rp, nb, Cp, K, tileAt * 8, tileLd * 8, apAt * 8, (same ? apAt : bPacked ? bAllAt : bpAt) * 8, DENSE_KC, same || bPacked ? 1 : 0, upper ? jb - ib + 3 : 1 << 30);
      return T;
    }
    tileLd = Math.max(ldt, nb);
    if (!tileJs || tileJs.length < DENSE_MB * tileLd) tileJs = new Float64Array(DENSE_MB * tileLd);
    tileAt = 0;
    tileInJs(tileJs, tileLd, A, aOff + ib * lda, lda, B, bOff + jb * ldb, ldb, mb, nb, K);
    return tileJs;
  };

  /**
   * Packs B's rows jb … jb+nb−1, all of K, into the panels productTile reads with bPacked (once for
   * all the row tiles of a column tile, instead of once per tile); false where it does not apply
   * (the JavaScript kernel, B outside the kernels' memory, or more than alloc() set aside).
   */
  const packColumns = (B: Float64Array, bOff: number, ldb: number, jb: number, nb: number, K: number): boolean => {
    const Cp = Math.ceil(nb / 4) * 4;
    if (!simd || ex === null || !inMemory(B) || Cp * K > bAllSize) return false;
    const bBase = address(B, bOff + jb * ldb) / 8;
    for (let pc = 0; pc < K; pc += DENSE_KC) ex.pack((bBase + pc) * 8, ldb * 8, nb, Cp, Math.min(DENSE_KC, K - pc), (bAllAt + pc * Cp) * 8, 4);
    return true;
  };

  // Column offsets into a factor array, kept between calls.
  let colOffsets = new Int32Array(0);

  const block = (
    A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, R: number, C: number, K: number,
    out: Float64Array, oOff: number, ors: number, ocs: number, mOff: number, mrs: number, mcs: number,
    scale: number, mode: number, upper: boolean,
    F: ArrayLike<number> | null, fOff: number, fRowRadix: number, fRowOuter: number, fRowInner: number, fColRadix: number, fColOuter: number, fColInner: number,
  ): void => {
    if (F !== null) {
      if (colOffsets.length < C) colOffsets = new Int32Array(C);
      for (let c = 0; c < C; c++) colOffsets[c] = Math.floor(c / fColRadix) * fColOuter + (c % fColRadix) * fColInner;
    }
    const fc = colOffsets;
    // A small Gram product (A·Aᵀ in one tile) packs A once, for both sides.
    const same = A === B && aOff === bOff && lda === ldb && R === C && R <= DENSE_MB && K <= DENSE_KC;
    // ... and into an output in the memory with contiguous columns (a diagonal block of a Hessian
    // there, its mirror the transpose), it is one call: the whole pieces go straight to the output.
    if (same && F === null && simd && ex !== null && ocs === 1 && inMemory(A) && inMemory(out) && (mode !== DENSE_ADD_MIRROR || (mOff === oOff && mrs === 1 && mcs === ors))) {
      ex.gram(address(A, aOff), lda * 8, R, Math.ceil(R / 4) * 4, K, apAt * 8, tAt * 8, address(out, oOff), ors * 8, scale, mode, upper ? 1 : 0);
      return;
    }
    // Column tiles outside: each one's panels of B are packed once for all its row tiles.
    for (let jb = 0; jb < C; jb += DENSE_NB) {
      const nb = Math.min(DENSE_NB, C - jb);
      const packed = !same && packColumns(B, bOff, ldb, jb, nb, K);
      for (let ib = 0; ib < R; ib += DENSE_MB) {
        const mb = Math.min(DENSE_MB, R - ib);
        // A tile entirely below the diagonal has nothing to store.
        if (upper && jb + nb - 1 < ib) break;
        const T = productTile(A, aOff, lda, B, bOff, ldb, ib, mb, jb, nb, K, packed, upper, same);
        const t0 = tileAt;
        if (F === null && T === mem && ex !== null && inMemory(out)) {
          ex.store(t0 * 8, tileLd * 8, mb, nb, upper ? jb - ib : 1 << 30, address(out, oOff + ib * ors + jb * ocs), ors * 8, ocs * 8, address(out, mOff + ib * mrs + jb * mcs), mrs * 8, mcs * 8, scale, mode);
          continue;
        }
        for (let i = 0; i < mb; i++) {
          const r = ib + i;
          const c0 = upper && r > jb ? r : jb;
          const row = t0 + i * tileLd - jb;
          let at = oOff + r * ors + c0 * ocs;
          if (F !== null) {
            // The entry's own factor: one more load per entry, in the same loop.
            const fr = fOff + Math.floor(r / fRowRadix) * fRowOuter + (r % fRowRadix) * fRowInner;
            let m = mOff + r * mrs + c0 * mcs;
            for (let c = c0; c < jb + nb; c++, at += ocs, m += mcs) {
              const v = scale * F[fr + fc[c]!]! * T[row + c]!;
              if (mode === DENSE_ASSIGN) out[at] = v;
              else {
                out[at] += v;
                if (mode === DENSE_ADD_MIRROR && m !== at) out[m] += v;
              }
            }
          } else if (mode === DENSE_ASSIGN) {
            for (let c = c0; c < jb + nb; c++, at += ocs) out[at] = scale * T[row + c]!;
          } else if (mode === DENSE_ADD) {
            for (let c = c0; c < jb + nb; c++, at += ocs) out[at] += scale * T[row + c]!;
          } else {
            let m = mOff + r * mrs + c0 * mcs;
            for (let c = c0; c < jb + nb; c++, at += ocs, m += mcs) {
              const v = scale * T[row + c]!;
              out[at] += v;
              if (m !== at) out[m] += v;
            }
          }
        }
      }
    }
  };
  // The pairs' tables, kept between calls (grown, never shrunk): positions, factors, and whether
  // the pair's two indices differ.
  let rowTab = new Float64Array(0);
  let colTab = new Float64Array(0);
  const ROW = 4; // per row pair (a, c): out part, mirror part, scale·K[a, c], a < c
  const COL = 7; // per column pair (b, d): out parts of (b, d) and (d, b), mirror parts of both, G[b, d], G[d, b], b < d

  const pairs = (
    A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, m: number, m2: number, diagonal: boolean, S: number,
    W: ArrayLike<number> | null, wOff: number, U: Float64Array, V: Float64Array,
    out: Float64Array, base: number, s0: number, s1: number, s2: number, s3: number, mBase: number, m0: number, m1: number, m2s: number, m3: number,
    scale: number, G: ArrayLike<number> | null, gOff: number, grs: number, gcs: number, K: ArrayLike<number> | null, kOff: number, krs: number, kcs: number,
    assign = false,
  ): void => {
    if (assign && diagonal) throw new Error('internal: a diagonal pair block cannot assign its entries');
    const P = (m * (m + 1)) / 2;
    const Q = diagonal ? m2 : (m2 * (m2 + 1)) / 2;
    if (rowTab.length < P * ROW) rowTab = new Float64Array(P * ROW);
    if (colTab.length < Q * COL) colTab = new Float64Array(Q * COL);
    // Rows: U[p, s] = w[s]·A[a, s]·A[c, s] over the pairs a ≤ c in order; by the SIMD kernels'
    // mul where A, U (and w) are views on their memory.
    const mulU = simd && inMemory(A) && inMemory(U) && (W === null || inMemory(W)) ? ex : null;
    let p = 0;
    for (let a = 0; a < m; a++) {
      const ra = aOff + a * lda;
      for (let c = a; c < m; c++, p++) {
        const rc = aOff + c * lda;
        const u = p * S;
        if (mulU !== null) {
          mulU.mul(address(U, u), address(A, ra), address(A, rc), S);
          if (W !== null) mulU.mul(address(U, u), address(U, u), address(W as Float64Array, wOff), S);
        } else if (W === null) for (let s = 0; s < S; s++) U[u + s] = A[ra + s]! * A[rc + s]!;
        else for (let s = 0; s < S; s++) U[u + s] = W[wOff + s]! * A[ra + s]! * A[rc + s]!;
        const t = p * ROW;
        rowTab[t] = base + a * s0 + c * s2;
        rowTab[t + 1] = mBase + a * m0 + c * m2s;
        rowTab[t + 2] = K === null ? scale : scale * K[kOff + a * krs + c * kcs]!;
        rowTab[t + 3] = a < c ? 1 : 0;
      }
    }
    // Columns: V[q, s] = B[b, s]·B[d, s] over the pairs b ≤ d; diagonal: V = B, d = b.
    let q = 0;
    for (let b = 0; b < m2 && diagonal; b++, q++) {
      const rb = bOff + b * ldb;
      const v = q * S;
      for (let s = 0; s < S; s++) V[v + s] = B[rb + s]!;
      const t = q * COL;
      colTab[t] = b * (s1 + s3);
      colTab[t + 1] = 0;
      colTab[t + 2] = b * (m1 + m3);
      colTab[t + 3] = 0;
      colTab[t + 4] = G === null ? 1 : G[gOff + b * (grs + gcs)]!;
      colTab[t + 5] = 0;
      colTab[t + 6] = 0;
    }
    const mulV = simd && inMemory(B) && inMemory(V) ? ex : null;
    for (let b = 0; b < m2 && !diagonal; b++) {
      const rb = bOff + b * ldb;
      for (let d = b; d < m2; d++, q++) {
        const rd = bOff + d * ldb;
        const v = q * S;
        if (mulV !== null) mulV.mul(address(V, v), address(B, rb), address(B, rd), S);
        else for (let s = 0; s < S; s++) V[v + s] = B[rb + s]! * B[rd + s]!;
        const t = q * COL;
        colTab[t] = b * s1 + d * s3;
        colTab[t + 1] = d * s1 + b * s3;
        colTab[t + 2] = b * m1 + d * m3;
        colTab[t + 3] = d * m1 + b * m3;
        colTab[t + 4] = G === null ? 1 : G[gOff + b * grs + d * gcs]!;
        colTab[t + 5] = G === null ? 1 : G[gOff + d * grs + b * gcs]!;
        colTab[t + 6] = b < d ? 1 : 0;
      }
    }
    const R = rowTab;
    const C = colTab;
    // One column tile when the block has at most DENSE_WIDE_NB column pairs and their panels can
    // be packed once for it (the SIMD kernels, V in their memory, room after the operands), else
    // tiles of DENSE_NB.
    const wide = Q > DENSE_NB && Q <= DENSE_WIDE_NB && packColumns(V, 0, S, 0, Q, S);
    const width = wide ? Q : DENSE_NB;
    for (let jb = 0; jb < Q; jb += width) {
      const nb = Math.min(width, Q - jb);
      const packed = wide || packColumns(V, 0, S, jb, nb, S);
      for (let ib = 0; ib < P; ib += DENSE_MB) {
        const mb = Math.min(DENSE_MB, P - ib);
        const T = productTile(U, 0, S, V, 0, S, ib, mb, jb, nb, S, packed, false);
        for (let i = 0; i < mb; i++) {
          const r = (ib + i) * ROW;
          const at = R[r]!;
          const mAt = R[r + 1]!;
          const k = R[r + 2]!;
          const rowApart = R[r + 3] === 1;
          const row = tileAt + i * tileLd - jb;
          for (let j = jb; j < jb + nb; j++) {
            const c = j * COL;
            const t = k * T[row + j]!;
            // (a, b, c, d) and its mirror; with a < c and b < d also (a, d, c, b) and its mirror.
            const v1 = t * C[c + 4]!;
            const x = at + C[c]!;
            const y = mAt + C[c + 2]!;
            const apart = rowApart && C[c + 6] === 1;
            const v3 = apart ? t * C[c + 5]! : 0;
            if (assign) {
              out[x] = v1;
              out[y] = v1;
              if (apart) {
                out[at + C[c + 1]!] = v3;
                out[mAt + C[c + 3]!] = v3;
              }
            } else {
              out[x] += v1;
              if (y !== x) out[y] += v1;
              if (apart) {
                out[at + C[c + 1]!] += v3;
                out[mAt + C[c + 3]!] += v3;
              }
            }
          }
        }
      }
    }
  };
  return { simd, alloc, inMemory, block, pairs };
}
