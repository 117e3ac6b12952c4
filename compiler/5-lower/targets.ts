// What each target can do and wants done, as data: the lowering takes one of these records and
// nothing else tells it which target it lowers for. The target-neutral lowering (lower.ts) is the
// same for every target; the late passes a record asks for (`cpu/`) then rewrite the lowered form
// for that target. Emitters read only the program that comes out.

import { OUTPUT_KINDS, type OutputKind } from './loops.ts';
import { TILE } from '../../runtime/gpu/layout.ts';

export interface TargetCapabilities {
  /** For messages only: no code branches on it. */
  readonly name: string;
  /** The floating-point type the generated code computes in. */
  readonly float: 'float64' | 'float32';
  /** The outputs it implements (the others are not lowered for it). */
  readonly outputs: readonly OutputKind[];
  /**
   * Compute f′ and f″ of tanh and σ from y = f(x) and d = f′(x) where several meet at one
   * argument (cpu/families.ts): cheaper, and exact enough in float64; in float32, 1 − y² loses
   * the tails (|y| → 1), so such a target computes each from x.
   */
  readonly derivedFamilies: boolean;
  /**
   * Stream the batch dimension in chunks (cpu/stream-batch.ts): workspaces hold one chunk and sums
   * over the batch accumulate across chunks. A target that holds the whole batch leaves it off.
   */
  readonly streamBatch: boolean;
  /**
   * Unroll the innermost output loop of a one-sum loop nest 4-wide (cpu/unroll.ts: `forStep`): four
   * neighbouring entries share one pass over the sum. A target whose output loops are threads leaves it off.
   */
  readonly unroll4: boolean;
  /**
   * Fuse runs of small Hessian blocks' kernels that share a loop length into one pass over the
   * batch (cpu/fuse-sums.ts). A target whose output loops are threads leaves it off.
   */
  readonly fuseSums: boolean;
  /**
   * Fold a block that adds to each entry of the sums the block before it assigned into that
   * block's stores (cpu/fold-adds.ts: a layer's bias in its product's pass).
   */
  readonly foldAdds: boolean;
  /**
   * Replace loop nests proved to be dense matrix products by calls of the dense kernels
   * (cpu/dense-blocks.ts: `denseBlock`, WebAssembly SIMD in the TypeScript module).
   */
  readonly denseKernels: boolean;
  /**
   * A pair block that covers its parameter's whole diagonal Hessian block assigns it on the first
   * pass instead of adding, and the entry points do not clear that block (cpu/assign-first.ts).
   */
  readonly assignFirst: boolean;
  /**
   * Sum a pair-symmetric term of a diagonal block once for the up to four entries that share its
   * value (4-simplify/pair-symmetry.ts, 5-lower/pair-nest.ts): a quarter of the block's entries
   * instead of half. The CPU runs the block through its dense kernels (cpu/dense-blocks.ts), WGSL
   * as a tiled product over the pairs, each triangle of pairs folded into a rectangle
   * (6-emit/wgsl.ts, "pair-symmetric blocks").
   */
  readonly pairSymmetry: boolean;
  /**
   * Pair only the terms whose block gets its description as data (`pair` in loops.ts: operands
   * contiguous along the sum); the others keep the upper-triangle form. For WGSL, whose pair
   * kernel reads that description: the pair loops themselves, as plain units, would give a few
   * threads (one per row entry) all of a block's work.
   */
  readonly pairNeedsForm?: boolean;
  /**
   * The tile of the target's matrix products (WGSL: runtime/gpu/layout.ts TILE): a term with pairs
   * of rows and of columns is paired only when they take no more tiles than its upper triangle
   * does (few row pairs against many column pairs would leave most of each tile idle).
   */
  readonly pairTile?: number;
  /** Smallest block (pairs of rows × pairs of columns) summed in pairs (default PAIR_MIN_ENTRIES; tests lower it). */
  readonly pairMinEntries?: number;
  /**
   * Pack the two sides of an intermediate's sum over the batch (Σ_s R(s, rows)·C(s, cols), e.g. a
   * layer's weight times what flows back, summed over the samples) into workspaces with the batch
   * innermost, as a Hessian block's are (4-simplify/contract.ts, packSides): the matrix-product
   * form that the CPU's dense kernels take over. Off for WGSL, whose plain units read the factors
   * where they are.
   */
  readonly packProducts: boolean;
  /**
   * A small model (5-lower/gram.ts: at most GRAM_MAX_N parameters) whose Hessian blocks' product
   * terms share one side per parameter gets them as one Gram product over θ, which the dense
   * kernels take in one call: fewer, larger loops than a dozen small blocks. Off for WGSL, whose
   * blocks run side by side as threads anyway.
   */
  readonly gramProducts: boolean;
  /**
   * Pack the sides of Hessian block terms smaller than the dense kernels' MIN_ENTRIES as well (4-simplify/
   * contract.ts, packSides). The CPU's plain loops read such a term's factors where they are:
   * packing first cost more than it saved (3-5-1 MLP, N = 7: 6.0 → 5.3 µs). WGSL packs them all, as
   * its GPU timings were measured with.
   */
  readonly packSmallBlocks: boolean;
  /**
   * A shard entry (2-ir/shards.ts) for models whose objective is a sum over the batch: the terms
   * without the batch carry a factor `once`, counts and data strides read the rows a call holds,
   * and the emitter adds createShardEvaluator. Needs streamBatch (the loop over a range's rows).
   */
  readonly shards: boolean;
}

/** The TypeScript module: float64 on one thread, the whole of it in JavaScript's hands. */
export const CPU_TARGET: TargetCapabilities = {
  name: 'cpu',
  float: 'float64',
  outputs: OUTPUT_KINDS,
  derivedFamilies: true,
  streamBatch: true,
  unroll4: true,
  fuseSums: true,
  foldAdds: true,
  denseKernels: true,
  assignFirst: true,
  pairSymmetry: true,
  packProducts: true,
  gramProducts: true,
  packSmallBlocks: false,
  shards: true,
};

/**
 * The WGSL module: float32, output loops become threads, the GPU holds the whole batch. H·v and the
 * diagonal are written into the gradient's binding, the Gauss-Newton matrix into the Hessian's,
 * the sparse Hessian's values into the Hessian's windows less one (see 6-emit/wgsl.ts).
 */
export const WGSL_TARGET: TargetCapabilities = {
  name: 'wgsl',
  float: 'float32',
  outputs: ['value', 'gradient', 'hessian', 'hvp', 'hessianDiagonal', 'gaussNewton', 'hessianSparse'],
  derivedFamilies: false,
  streamBatch: false,
  unroll4: false,
  fuseSums: false,
  foldAdds: false,
  denseKernels: false,
  assignFirst: false,
  pairSymmetry: true,
  pairNeedsForm: true,
  pairTile: TILE,
  packProducts: false,
  gramProducts: false,
  packSmallBlocks: true,
  shards: false,
};
