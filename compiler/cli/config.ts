// hessgen.config.json: what `hessgen build` with no models builds (the graphql-codegen / buf
// convention: the project's build settings in one file at its root).
//
//   {
//     "inputs": ["models/", "src/**/*.hess"],   files, folders or globs (a string or a list)
//     "out": "src/generated",                   the output folder
//     "targets": ["ts", "wgsl"],                optional, default ["ts"]
//     "emit": "js",                             optional, "ts" (default) or "js"
//     "types": true,                            optional: write <model>.d.hess.ts beside each model
//     "outputs": ["hvp"]                        optional: value, gradient, hessian and these (default: all)
//   }
//
// Paths are relative to the file's folder. Every mistake is reported as `file:line:column: error:`
// with what was expected; the file is parsed here (not with JSON.parse) to know where each value is.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OUTPUT_KINDS, type Emit, type OutputKind, type Target } from '../index.ts';
import { ALL_TARGETS } from './args.ts';
import { CliError, UsageError, describeFsError, fsErrorCode } from './errors.ts';

export const CONFIG_FILE = 'hessgen.config.json';

export interface BuildConfig {
  readonly file: string; // as displayed
  readonly dir: string; // absolute: paths in the file are relative to it
  readonly inputs: readonly string[];
  readonly out: string;
  readonly targets: readonly Target[];
  readonly emit: Emit;
  readonly types: boolean;
  readonly outputs?: readonly OutputKind[]; // absent: all
}

/** A config mistake, located (`file:line:column: message`); exit status 2, like a usage error. */
export class ConfigError extends CliError {}

/** Reads and checks the config: `--config` as typed, or hessgen.config.json in `cwd`. */
export async function loadConfig(cwd: string, given: string | undefined): Promise<BuildConfig> {
  const shown = given ?? CONFIG_FILE;
  const abs = resolve(cwd, shown);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    if (given === undefined && fsErrorCode(err) === 'ENOENT') {
      throw new UsageError(`no models given and no ${CONFIG_FILE} here: name .hess files or folders and --out, or write a ${CONFIG_FILE} (see hessgen --help)`);
    }
    throw new UsageError(`cannot read ${shown}: ${describeFsError(err)}`);
  }
  return parseConfig(text, shown, dirname(abs));
}

type Json =
  | { kind: 'object'; at: number; entries: { key: string; keyAt: number; value: Json }[] }
  | { kind: 'array'; at: number; items: Json[] }
  | { kind: 'string'; at: number; value: string }
  | { kind: 'number' | 'boolean' | 'null'; at: number; text: string };

export function parseConfig(text: string, shown: string, dir: string): BuildConfig {
  const fail = (at: number, message: string): never => {
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new ConfigError(`${shown}:${line}:${column}: ${message}`);
  };
  const root = parseJson(text.replace(/^\uFEFF/, ''), fail);
  if (root.kind !== 'object') return fail(root.at, 'expected an object: { "inputs": [...], "out": "..." }');
  const KEYS = ['inputs', 'out', 'targets', 'emit', 'types', 'outputs', '$schema'];
  const seen = new Map<string, Json>();
  for (const e of root.entries) {
    if (!KEYS.includes(e.key)) fail(e.keyAt, `unknown key "${e.key}" (expected ${KEYS.slice(0, 6).map((k) => `"${k}"`).join(', ')})`);
    if (seen.has(e.key)) fail(e.keyAt, `"${e.key}" is given twice`);
    seen.set(e.key, e.value);
  }
  const describe = (v: Json): string => (v.kind === 'number' || v.kind === 'boolean' || v.kind === 'null' ? v.text : v.kind === 'string' ? 'a string' : `an ${v.kind}`);

  const inputsValue = seen.get('inputs');
  if (inputsValue === undefined) return fail(root.at, 'missing "inputs": the .hess files, folders or globs to build, e.g. "inputs": ["models/"]');
  const inputItems = inputsValue.kind === 'array' ? inputsValue.items : [inputsValue];
  if (inputItems.length === 0) fail(inputsValue.at, '"inputs" is empty: name at least one .hess file, folder or glob');
  const inputs = inputItems.map((v) => {
    if (v.kind !== 'string' || v.value.trim() === '') return fail(v.at, `each input must be a non-empty string (a file, folder or glob), not ${describe(v)}`);
    return v.value;
  });

  const outValue = seen.get('out');
  if (outValue === undefined) return fail(root.at, 'missing "out": the folder the generated files go to, e.g. "out": "src/generated"');
  if (outValue.kind !== 'string' || outValue.value.trim() === '') return fail(outValue.at, `"out" must be a folder name (a non-empty string), not ${describe(outValue)}`);

  let targets: readonly Target[] = ['ts'];
  const targetsValue = seen.get('targets');
  if (targetsValue !== undefined) {
    // A list, or one string like the command line's "ts,wgsl".
    const items: Json[] = targetsValue.kind === 'array' ? targetsValue.items : targetsValue.kind === 'string' ? targetsValue.value.split(',').map((s) => ({ kind: 'string', at: targetsValue.at, value: s.trim() })) : [targetsValue];
    if (items.length === 0) fail(targetsValue.at, '"targets" is empty: use ["ts"], ["wgsl"] or ["ts", "wgsl"]');
    const wanted = new Set<string>();
    for (const v of items) {
      if (v.kind !== 'string' || !(ALL_TARGETS as readonly string[]).includes(v.value)) fail(v.at, `unknown target ${v.kind === 'string' ? `"${v.value}"` : describe(v)} (expected "ts" or "wgsl")`);
      wanted.add((v as { value: string }).value);
    }
    targets = ALL_TARGETS.filter((t) => wanted.has(t));
  }

  let emit: Emit = 'ts';
  const emitValue = seen.get('emit');
  if (emitValue !== undefined) {
    if (emitValue.kind !== 'string' || (emitValue.value !== 'ts' && emitValue.value !== 'js')) return fail(emitValue.at, `"emit" must be "ts" or "js", not ${emitValue.kind === 'string' ? `"${emitValue.value}"` : describe(emitValue)}`);
    emit = emitValue.value;
  }

  let types = false;
  const typesValue = seen.get('types');
  if (typesValue !== undefined) {
    if (typesValue.kind !== 'boolean') return fail(typesValue.at, `"types" must be true or false, not ${describe(typesValue)}`);
    types = typesValue.text === 'true';
  }
  let outputs: OutputKind[] | undefined;
  const outputsValue = seen.get('outputs');
  if (outputsValue !== undefined) {
    const expected = `a list of outputs, some of ${OUTPUT_KINDS.map((k) => `"${k}"`).join(', ')}`;
    if (outputsValue.kind !== 'array') return fail(outputsValue.at, `"outputs" must be ${expected}, not ${describe(outputsValue)}`);
    outputs = [];
    for (const item of outputsValue.items) {
      const kind = item.kind === 'string' ? OUTPUT_KINDS.find((k) => k === item.value) : undefined;
      if (kind === undefined) return fail(item.at, `"outputs" holds ${item.kind === 'string' ? `"${item.value}"` : describe(item)}; expected ${expected}`);
      if (!outputs.includes(kind)) outputs.push(kind);
    }
  }
  return { file: shown, dir, inputs, out: outValue.value, targets, emit, types, ...(outputs ? { outputs } : {}) };
}

/** A strict JSON parser that remembers where each value starts. */
function parseJson(text: string, fail: (at: number, message: string) => never): Json {
  let i = 0;
  const space = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const what = (): string => (i >= text.length ? 'the end of the file' : `'${text[i]}'`);
  const value = (): Json => {
    space();
    const at = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: { key: string; keyAt: number; value: Json }[] = [];
      space();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', at, entries };
      }
      for (;;) {
        space();
        const keyAt = i;
        if (text[i] !== '"') fail(i, `expected a key in double quotes, found ${what()}`);
        const key = string();
        space();
        if (text[i] !== ':') fail(i, `expected ':' after "${key}", found ${what()}`);
        i++;
        entries.push({ key, keyAt, value: value() });
        space();
        if (text[i] === ',') {
          const comma = i++;
          space();
          if (text[i] === '}') fail(comma, 'a trailing comma is not allowed in JSON');
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', at, entries };
        }
        fail(i, `expected ',' or '}', found ${what()}`);
      }
    }
    if (c === '[') {
      i++;
      const items: Json[] = [];
      space();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', at, items };
      }
      for (;;) {
        items.push(value());
        space();
        if (text[i] === ',') {
          const comma = i++;
          space();
          if (text[i] === ']') fail(comma, 'a trailing comma is not allowed in JSON');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', at, items };
        }
        fail(i, `expected ',' or ']', found ${what()}`);
      }
    }
    if (c === '"') return { kind: 'string', at, value: string() };
    const word = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i));
    if (word !== null) {
      i += word[0].length;
      const kind = word[0] === 'true' || word[0] === 'false' ? 'boolean' : word[0] === 'null' ? 'null' : 'number';
      return { kind, at, text: word[0] };
    }
    if (c === "'") return fail(i, 'strings need double quotes in JSON');
    if (c === '/' ) return fail(i, 'comments are not allowed in JSON');
    return fail(i, `expected a value, found ${what()}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\n') fail(start, 'unterminated string');
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail(start, 'unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail(start, 'invalid escape in string');
    }
  };
  const root = value();
  space();
  if (i < text.length) fail(i, `unexpected ${what()} after the end of the JSON value`);
  return root;
}

/** The config's paths as the build takes them: relative to the working directory. */
export function configPaths(config: BuildConfig, cwd: string): { inputs: string[]; out: string } {
  const rel = (p: string): string => {
    const abs = resolve(config.dir, p);
    const r = abs === cwd ? '.' : abs.startsWith(cwd + '/') ? abs.slice(cwd.length + 1) : abs;
    // Keep a glob's trailing slash and pattern characters as written.
    return p.endsWith('/') && !r.endsWith('/') ? `${r}/` : r;
  };
  return { inputs: config.inputs.map(rel), out: rel(config.out) };
}
