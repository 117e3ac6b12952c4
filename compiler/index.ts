// hessgen's compiler: .hess source -> generated modules. The stages run in order, each in its
// own folder: 1-parse (text -> checked tensor graph), 2-ir (graph -> index form), 3-differentiate
// (gradient and Hessian blocks as formulas), 5-lower (formulas -> loops, with contraction
// planning and hoisting), 6-emit (loops -> TypeScript, or WGSL shaders and their GPU module).

import { parseModel } from './1-parse/index.ts';
import type { Diagnostic } from './1-parse/diagnostics.ts';
import { withCompileContext } from './2-ir/index-form.ts';
import { toIndexForm } from './2-ir/to-index-form.ts';
import { Differentiator } from './3-differentiate/derivative.ts';
import { lower } from './5-lower/lower.ts';
import { emitTypeScript } from './6-emit/typescript.ts';
import { emitWgsl } from './6-emit/wgsl.ts';
import { emitGpuModule } from './6-emit/gpu-module.ts';
import type { Program } from './5-lower/loops.ts';
import type { Model } from './2-ir/graph.ts';

export type Target = 'ts' | 'wgsl';
export type { Diagnostic };

export type CompileResult =
  | { ok: true; outputs: { target: Target; fileName: string; code: string }[] }
  | { ok: false; diagnostics: Diagnostic[] };

/**
 * Differentiates and lowers a model: the target-neutral program every emitter starts from.
 * `families: false` computes derivatives of tanh and σ from their argument (see LowerInput).
 */
export function lowerModel(model: Model, options: { families?: boolean } = {}): Program {
  // A context of its own: numbering starts at 0 (deterministic output) and nothing is shared.
  return withCompileContext(() => {
    const im = toIndexForm(model);
    const diff = new Differentiator(im.nodes);
    const gradients = im.params.map((p) => diff.formula(im.objective, p));
    const hessians = im.params.map((_, i) => im.params.map((q, j) => (j < i ? { shape: [], terms: [] } : diff.formula(gradients[i]!, q))));
    return lower({ nodes: im.nodes, params: im.params, value: im.objective, gradients, hessians, symbolicDims: model.symbolicDims, families: options.families ?? true });
  });
}

export function compile(source: string, sourcePath: string, options: { targets?: readonly Target[] } = {}): CompileResult {
  const targets = options.targets ?? ['ts'];
  const { model, diagnostics } = parseModel(source, sourcePath);
  if (!model || diagnostics.length > 0) return { ok: false, diagnostics };
  // float64 can derive tanh′ from tanh; float32 cannot (see LowerInput.families).
  const program = targets.includes('ts') ? lowerModel(model) : null;
  const gpuProgram = targets.includes('wgsl') ? lowerModel(model, { families: false }) : null;
  const outputs: { target: Target; fileName: string; code: string }[] = [];
  const info = { sourcePath, name: model.name, params: model.params, data: model.data, symbolicDims: model.symbolicDims };
  for (const target of targets) {
    if (target === 'ts') outputs.push({ target, fileName: `${model.name}.ts`, code: emitTypeScript(program!, info) });
    else outputs.push({ target, fileName: `${model.name}.gpu.ts`, code: emitGpuModule(emitWgsl(gpuProgram!, info), info, gpuProgram!.notes) });
  }
  return { ok: true, outputs };
}
