// One model through the compiler: source -> the files it should produce (or its diagnostics).
import { dirname, join } from 'node:path';
import type { Diagnostic } from '../1-parse/diagnostics.ts';
import { compile, type OutputKind } from '../index.ts';
import type { Emit, Target } from '../index.ts';
import { InternalError, firstLine } from './errors.ts';
import type { ModelInput } from './inputs.ts';
import { readModel } from './inputs.ts';

export interface PlannedFile {
  readonly model: ModelInput;
  readonly target: Target;
  readonly abs: string;
  readonly display: string; // --out as typed, joined with the file name
  readonly content: Uint8Array;
}

export type ModelBuild =
  | { readonly kind: 'ok'; readonly files: readonly PlannedFile[]; readonly warnings?: readonly Diagnostic[] }
  | { readonly kind: 'errors'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'unreadable'; readonly message: string }
  /** It compiled, but the compiler does not produce these targets (yet). */
  | { readonly kind: 'unavailable'; readonly targets: readonly Target[] };

/** How each model is built, besides its targets: `--emit` and `--types`. */
export interface BuildSettings {
  readonly emit?: Emit;
  readonly types?: boolean;
  /** `--outputs`: the outputs the modules provide (compile's `outputs`); all when absent. */
  readonly outputs?: readonly OutputKind[];
}

export interface OutFolder {
  readonly abs: string;
  readonly shown: string; // as typed after --out
}

const encoder = new TextEncoder();

export async function buildModel(model: ModelInput, targets: readonly Target[], out: OutFolder, settings: BuildSettings = {}): Promise<ModelBuild> {
  const read = await readModel(model);
  if (!read.ok) {
    return 'readError' in read ? { kind: 'unreadable', message: read.readError } : { kind: 'errors', diagnostics: read.diagnostics };
  }
  let result: unknown;
  try {
    result = compile(read.source, model.display, { targets, ...settings });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InternalError(`compiling ${model.display} failed: ${firstLine(message)}`, { cause: err });
  }
  return planOutputs(model, targets, out, result);
}

/** Checks what `compile` returned (it is another stage's code: trust nothing) and plans the files. */
export function planOutputs(model: ModelInput, targets: readonly Target[], out: OutFolder, result: unknown): ModelBuild {
  const bad = (what: string): never => {
    throw new InternalError(`the compiler returned ${what} for ${model.display}`);
  };
  if (typeof result !== 'object' || result === null || !('ok' in result)) return bad('no result');
  if (result.ok === false) {
    const diagnostics = (result as { diagnostics?: unknown }).diagnostics;
    if (!Array.isArray(diagnostics) || diagnostics.length === 0) return bad('a failure without diagnostics');
    return { kind: 'errors', diagnostics: diagnostics as Diagnostic[] };
  }
  const outputs = (result as { outputs?: unknown }).outputs;
  if (!Array.isArray(outputs)) return bad('no outputs');
  const files: PlannedFile[] = [];
  for (const o of outputs as { target?: unknown; fileName?: unknown; code?: unknown; kind?: unknown }[]) {
    if (typeof o !== 'object' || o === null || typeof o.code !== 'string') return bad('an output without code');
    const target = o.target as Target;
    if (!targets.includes(target)) continue; // not asked for
    const name = o.fileName;
    if (typeof name !== 'string' || !isPlainFileName(name)) return bad(`an unusable file name (${JSON.stringify(name)})`);
    // `net.d.hess.ts` (--types) goes beside its model, where TypeScript looks for it.
    const beside = o.kind === 'source-types';
    const abs = beside ? join(dirname(model.abs), name) : join(out.abs, name);
    const display = beside ? joinShown(dirname(model.display), name) : join(out.shown, name);
    files.push({ model, target, abs, display, content: encoder.encode(o.code) });
  }
  const missing = targets.filter((t) => !files.some((f) => f.target === t));
  if (missing.length > 0) return { kind: 'unavailable', targets: missing };
  files.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  const warnings = (result as { warnings?: unknown }).warnings;
  return Array.isArray(warnings) && warnings.length > 0 ? { kind: 'ok', files, warnings: warnings as Diagnostic[] } : { kind: 'ok', files };
}

function joinShown(folder: string, name: string): string {
  return folder === '.' || folder === '' ? name : `${folder}/${name}`;
}

function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export function unavailableMessage(targets: readonly Target[]): string {
  if (targets.includes('wgsl')) {
    return 'the WGSL target is not available yet in this version of hessgen; use --target ts';
  }
  return `target ${targets.join(', ')} is not available in this version of hessgen`;
}

/** Two planned files on the same path (ignoring case): a message, or undefined. */
export function fileClash(files: readonly PlannedFile[]): string | undefined {
  const byPath = new Map<string, PlannedFile>();
  for (const f of files) {
    const key = f.abs.toLowerCase();
    const other = byPath.get(key);
    if (other !== undefined) {
      if (other.model === f.model) throw new InternalError(`the compiler returned two files named ${f.display} for ${f.model.display}`);
      return `${other.model.display} and ${f.model.display} would both write ${f.display}; rename one of them or build them into different --out folders`;
    }
    byPath.set(key, f);
  }
  return undefined;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
