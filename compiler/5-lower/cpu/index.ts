// The late CPU passes: rewrites of the lowered program that pay on a CPU and that another target
// must not see (a GPU maps output loops to threads and holds the whole batch). The target-neutral
// lowering (../lower.ts) runs first; then each pass that the target's capability record asks for
// (../targets.ts), in this order, each a function Program → Program.
//
// Adding a pass: a file of its own in this folder exporting `(p: Program) => Program` (return a
// new program; kernels keep their ids, names and `writes`), a flag for it in TargetCapabilities
// (on in CPU_TARGET, off in the others), an entry below at the place its input requires, and a
// test in test/lower/ that it runs exactly when its flag is on. An emitter that cannot print what
// it produces (a new Stmt kind) throws on it; the WGSL emitter sees none of these passes' output.

import type { Program } from '../loops.ts';
import type { TargetCapabilities } from '../targets.ts';
import { deriveFamilies } from './families.ts';
import { streamBatch } from './stream-batch.ts';
import { unroll4 } from './unroll.ts';
import { fuseSums } from './fuse-sums.ts';
import { foldAdds } from './fold-adds.ts';
import { denseBlocks } from './dense-blocks.ts';
import { assignFirst } from './assign-first.ts';

export interface LatePass {
  readonly name: string;
  /** Whether a target asks for it. */
  readonly wanted: (target: TargetCapabilities) => boolean;
  readonly run: (p: Program) => Program;
}

export const CPU_PASSES: readonly LatePass[] = [
  // Rewrites single map kernels' bodies.
  { name: 'families', wanted: (t) => t.derivedFamilies, run: deriveFamilies },
  // Reads the kernels' loops over the batch and their loads; before unrolling, which copies stores.
  { name: 'stream-batch', wanted: (t) => t.streamBatch, run: streamBatch },
  // Reads plain loop nests (before unrolling) and the entries' lists (after streaming).
  { name: 'fuse-sums', wanted: (t) => t.fuseSums, run: fuseSums },
  // Plain nests too (before unrolling, which then steps through the folded one).
  { name: 'fold-adds', wanted: (t) => t.foldAdds, run: foldAdds },
  // Its `forStep` is what the TypeScript emitter prints as is.
  { name: 'unroll4', wanted: (t) => t.unroll4, run: unroll4 },
  // Last: it reads the final loops (a forStep's `rest`) and keeps them for the sparse Hessian.
  { name: 'dense-blocks', wanted: (t) => t.denseKernels, run: (p) => denseBlocks(p) },
  // Marks the pair blocks that dense-blocks made, and the entries that run them.
  { name: 'assign-first', wanted: (t) => t.assignFirst, run: assignFirst },
];

/** The passes a target asks for, in order. */
export function applyCpuPasses(p: Program, target: TargetCapabilities): Program {
  return CPU_PASSES.reduce((q, pass) => (pass.wanted(target) ? pass.run(q) : q), p);
}
