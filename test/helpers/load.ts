// Compiles a .hess model with the compiler's API and loads the generated TypeScript module:
// esbuild strips the types, and the JavaScript is imported from a data: URL, so nothing is
// written to disk and every load is a fresh module instance.
import { transform } from 'esbuild';
import { compile, type Target } from '../../compiler/index.ts';

export type DataArg = Record<string, number | ArrayLike<number>>;

export interface ModelInfo {
  readonly name: string;
  readonly n: number;
  readonly params: readonly { name: string; shape: readonly number[]; offset: number; size: number }[];
  readonly data: readonly { name: string; shape: readonly (number | string)[] }[];
}

/** The generated module's API as docs/modules.md describes it. */
export interface GeneratedModule {
  readonly model: ModelInfo;
  value(theta: ArrayLike<number>, data?: DataArg): number;
  gradient(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data?: DataArg, out?: Float64Array): Float64Array;
  evaluate(theta: ArrayLike<number>, data?: DataArg): { value: number; gradient: Float64Array; hessian: Float64Array };
}

export class CompileFailure extends Error {}

/** One target's output code; throws with the diagnostics when the model does not compile. */
export function compileTo(target: Target, source: string, sourcePath: string): string {
  const result = compile(source, sourcePath, { targets: [target] });
  if (!result.ok) {
    const msgs = result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n');
    throw new CompileFailure(`${sourcePath} does not compile:\n${msgs}`);
  }
  const out = result.outputs.find((o) => o.target === target);
  if (out === undefined) throw new CompileFailure(`${sourcePath}: no ${target} output among ${result.outputs.map((o) => o.target).join(', ')}`);
  return out.code;
}

/** The `ts` output's code. */
export const compileToTs = (source: string, sourcePath: string): string => compileTo('ts', source, sourcePath);

/** `forceJs`: the module's default evaluator, made as it loads, takes the dense kernels' JavaScript fallback (HESSGEN_DENSE=js). */
export async function loadTs(code: string, label: string, forceJs = false): Promise<GeneratedModule> {
  const js = await transform(code, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: label });
  const url = `data:text/javascript;base64,${Buffer.from(js.code, 'utf8').toString('base64')}`;
  if (forceJs) process.env['HESSGEN_DENSE'] = 'js';
  try {
    return (await import(/* @vite-ignore */ url)) as GeneratedModule;
  } finally {
    if (forceJs) delete process.env['HESSGEN_DENSE'];
  }
}

export interface CompiledModel {
  code: string;
  module: GeneratedModule;
}

/** Compiles `source` (as if read from `sourcePath`) and loads the generated module. */
export async function compileModel(source: string, sourcePath: string): Promise<CompiledModel> {
  const code = compileToTs(source, sourcePath);
  return { code, module: await loadTs(code, sourcePath.replace(/\.hess$/, '.ts')) };
}
