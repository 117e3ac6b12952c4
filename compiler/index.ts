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
import { emitWgsl, GPU_OUTPUTS } from './6-emit/wgsl.ts';
import { emitGpuModule } from './6-emit/gpu-module.ts';
import { eraseTypes } from './6-emit/erase-types.ts';
import { declarationsOf } from './6-emit/declarations.ts';
import { OUTPUT_KINDS, type OutputKind, type Program } from './5-lower/loops.ts';
import { directionNodes, hvpFormula } from './3-differentiate/directional.ts';
import { diagonalFormula } from './3-differentiate/diagonal.ts';
import { gaussNewtonBlocks } from './3-differentiate/gauss-newton.ts';
import type { Model } from './2-ir/graph.ts';

export type Target = 'ts' | 'wgsl';
export type Emit = 'ts' | 'js';
export type { Diagnostic };
export { OUTPUT_KINDS, type OutputKind } from './5-lower/loops.ts';

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
 * Differentiates and lowers a model: the target-neutral program every emitter starts from.
 * `families: false` computes derivatives of tanh and σ from their argument (see LowerInput);
 * `outputs` are the outputs the target implements (default: all of OUTPUT_KINDS).
 */
export function lowerModel(model: Model, options: { families?: boolean; outputs?: readonly OutputKind[] } = {}): Program {
  // A context of its own: numbering starts at 0 (deterministic output) and nothing is shared.
  return withCompileContext(() => {
    const im = toIndexForm(model);
    const diff = new Differentiator(im.nodes);
    const gradients = im.params.map((p) => diff.formula(im.objective, p));
    const hessians = im.params.map((_, i) => im.params.map((q, j) => (j < i ? { shape: [], terms: [] } : diff.formula(gradients[i]!, q))));
    // H·v: the directional derivative of each gradient block along v (closed form, no H formed).
    const directions = (options.outputs ?? OUTPUT_KINDS).includes('hvp') ? directionNodes(im.nodes, im.params) : null;
    const hvp = directions ? { directions, formulas: im.params.map((_, i) => hvpFormula(diff, gradients, im.params, directions, i)) } : undefined;
    // diag(H): the diagonal blocks with their row and column indices made equal.
    const diagonal = (options.outputs ?? OUTPUT_KINDS).includes('hessianDiagonal') ? im.params.map((p, i) => diagonalFormula(hessians[i]![i]!, p.shape.length)) : undefined;
    const sparse = (options.outputs ?? OUTPUT_KINDS).includes('hessianSparse');
    // Gauss-Newton: the objective split at the model's outputs (none: no gaussNewton).
    const split = (options.outputs ?? OUTPUT_KINDS).includes('gaussNewton') ? splitAtOutputs(model, im) : null;
    const gaussNewton = split ? gaussNewtonBlocks(diff, im.nodes, im.params, split.objective, split.outputs) : undefined;
    return lower({ name: model.name, data: model.data, nodes: im.nodes, params: im.params, value: im.objective, gradients, hessians, ...(hvp ? { hvp } : {}), ...(diagonal ? { diagonal } : {}), ...(gaussNewton ? { gaussNewton } : {}), sparse, symbolicDims: model.symbolicDims, families: options.families ?? true });
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
  // float64 can derive tanh′ from tanh; float32 cannot (see LowerInput.families).
  const wanted = options.outputs ?? OUTPUT_KINDS;
  for (const o of wanted) if (!OUTPUT_KINDS.includes(o)) throw new RangeError(`compile: unknown output '${o}' (expected ${OUTPUT_KINDS.join(', ')})`);
  const chosen = (of: readonly OutputKind[]) => of.filter((o) => o === 'value' || o === 'gradient' || o === 'hessian' || wanted.includes(o));
  const cpu = targets.includes('ts') || options.types === true ? emitTypeScript(lowerModel(model, { outputs: chosen(OUTPUT_KINDS) }), info) : null;
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
      const gpuProgram = lowerModel(model, { families: false, outputs: chosen(GPU_OUTPUTS) });
      add(target, `${model.name}.gpu`, emitGpuModule(emitWgsl(gpuProgram), info));
    }
  }
  if (options.types === true) {
    outputs.push({ target: 'ts', fileName: `${model.name}.d.hess.ts`, code: declarationsOf(cpu!), kind: 'source-types' });
  }
  return { ok: true, outputs, ...(warnings.length > 0 ? { warnings } : {}) };
}
