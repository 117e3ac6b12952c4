// The build-tool plugin: `.hess` files imported from JavaScript or TypeScript.
//   import { hessian, model } from './net.hess';      the CPU module (float64)
//   import { createKernels } from './net.hess?gpu';    the WebGPU module (float32)
// One unplugin for Vite (and Vitest), esbuild, Rollup and webpack; each has its own entry point
// (hessgen/vite, …) whose default export is the plugin factory. The modules are compiled as
// JavaScript (`emit: 'js'`), so no TypeScript step is needed after the plugin. Compile errors go
// to the bundler with file, line and column (Vite's overlay, esbuild's error list, Rollup and
// webpack errors). With `types` (the default), `net.d.hess.ts` is written beside each model so
// that TypeScript (`allowArbitraryExtensions`) types the import with the model's own `Data`.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { createUnplugin, type UnpluginFactory } from 'unplugin';
import type { Diagnostic } from '../1-parse/diagnostics.ts';
import { formatDiagnostic } from '../1-parse/diagnostics.ts';
import { compile } from '../index.ts';

export interface HessgenPluginOptions {
  /** Write `<model>.d.hess.ts` beside each imported `.hess` file (default true). */
  readonly types?: boolean;
}

const HESS = /\.hess(\?gpu)?$/;

/** `/abs/net.hess?gpu` -> the file and the module wanted, or undefined for any other id. */
export function parseId(id: string): { file: string; gpu: boolean } | undefined {
  const [path = '', query] = id.split('?', 2);
  if (!path.endsWith('.hess')) return undefined;
  if (query === undefined || query === '') return { file: path, gpu: false };
  const params = query.split('&');
  if (params.includes('gpu')) return { file: path, gpu: true };
  return undefined; // ?raw, ?url, …: another plugin's business
}

/** The located error a bundler shows: every diagnostic in the message, the first one as the location. */
export class HessCompileError extends Error {
  readonly id: string;
  readonly loc: { file: string; line: number; column: number };
  readonly frame: string;
  readonly diagnostics: readonly Diagnostic[];
  constructor(file: string, diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0]!;
    super(diagnostics.map(formatDiagnostic).join('\n\n'));
    this.name = 'HessCompileError';
    this.id = file;
    // Rollup and Vite count columns from 0, like esbuild.
    this.loc = { file, line: first.line, column: first.column - 1 };
    this.frame = formatDiagnostic(first).split('\n').slice(1).join('\n');
    this.diagnostics = diagnostics;
  }
}

export const unpluginFactory: UnpluginFactory<HessgenPluginOptions | undefined> = (options, meta) => {
  const writeTypes = options?.types ?? true;
  return {
    name: 'hessgen',
    enforce: 'pre',
    loadInclude: (id) => HESS.test(id),
    async load(id) {
      const wanted = parseId(id);
      if (wanted === undefined) return null;
      this.addWatchFile(wanted.file);
      if (meta.framework === 'webpack' || meta.framework === 'rspack') {
        // unplugin's webpack loader does not catch a failed load: the rejection would end the
        // process with a stack. Report it through the loader (a located compile error in webpack's
        // list, exit status 1) and give the module a body that fails if a bundle is emitted anyway.
        try {
          return await loadModel(wanted);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          this.error({ message } as never);
          return `throw new Error(${JSON.stringify(message)});\n`;
        }
      }
      return await loadModel(wanted, (diagnostics) => {
        if (meta.framework !== 'esbuild') return false;
        // esbuild lists each error with its location; the others stop at the first thrown one.
        for (const d of diagnostics) this.error({ message: d.message, id: wanted.file, loc: { file: wanted.file, line: d.line, column: d.column - 1 } } as never);
        return true;
      });
    },
    esbuild: { loader: 'js' },
    vite: {
      // The dependency pre-bundler must leave hessgen's runtime alone: it is plain ESM already, and
      // its optional import of the Node `webgpu` package must stay a run-time import.
      config: () => ({ optimizeDeps: { exclude: ['hessgen', 'hessgen/runtime'] } }),
    },
  };

  /**
   * Compiles one model to its JavaScript module (writing net.d.hess.ts beside it); compile errors
   * are thrown as a HessCompileError unless `report` takes them (then the module is empty).
   */
  async function loadModel(wanted: { file: string; gpu: boolean }, report?: (d: readonly Diagnostic[]) => boolean): Promise<{ code: string; map: null }> {
    const source = await readFile(wanted.file, 'utf8');
    // Paths in messages and headers relative to the working directory, as the CLI shows them.
    const shown = relative(process.cwd(), wanted.file).split('\\').join('/') || basename(wanted.file);
    const result = compile(source, shown, { targets: [wanted.gpu ? 'wgsl' : 'ts'], emit: 'js', types: writeTypes && !wanted.gpu });
    if (!result.ok) {
      if (report?.(result.diagnostics)) return { code: 'export {};\n', map: null }; // non-empty, or esbuild would look for another loader
      throw new HessCompileError(wanted.file, result.diagnostics);
    }
    const types = result.outputs.find((o) => o.kind === 'source-types');
    if (types !== undefined) await writeIfChanged(join(dirname(wanted.file), types.fileName), types.code);
    const module = result.outputs.find((o) => o.kind === 'module');
    if (module === undefined) throw new Error(`hessgen: internal: no module for ${shown}`);
    return { code: module.code, map: null };
  }
};

export const unplugin = /* @__PURE__ */ createUnplugin(unpluginFactory);

/** Writes only when the content changes (no rebuild loops in watchers), atomically. */
async function writeIfChanged(path: string, content: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === content) return;
  } catch {
    // missing: write it
  }
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}
