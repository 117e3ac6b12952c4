// Input models: command-line arguments -> the list of .hess files to compile, and reading them.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../1-parse/diagnostics.ts';
import { UsageError, describeFsError, fsErrorCode } from './errors.ts';

export const MODEL_EXTENSION = '.hess';

export interface ModelInput {
  readonly abs: string; // absolute path
  readonly display: string; // relative to the working directory, '/'-separated: used in messages and headers
  readonly base: string; // file name without .hess: names the outputs
}

export interface ResolvedInputs {
  readonly models: readonly ModelInput[]; // in argument order, folders expanded in name order, no repeats
  readonly files: readonly string[]; // absolute paths of the model files named on the command line
  readonly folders: readonly string[]; // absolute paths of the folders named on the command line
}

/** A path as shown to the user: relative to `cwd` when inside it, with '/' separators. */
export function displayPath(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  const shown = rel === '' ? '.' : rel;
  return sep === '/' ? shown : shown.split(sep).join('/');
}

/** A folder entry that counts as a model: `*.hess`, not hidden (editors' lock and backup files are). */
export function isModelFileName(name: string): boolean {
  return name.endsWith(MODEL_EXTENSION) && name.length > MODEL_EXTENSION.length && !name.startsWith('.');
}

export function modelInput(cwd: string, abs: string): ModelInput {
  return { abs, display: displayPath(cwd, abs), base: basename(abs).slice(0, -MODEL_EXTENSION.length) };
}

/** The .hess files of one folder (not its subfolders), sorted by name (code-unit order). */
export async function listModelFiles(folderAbs: string, shown: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folderAbs);
  } catch (err) {
    throw new UsageError(`cannot read folder ${shown}: ${describeFsError(err)}`);
  }
  const files: string[] = [];
  for (const name of names.filter(isModelFileName).sort()) {
    const abs = join(folderAbs, name);
    try {
      if ((await stat(abs)).isFile()) files.push(abs);
    } catch {
      // a dangling link or a file removed meanwhile: not a model
    }
  }
  return files;
}

export async function resolveInputs(args: readonly string[], cwd: string): Promise<ResolvedInputs> {
  const models: ModelInput[] = [];
  const files: string[] = [];
  const folders: string[] = [];
  const seen = new Set<string>();
  const add = async (abs: string): Promise<void> => {
    const key = await realpath(abs).catch(() => abs);
    if (seen.has(key)) return; // the same file named twice (`examples examples/a.hess`) is one model
    seen.add(key);
    models.push(modelInput(cwd, abs));
  };

  for (const arg of args) {
    const abs = resolve(cwd, arg);
    let info;
    try {
      info = await stat(abs);
    } catch (err) {
      const code = fsErrorCode(err);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && isGlob(arg)) {
        const found = await expandGlob(arg, cwd);
        if (found.length === 0) throw new UsageError(`no ${MODEL_EXTENSION} files match ${arg}`);
        for (const f of found) await add(f);
        continue;
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`no such file or folder: ${arg}`);
      throw new UsageError(`cannot access ${arg}: ${describeFsError(err)}`);
    }
    if (info.isDirectory()) {
      const found = await listModelFiles(abs, arg);
      if (found.length === 0) {
        throw new UsageError(`folder ${arg} has no ${MODEL_EXTENSION} files (subfolders are not searched)`);
      }
      folders.push(abs);
      for (const f of found) await add(f);
    } else if (info.isFile()) {
      const name = basename(abs);
      if (!name.endsWith(MODEL_EXTENSION) || name === MODEL_EXTENSION) {
        throw new UsageError(`${arg} is not a model file: model files end in ${MODEL_EXTENSION}`);
      }
      files.push(abs);
      await add(abs);
    } else {
      throw new UsageError(`${arg} is neither a file nor a folder`);
    }
  }
  return { models, files, folders };
}

/**
 * Two models whose outputs would land on the same file: `a/m.hess` and `b/m.hess` (or `M.hess`,
 * which collides on case-insensitive file systems). Returns a message, or undefined.
 */
export function nameClash(models: readonly ModelInput[]): string | undefined {
  const byName = new Map<string, ModelInput>();
  for (const m of models) {
    const key = m.base.toLowerCase();
    const other = byName.get(key);
    if (other !== undefined) return clashMessage(other, m);
    byName.set(key, m);
  }
  return undefined;
}

export function clashMessage(a: ModelInput, b: ModelInput): string {
  const same = a.base === b.base ? 'the same name' : 'the same name apart from case';
  return (
    `${a.display} and ${b.display} have ${same}, so their generated files would overwrite each other; ` +
    'rename one of them or build them into different --out folders'
  );
}

export type ReadResult =
  | { readonly ok: true; readonly source: string }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] } // not UTF-8: a located compile error
  | { readonly ok: false; readonly readError: string }; // cannot be read at all

/** Reads a model as UTF-8 text (a leading byte-order mark is dropped). */
export async function readModel(model: ModelInput): Promise<ReadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(model.abs);
  } catch (err) {
    return { ok: false, readError: `cannot read ${model.display}: ${describeFsError(err)}` };
  }
  return decodeModel(bytes, model.display);
}

export function decodeModel(bytes: Uint8Array, display: string): ReadResult {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return { ok: true, source: new TextDecoder('utf-8').decode(bytes) };
  // Locate the bad byte as the compiler locates everything: line and column (UTF-16 units) of the text.
  const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  let lineStart = hasBom ? 3 : 0;
  let line = 1;
  for (let i = lineStart; i < bad; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = bytes.indexOf(0x0a, bad);
  if (lineEnd < 0) lineEnd = bytes.length;
  const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
  const before = lenient.decode(bytes.subarray(lineStart, bad));
  const sourceLine = lenient.decode(bytes.subarray(lineStart, lineEnd)).replace(/\r$/, '');
  const hex = bytes[bad]!.toString(16).toUpperCase().padStart(2, '0');
  return {
    ok: false,
    diagnostics: [
      {
        file: display,
        line,
        column: before.length + 1,
        length: 1,
        message: `the file is not valid UTF-8 text (byte 0x${hex}); save it as UTF-8`,
        sourceLine,
      },
    ],
  };
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f; // no UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i; // truncated at the end of the file
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Does the argument use glob syntax (`*`, `?`, `[...]`, `{a,b}`)? A path that exists is never a glob. */
export function isGlob(arg: string): boolean {
  return /[*?[{]/.test(arg);
}

/**
 * The `.hess` files a glob matches, sorted: `*` and `?` within one path segment, `**` any number
 * of folders, `[abc]` one of the characters, `{a,b}` alternatives. Hidden files and folders and
 * node_modules are skipped unless the pattern names them.
 */
export async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  const normalized = pattern.split('\\').join('/');
  const absolute = normalized.startsWith('/');
  const segments = normalized.split('/').filter((s, i) => s !== '' && !(s === '.' && i > 0));
  const found = new Set<string>();
  const walk = async (dir: string, rest: readonly string[]): Promise<void> => {
    if (rest.length === 0) return;
    const [segment, ...tail] = rest as [string, ...string[]];
    if (segment === '**') {
      await walk(dir, tail); // zero folders
      for (const entry of await entries(dir)) {
        if (entry.isDirectory() && !skipped(entry.name)) await walk(join(dir, entry.name), rest);
      }
      return;
    }
    if (!isGlob(segment)) {
      const next = join(dir, segment);
      if (tail.length === 0) {
        if (isModelFileName(segment) && (await stat(next).then((s) => s.isFile(), () => false))) found.add(next);
      } else await walk(next, tail);
      return;
    }
    const re = segmentRegExp(segment);
    for (const entry of await entries(dir)) {
      if (!re.test(entry.name) || (entry.name.startsWith('.') && !segment.startsWith('.'))) continue;
      const next = join(dir, entry.name);
      if (tail.length === 0) {
        if (isModelFileName(entry.name) && (entry.isFile() || (await stat(next).then((s) => s.isFile(), () => false)))) found.add(next);
      } else if (entry.isDirectory() && !(entry.name === 'node_modules' && segment !== 'node_modules')) await walk(next, tail);
    }
  };
  await walk(absolute ? '/' : cwd, segments);
  return [...found].sort();
}

function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

async function entries(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else if (c === '{') {
      const close = segment.indexOf('}', i + 1);
      if (close < 0) re += '\\{';
      else {
        re += `(?:${segment.slice(i + 1, close).split(',').map((alt) => alt.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('|')})`;
        i = close;
      }
    } else re += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
