// hessgen's compiler: .hess source -> generated modules. The stages run in order, each in its
// own folder: 1-parse (text -> checked tensor graph), 2-ir (graph -> index form), 3-differentiate
// (gradient and Hessian blocks as formulas), 5-lower (formulas -> loops, with contraction
// planning and hoisting), 6-emit (loops -> TypeScript, or WGSL shaders and their GPU module).

import { parseModel } from './1-parse/index.ts';
import type { Diagnostic } from './1-parse/diagnostics.ts';
import { withCompileContext } from './2-ir/index-form.ts';
import { splitAtOutputs, toIndexForm } from './2-ir/to-index-form.ts';
import { Differentiator } from './3-differentiate/derivative.ts';
import { lower } from './5-lower/lower.ts';
import { emitTypeScript } from './6-emit/typescript.ts';
import { emitWgsl } from './6-emit/wgsl.ts';
import { emitGpuModule } from './6-emit/gpu-module.ts';
import { eraseTypes } from './6-emit/erase-types.ts';
import { declarationsOf } from './6-emit/declarations.ts';
import { OUTPUT_KINDS, type OutputKind, type Program } from './5-lower/loops.ts';
import { directionNodes, hvpFormula } from './3-differentiate/directional.ts';
import { diagonalFormula } from './3-differentiate/diagonal.ts';
import { gaussNewtonBlocks } from './3-differentiate/gauss-newton.ts';
import type { Model } from './2-ir/graph.ts';
import { planShards } from './2-ir/shards.ts';
import { CPU_TARGET, WGSL_TARGET, type TargetCapabilities } from './5-lower/targets.ts';

export type Target = 'ts' | 'wgsl';
export type Emit = 'ts' | 'js';
export type { Diagnostic };
export { OUTPUT_KINDS, type OutputKind } from './5-lower/loops.ts';
export { CPU_TARGET, WGSL_TARGET, type TargetCapabilities } from './5-lower/targets.ts';

export interface CompileOptions {
  /** Which modules to generate: `ts` (the CPU module, float64), `wgsl` (the WebGPU module). Default `['ts']`. */
  readonly targets?: readonly Target[];
  /** `ts` (default): TypeScript modules. `js`: JavaScript modules, each with its `.d.ts`. */
  readonly emit?: Emit;
  /**
   * Also return `<name>.d.hess.ts`, the declarations of the CPU module, to be written beside the
   * `.hess` file: TypeScript (with `allowArbitraryExtensions`) then types `import … from './<name>.hess'`.
   */
  readonly types?: boolean;
  /**
   * Which outputs the modules provide (OUTPUT_KINDS): value, gradient and Hessian always; `hvp`,
   * `hessianDiagonal` and `hessianSparse` when listed. Default: all that the target implements.
   */
  readonly outputs?: readonly OutputKind[];
  /**
   * CPU module: dense Hessian blocks (matrix products over the batch) run through the dense
   * kernels it embeds, WebAssembly SIMD with a JavaScript fallback (default true). `false` keeps
   * every block as plain loops over the upper triangle, as before those kernels and pair symmetry
   * (the benchmarks' baseline).
   */
  readonly denseKernels?: boolean;
}

export interface OutputFile {
  readonly target: Target;
  /** A plain file name: `net.ts`, `net.gpu.js`, `net.d.ts`, `net.d.hess.ts`. */
  readonly fileName: string;
  readonly code: string;
  /** `module` and `declarations` go to the output folder; `source-types` beside the `.hess` file. */
  readonly kind: 'module' | 'declarations' | 'source-types';
}

/** `warnings` (located, severity 'warning'): things asked for that the model cannot have; the files are still right. */
export type CompileResult = { ok: true; outputs: OutputFile[]; warnings?: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Differentiates and lowers a model for a target (default: the CPU): the target-neutral lowering,
 * then the late passes its capability record asks for. `outputs`: the ones to lower (default: all
 * the target implements; those it does not implement are left out).
 */
export function lowerModel(model: Model, options: { target?: TargetCapabilities; outputs?: readonly OutputKind[] } = {}): Program {
  const target = options.target ?? CPU_TARGET;
  // (A shard runs the streamed loop over its range's rows: no streaming, no shards.)
  if (!target.shards || !target.streamBatch) return lowerObjective(model, target, options.outputs);
  // Shards: the objective with its terms outside the batch counted `once` (2-ir/shards.ts).
  const plan = planShards(model);
  if (plan.ok) {
    const p = lowerObjective({ ...model, objective: plan.objective }, target, options.outputs);
    if (p.batch?.dim === plan.dim) return { ...p, shards: { dim: plan.dim }, notes: [...p.notes, `shard entry: createShardEvaluator() computes the contribution of a range of the rows of ${plan.dim}`] };
  }
  const p = lowerObjective(model, target, options.outputs);
  const note = plan.ok ? `no shard entry: the batch ${plan.dim} is not streamed (a kernel needs all of it at once)` : plan.note;
  return note === null ? p : { ...p, notes: [...p.notes, note] };
}

/** lowerModel for the objective as given. */
function lowerObjective(model: Model, target: TargetCapabilities, outputs: readonly OutputKind[] | undefined): Program {
  const wanted = (outputs ?? target.outputs).filter((o) => target.outputs.includes(o));
  // A context of its own: numbering starts at 0 (deterministic output) and nothing is shared.
  return withCompileContext(() => {
    const im = toIndexForm(model);
    const diff = new Differentiator(im.nodes);
    const gradients = im.params.map((p) => diff.formula(im.objective, p));
    const hessians = im.params.map((_, i) => im.params.map((q, j) => (j < i ? { shape: [], terms: [] } : diff.formula(gradients[i]!, q))));
    // H·v: the directional derivative of each gradient block along v (closed form, no H formed).
    const directions = wanted.includes('hvp') ? directionNodes(im.nodes, im.params) : null;
    const hvp = directions ? { directions, formulas: im.params.map((_, i) => hvpFormula(diff, gradients, im.params, directions, i)) } : undefined;
    // diag(H): the diagonal blocks with their row and column indices made equal.
    const diagonal = wanted.includes('hessianDiagonal') ? im.params.map((p, i) => diagonalFormula(hessians[i]![i]!, p.shape.length)) : undefined;
    const sparse = wanted.includes('hessianSparse');
    // Gauss-Newton: the objective split at the model's outputs (none: no gaussNewton).
    const split = wanted.includes('gaussNewton') ? splitAtOutputs(model, im) : null;
    const gaussNewton = split ? gaussNewtonBlocks(diff, im.nodes, im.params, split.objective, split.outputs) : undefined;
    return lower({ name: model.name, data: model.data, nodes: im.nodes, params: im.params, value: im.objective, gradients, hessians, ...(hvp ? { hvp } : {}), ...(diagonal ? { diagonal } : {}), ...(gaussNewton ? { gaussNewton } : {}), sparse, symbolicDims: model.symbolicDims }, target);
  });
}

/**
 * One `.hess` model, source text in, generated files out (or every diagnostic, each located by
 * file, line and column). Synchronous, with no state kept between calls, and free of Node APIs:
 * it runs in a browser page too. `sourcePath` names the model in diagnostics and in the header
 * of the generated files; the module names come from the model (`net.hess` → `net.ts`).
 */
export function compile(source: string, sourcePath: string, options: CompileOptions = {}): CompileResult {
  const targets = options.targets ?? ['ts'];
  const emit = options.emit ?? 'ts';
  const { model, diagnostics } = parseModel(source, sourcePath);
  if (!model || diagnostics.length > 0) return { ok: false, diagnostics };
  const info = { sourcePath, name: model.name, params: model.params, data: model.data, symbolicDims: model.symbolicDims };
  const wanted = options.outputs ?? OUTPUT_KINDS;
  for (const o of wanted) if (!OUTPUT_KINDS.includes(o)) throw new RangeError(`compile: unknown output '${o}' (expected ${OUTPUT_KINDS.join(', ')})`);
  // Each target's own capability record (targets.ts) says what its lowering does.
  const chosen = (of: readonly OutputKind[]) => of.filter((o) => o === 'value' || o === 'gradient' || o === 'hessian' || wanted.includes(o));
  const cpuTarget: TargetCapabilities = options.denseKernels === false ? { ...CPU_TARGET, denseKernels: false, pairSymmetry: false, packProducts: false, gramProducts: false } : CPU_TARGET;
  const cpu = targets.includes('ts') || options.types === true ? emitTypeScript(lowerModel(model, { target: cpuTarget, outputs: chosen(CPU_TARGET.outputs) }), info) : null;
  const outputs: OutputFile[] = [];
  const warnings: Diagnostic[] = [];
  // gaussNewton asked for by name on a model without outputs: the other outputs are built, and
  // the warning points at the objective.
  if (options.outputs?.includes('gaussNewton') && !(model.outputs && model.outputs.length > 0)) {
    const at = model.objectiveAt ?? { line: 1, column: 1, length: 1 };
    warnings.push({
      file: sourcePath, line: at.line, column: at.column, length: at.length, severity: 'warning',
      message: 'gaussNewton was asked for, but the model declares no outputs, so its modules have none: mark what the loss is computed from with `output NAME = …`',
      sourceLine: source.split(/\r\n|\r|\n/)[at.line - 1] ?? '',
    });
  }
  const add = (target: Target, base: string, ts: string): void => {
    if (emit === 'ts') outputs.push({ target, fileName: `${base}.ts`, code: ts, kind: 'module' });
    else {
      outputs.push({ target, fileName: `${base}.js`, code: eraseTypes(ts), kind: 'module' });
      outputs.push({ target, fileName: `${base}.d.ts`, code: declarationsOf(ts), kind: 'declarations' });
    }
  };
  for (const target of targets) {
    if (target === 'ts') add(target, model.name, cpu!);
    else {
      const gpuProgram = lowerModel(model, { target: WGSL_TARGET, outputs: chosen(WGSL_TARGET.outputs) });
      add(target, `${model.name}.gpu`, emitGpuModule(emitWgsl(gpuProgram), info));
    }
  }
  if (options.types === true) {
    outputs.push({ target: 'ts', fileName: `${model.name}.d.hess.ts`, code: declarationsOf(cpu!), kind: 'source-types' });
  }
  return { ok: true, outputs, ...(warnings.length > 0 ? { warnings } : {}) };
}
