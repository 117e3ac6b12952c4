// The lowered form: kernels made of plain loops over buffers. Target-neutral: the TypeScript
// emitter prints it as is; a GPU emitter maps the outer loops of a kernel to threads.

import type { Dim, DimRole } from '../2-ir/graph.ts';
import type { MapFn } from '../2-ir/index-form.ts';

export type Expr =
  | { readonly k: 'num'; readonly v: number }
  /** A loop variable or an integer local. */
  | { readonly k: 'int'; readonly name: string }
  /** A float local. */
  | { readonly k: 'local'; readonly name: string }
  /**
   * The run-time size of a symbolic dimension; with a role, the rows of it that the call holds
   * (`rows`: counts, and strides in the data arrays) or `once` (1 for the call holding row 0).
   * They differ from the size only in a shard call (see 2-ir/shards.ts); a target without shards
   * reads `rows` as the size and never sees `once`.
   */
  | { readonly k: 'dim'; readonly name: string; readonly role?: DimRole }
  /** How many elements of a symbolic dimension the current chunk holds (the whole of it when unchunked). */
  | { readonly k: 'extent'; readonly name: string }
  /** Where the current chunk starts along a symbolic dimension (0 when unchunked). */
  | { readonly k: 'offset'; readonly name: string }
  | { readonly k: 'load'; readonly buf: string; readonly index: Expr }
  | { readonly k: 'bin'; readonly op: '+' | '-' | '*'; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'call'; readonly fn: MapFn; readonly arg: Expr }
  /** The larger of two integers (loop bounds). */
  | { readonly k: 'max'; readonly a: Expr; readonly b: Expr };

/**
 * What a loop is, so that a target can map it without guessing: `parallel` runs over output
 * coordinates (iterations write distinct outputs: GPU threads), `reduction` runs over a summed or
 * maximized index (iterations meet in one accumulator), `sequential` must run in order.
 */
export type LoopKind = 'parallel' | 'reduction' | 'sequential';

export type Stmt =
  | { readonly k: 'for'; readonly kind: LoopKind; readonly v: string; readonly from: Expr; readonly to: Expr; readonly body: Stmt[] }
  /** An immutable local: integer (index arithmetic) or float. */
  | { readonly k: 'let'; readonly name: string; readonly int: boolean; readonly value: Expr }
  /** A mutable float local (accumulator). */
  | { readonly k: 'var'; readonly name: string; readonly value: Expr }
  | { readonly k: 'update'; readonly name: string; readonly op: '+' | 'max'; readonly value: Expr }
  | { readonly k: 'store'; readonly buf: string; readonly index: Expr; readonly value: Expr; readonly accumulate: boolean }
  /**
   * buf[index] += value and, at a different position, buf[mirror] += value: symmetric outputs.
   * `distinct`: index and mirror never coincide (an off-diagonal block), so no test is needed.
   */
  | { readonly k: 'storeSym'; readonly buf: string; readonly index: Expr; readonly mirror: Expr; readonly value: Expr; readonly distinct?: boolean }
  /** A new float local `name` = Σ_{v in [from, to)} value: the inner product of a Hessian entry. */
  | { readonly k: 'reduce'; readonly name: string; readonly v: string; readonly from: Expr; readonly to: Expr; readonly value: Expr }
  /**
   * Several such sums over the same range in one loop (neighbouring entries share their loads).
   * `body` (CPU, cpu/fuse-sums.ts): statements run at each step besides the sums, element-wise
   * stores that the sums do not read.
   */
  | { readonly k: 'reduceN'; readonly names: readonly string[]; readonly v: string; readonly from: Expr; readonly to: Expr; readonly values: readonly Expr[]; readonly body?: readonly Stmt[] }
  /**
   * v from `from` in steps of `step` while a whole step fits below `to`, running `body` (which
   * handles v .. v+step−1); then `rest` for each remaining v.
   */
  | { readonly k: 'forStep'; readonly v: string; readonly from: Expr; readonly to: Expr; readonly step: number; readonly body: Stmt[]; readonly rest: Stmt[] }
  /** Skip the rest of the innermost loop's iteration when a < b. */
  | { readonly k: 'skipIfLess'; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'fill'; readonly buf: string; readonly value: number }
  /** A scope of its own (one term's loop nest), with the term in index notation for the reader. */
  | { readonly k: 'block'; readonly body: Stmt[]; readonly comment?: string; readonly pair?: PairBlock }
  /**
   * CPU targets only (made by compiler/5-lower/cpu/dense-blocks.ts from a `block` it proved to be a
   * matrix product): T[r, c] = Σ_k a[a.base + r·a.ld + k]·b[b.base + c·b.ld + k] (r < rows, c <
   * cols, k < depth), then scale·T[r, c] assigned or added at out[base + r·rs + c·cs] and, with
   * `addMirror`, also added at the mirror position when that differs; `upper`: only c ≥ r.
   * `outer`: loops kept around the call (outermost first), whose variables the bases may use: one
   * product per iteration (a block whose entries share an index between row and column).
   * `loops` is the block it replaces, for emitters that need the loops themselves.
   */
  | {
      readonly k: 'denseBlock';
      readonly a: DenseOperand;
      readonly b: DenseOperand;
      readonly rows: Expr;
      readonly cols: Expr;
      readonly depth: Expr;
      readonly out: { readonly buf: string } & DensePlacement;
      readonly mirror: DensePlacement | null;
      readonly scale: Expr;
      /** A factor of each entry: buf[base + fr(r) + fc(c)], fr(r) = ⌊r / radix⌋·outer + (r mod radix)·inner. */
      readonly factor: { readonly buf: string; readonly base: Expr; readonly row: DenseSplit; readonly col: DenseSplit } | null;
      readonly mode: 'assign' | 'add' | 'addMirror';
      readonly upper: boolean;
      readonly outer: readonly { readonly v: string; readonly from: Expr; readonly to: Expr }[];
      readonly loops: Stmt;
    }
  /**
   * CPU targets only (made by compiler/5-lower/cpu/dense-blocks.ts from a `block` with `pair`): the
   * pair-symmetric block through the dense kernels, which pack its rows and columns into `u` and
   * `v` (workspaces of P·depth and Q·depth, P and Q the numbers of pairs) and multiply them. `loops`
   * is the block it replaces, for emitters that need the loops themselves.
   */
  | {
      readonly k: 'pairBlock';
      readonly pair: PairBlock;
      readonly u: string;
      readonly v: string;
      /**
       * Set by cpu/assign-first.ts: the block's values are assigned, not added, on every call
       * (`always`) or on the first chunk of the streamed batch dimension `firstChunkOf`, the entry
       * point leaving the block uncleared (Schedule.assigned).
       */
      readonly assign?: 'always' | { readonly firstChunkOf: string };
      readonly loops: Stmt;
    };

/**
 * A pair-symmetric diagonal block of a matrix parameter (made by 5-lower/pair-nest.ts, see
 * 4-simplify/pair-symmetry.ts): for a ≤ c < m, b ≤ d < m2,
 *   T = Σ_{s < depth} w[s]·A[a, s]·A[c, s]·B[b, s]·B[d, s],
 * then scale·K[a, c]·G[b, d]·T added at out(a, b, c, d) and its mirror, and, when a < c and b < d,
 * scale·K[a, c]·G[d, b]·T at out(a, d, c, b) and its mirror. X[x, s] = X.buf[X.base + x·X.ld + s];
 * F[x, y] = F.buf[F.base + x·F.rs + y·F.cs]; out(x0, x1, x2, x3) = base + Σ x_k·strides[k].
 */
export interface PairBlock {
  /**
   * The columns are (b, b) (a δ between them): T = Σ_s w[s]·A[a, s]·A[c, s]·B[b, s] for a ≤ c and
   * every b, added (times scale·K[a, c]·G[b, b], G's cs being 0) at out(a, b, c, b) and its mirror only.
   */
  readonly diagonal: boolean;
  readonly A: DenseOperand;
  readonly B: DenseOperand;
  readonly w: { readonly buf: string; readonly base: Expr } | null;
  readonly m: number;
  readonly m2: number;
  readonly depth: Expr;
  /** The summed dimension, for workspaces sized like it. */
  readonly depthDim: Dim;
  readonly out: { readonly buf: string; readonly base: Expr; readonly strides: readonly Expr[] };
  readonly mirror: { readonly base: Expr; readonly strides: readonly Expr[] };
  readonly G: PairFactor | null;
  readonly K: PairFactor | null;
  readonly scale: Expr;
}

export interface PairFactor {
  readonly buf: string;
  readonly base: Expr;
  readonly rs: Expr;
  readonly cs: Expr;
}

/** A dense block's operand: rows `ld` apart, the summed index contiguous. */
export interface DenseOperand {
  readonly buf: string;
  readonly base: Expr;
  readonly ld: Expr;
}

/** A flat row (column) index split into two coordinates, each with its stride. */
export interface DenseSplit {
  readonly radix: Expr;
  readonly outer: Expr;
  readonly inner: Expr;
}

/** Where a dense block's entry (r, c) lands: base + r·rs + c·cs. */
export interface DensePlacement {
  readonly base: Expr;
  readonly rs: Expr;
  readonly cs: Expr;
}

export type BufferKind = 'theta' | 'data' | 'temp' | 'value' | 'gradient' | 'hessian' | 'direction' | 'hvp' | 'hessianDiagonal' | 'gaussNewton';

export interface Buffer {
  readonly name: string;
  readonly kind: BufferKind;
  /** Shape in elements (theta, gradient and hessian: flat). */
  readonly shape: readonly Dim[];
  /** A data scalar (passed as a number, not an array). */
  readonly scalar?: boolean;
}

/** A kernel's identity: its index in `Program.kernels`. Names are for display only. */
export type KernelId = number;

/**
 * A part of a buffer that one kernel writes: `block` names a disjoint region (a gradient block
 * by parameter index, a Hessian block by its pair of parameter indices; '' for the whole buffer).
 * Kernels that write different blocks of one buffer are independent.
 */
export interface Write {
  readonly buf: string;
  readonly block: string;
}

export interface Kernel {
  readonly id: KernelId;
  /**
   * Unique among the program's kernels and identifier-safe (letters, digits, underscores): the
   * emitters derive function and shader names from it. Never parsed.
   */
  readonly name: string;
  /** One line saying what it computes, for the reader of the generated code. */
  readonly comment: string;
  /** Everything the body stores into (checked against its stores when the program is built). */
  readonly writes: readonly Write[];
  readonly body: Stmt[];
}

export type Entry = 'value' | 'gradient' | 'hessian' | 'evaluate' | 'hvp' | 'hessianDiagonal' | 'gaussNewton';

/**
 * The outputs a program can have. Each has its entry point and its output buffer (of that
 * name); `hvp` also reads the direction `v` (a buffer laid out like θ). `gaussNewton` (an n × n
 * symmetric matrix like the Hessian) exists only for models with `output` declarations.
 */
export type OutputKind = 'value' | 'gradient' | 'hessian' | 'hvp' | 'hessianDiagonal' | 'hessianSparse' | 'gaussNewton';
export const OUTPUT_KINDS: readonly OutputKind[] = ['value', 'gradient', 'hessian', 'hvp', 'hessianDiagonal', 'hessianSparse', 'gaussNewton'];

/**
 * Kernels of an entry point, in order. With a batch, `stream` runs once per chunk of the batch
 * dimension (after the `clear` buffers, which accumulate across chunks, are zeroed), between
 * `pre` (independent of the batch) and `post` (needs the completed sums over the batch).
 */
export interface Schedule {
  readonly pre: readonly KernelId[];
  readonly clear: readonly string[];
  readonly stream: readonly KernelId[];
  readonly post: readonly KernelId[];
  /**
   * Diagonal blocks of the Hessian, [offset, offset + size)², that a kernel of this entry assigns
   * before anything else writes them (cpu/assign-first.ts): the entry need not clear them, except
   * when `firstChunk` and the batch has no rows (then no chunk runs).
   */
  readonly assigned?: readonly { readonly offset: number; readonly size: number; readonly firstChunk: boolean }[];
}

/** The batch dimension streamed in chunks, so that workspaces do not grow with it. */
export interface Batch {
  readonly dim: string;
  readonly chunk: number;
}

/** What the generated modules say of the model: θ layout, data declarations, run-time dims. */
export interface ModelLayout {
  readonly name: string;
  /** Every `param` in declaration order, each flattened row-major into θ at `offset`. */
  readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly size: number }[];
  /** Every `data` declaration, in order (bound whether used or not). */
  readonly data: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  /** The run-time (symbolic) dimensions. */
  readonly dims: readonly string[];
}

/** Everything an emitter needs: it reads nothing else of the model. */
export interface Program {
  readonly model: ModelLayout;
  readonly n: number;
  /** The outputs lowered, in OUTPUT_KINDS order; an entry point of another has an empty schedule. */
  readonly outputs: readonly OutputKind[];
  readonly buffers: readonly Buffer[];
  /** Indexed by id: kernels[k].id === k. */
  readonly kernels: readonly Kernel[];
  readonly entries: Readonly<Record<Entry, Schedule>>;
  /** Null when the model has no single batch dimension that can be streamed. */
  readonly batch: Batch | null;
  /**
   * The CPU program of a model whose objective is a sum over the streamed batch plus terms without
   * it (2-ir/shards.ts): its entry points also run on a range of the batch's rows (shard entry).
   */
  readonly shards?: { readonly dim: string };
  /** Statistics for the reader: nonzero blocks, terms. */
  readonly notes: readonly string[];
  /**
   * With `hessianSparse`: the Hessian's structural pattern as compact pieces (see SparsePiece),
   * whose union with its mirror image is exactly the set of structurally nonzero entries.
   */
  readonly sparsePattern?: readonly SparsePiece[];
}

/**
 * A set of Hessian entries (row, col) = (r0 + Σ alpha[v]·x[v], c0 + Σ beta[v]·x[v]) over the box
 * lo[v] ≤ x[v] < hi[v] (flattened θ positions): one term's lattice (compiler/inspect/lattice.ts).
 */
export interface SparsePiece {
  readonly r0: number;
  readonly c0: number;
  readonly alpha: readonly number[];
  readonly beta: readonly number[];
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

export const num = (v: number): Expr => ({ k: 'num', v });
export const int = (name: string): Expr => ({ k: 'int', name });

export function add(a: Expr, b: Expr): Expr {
  if (a.k === 'num' && a.v === 0) return b;
  if (b.k === 'num' && b.v === 0) return a;
  if (a.k === 'num' && b.k === 'num') return num(a.v + b.v);
  return { k: 'bin', op: '+', a, b };
}
export function mul(a: Expr, b: Expr): Expr {
  if (a.k === 'num' && a.v === 1) return b;
  if (b.k === 'num' && b.v === 1) return a;
  if (a.k === 'num' && b.k === 'num') return num(a.v * b.v);
  return { k: 'bin', op: '*', a, b };
}

type Load = Extract<Expr, { k: 'load' }>;

/** Calls f on every load in e (outermost first). */
export function loadsIn(e: Expr, f: (l: Load) => void): void {
  if (e.k === 'load') {
    f(e);
    loadsIn(e.index, f);
  } else if (e.k === 'bin' || e.k === 'max') {
    loadsIn(e.a, f);
    loadsIn(e.b, f);
  } else if (e.k === 'call') loadsIn(e.arg, f);
}

/** e with every load replaced by f(load). */
export function mapLoads(e: Expr, f: (l: Load) => Expr): Expr {
  switch (e.k) {
    case 'load': return f(e);
    case 'bin': case 'max': return { ...e, a: mapLoads(e.a, f), b: mapLoads(e.b, f) };
    case 'call': return { ...e, arg: mapLoads(e.arg, f) };
    default: return e;
  }
}

/** Calls f on every object within x (statements, expressions, their parts), x included. */
function eachNode(x: unknown, f: (o: Readonly<Record<string, unknown>>) => void): void {
  if (Array.isArray(x)) for (const y of x) eachNode(y, f);
  else if (x !== null && typeof x === 'object') {
    f(x as Record<string, unknown>);
    for (const y of Object.values(x)) eachNode(y, f);
  }
}

/** The buffers that statements or expressions (at any depth) load from. */
export function buffersLoaded(x: unknown): Set<string> {
  const bufs = new Set<string>();
  eachNode(x, (o) => {
    if (o.k === 'load') bufs.add(o.buf as string);
  });
  return bufs;
}

/** The buffers that statements (at any depth) store into: stores, fills, dense and pair blocks. */
export function buffersStored(x: unknown): Set<string> {
  const bufs = new Set<string>();
  eachNode(x, (o) => {
    if (o.k === 'store' || o.k === 'storeSym' || o.k === 'fill') bufs.add(o.buf as string);
    else if (o.k === 'denseBlock') bufs.add((o.out as { buf: string }).buf);
    else if (o.k === 'pairBlock') bufs.add((o.pair as PairBlock).out.buf);
  });
  return bufs;
}

/** Every local name that statements or expressions (at any depth) declare or use. */
export function namesIn(x: unknown): Set<string> {
  const names = new Set<string>();
  eachNode(x, (o) => {
    if (typeof o.name === 'string') names.add(o.name);
    if (Array.isArray(o.names)) for (const n of o.names) names.add(n as string);
  });
  return names;
}

/** The factors of a product (the expression itself when it is not one). */
export function productFactors(e: Expr): Expr[] {
  return e.k === 'bin' && e.op === '*' ? [...productFactors(e.a), ...productFactors(e.b)] : [e];
}

/**
 * Hands out identifiers that are unique within one program (or one shader set): a wanted name
 * that is taken gets the first free `_<k>` suffix. Names derived from user names (`grad_a_once`
 * for `a_once`, `hess_x_y_z` for (x, y_z) and for (x_y, z)) can meet; this is what keeps them apart.
 */
export class UniqueNames {
  private readonly taken = new Set<string>();
  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.taken.add(r);
  }
  get(wanted: string): string {
    let name = wanted;
    for (let k = 2; this.taken.has(name); k++) name = `${wanted}_${k}`;
    this.taken.add(name);
    return name;
  }
}
