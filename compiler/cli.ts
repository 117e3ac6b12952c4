// The hessgen command line (docs/build.md):
//   hessgen build <model.hess | folder | glob>... --out <folder> [--target ts|wgsl|ts,wgsl] [--emit ts|js] [--types] [--check] [--watch]
//   hessgen build [--config hessgen.config.json] [--check] [--watch]
// Exit status: 0 success, 1 compile errors / stale outputs (--check) / a file that cannot be
// written, 2 usage error. bin/hessgen.mjs calls main() and uses the result as the exit status.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from './1-parse/diagnostics.ts';
import type { Diagnostic } from './1-parse/diagnostics.ts';
import type { Target } from './index.ts';
import { parseArgs } from './cli/args.ts';
import { CliError, UsageError, describeFsError, firstLine } from './cli/errors.ts';
import { ConfigError, configPaths, loadConfig } from './cli/config.ts';
import { nameClash, resolveInputs } from './cli/inputs.ts';
import { checkOutFolder, compareFile, ensureOutFolder, writeFileAtomic } from './cli/outputs.ts';
import type { BuildSettings, OutFolder, PlannedFile } from './cli/pipeline.ts';
import { buildModel, fileClash, plural, unavailableMessage } from './cli/pipeline.ts';
import { watch } from './cli/watch.ts';
import { runInspect } from './cli/inspect.ts';

export { watch } from './cli/watch.ts';
export type { BuildEvent, WatchHandle, WatchOptions } from './cli/watch.ts';

/** Where the command line reads and writes; main() uses the process's, tests may pass their own. */
export interface CliIo {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void; // one line, without its newline
  readonly stderr: (line: string) => void;
  /** Resolves when the user asks a --watch session to stop (Ctrl-C); main() waits for SIGINT/SIGTERM. */
  readonly untilStopped?: () => Promise<void>;
}

const USAGE = 'usage: hessgen build <model.hess | folder | glob>... --out <folder> [--target ts|wgsl|ts,wgsl] [--emit ts|js] [--types] [--check] [--watch]\n       hessgen build   (reads hessgen.config.json)';

export function helpText(): string {
  return `hessgen ${version()}: compiles .hess models into TypeScript kernels (value, gradient, full Hessian)

Usage:
  hessgen build <model.hess | folder | glob>... --out <folder> [--target ts|wgsl|ts,wgsl]
                [--emit ts|js] [--types] [--check] [--watch]
  hessgen build [--config <file>] [--check] [--watch]
                    with no models and no --out: what hessgen.config.json says
  hessgen inspect <model.hess> [--json] [--svg <file>] [--dims N=1000,M=3]
                    the Hessian's blocks, structure, closed forms and cost
                    (hessgen inspect --help for details)
  hessgen --help
  hessgen --version

Inputs:
  model.hess        a model file
  folder            every .hess file directly in that folder, in name order
                    (subfolders and hidden files are not included)
  'glob'            the .hess files a pattern matches: * and ? within a name, ** any
                    number of folders, {a,b} alternatives (quote it for the shell)

Options:
  --out <folder>    where generated files go; created if missing. model.hess gives
                    <folder>/model.ts (target ts) and <folder>/model.gpu.ts (target wgsl).
                    A file whose content would not change is left untouched.
  --target <list>   ts (the default), wgsl, or ts,wgsl
  --emit ts|js      ts (the default): TypeScript modules. js: JavaScript modules, each
                    with its .d.ts (model.js + model.d.ts, model.gpu.js + model.gpu.d.ts)
  --types           also write model.d.hess.ts beside each model.hess, so that
                    TypeScript (allowArbitraryExtensions) types import './model.hess'
  --outputs <list>  which outputs beside value, gradient and hessian (always there):
                    hvp, hessianDiagonal, hessianSparse (default: all)
  --config <file>   the config file to read instead of ./hessgen.config.json
  --check           write nothing; exit 1 and name the files that are missing or out
                    of date (for CI)
  --watch           build, then rebuild each model whenever its file changes (a folder
                    is also watched for new .hess files); Ctrl-C stops
  -h, --help        show this help
  --version         print the version

hessgen.config.json (paths relative to the file):
  { "inputs": ["models/", "src/**/*.hess"], "out": "src/generated",
    "targets": ["ts", "wgsl"], "emit": "js", "types": true }
  --target, --emit and --types on the command line win over the file.

Exit status: 0 success; 1 compile errors (all are printed and nothing is written) or,
with --check, stale files; 2 usage error or a mistake in the config file.
Set HESSGEN_DEBUG=1 to see the stack trace of an internal error.`;
}

export async function main(argv: string[]): Promise<number> {
  return run(argv, {
    cwd: process.cwd(),
    env: process.env,
    stdout: (line) => process.stdout.write(line + '\n'),
    stderr: (line) => process.stderr.write(line + '\n'),
    untilStopped: untilSignal,
  });
}

/** main() with its surroundings passed in. Never throws: every failure becomes a message and a status. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    if (argv[0] === 'inspect') return await runInspect(argv.slice(1), io);
    const command = parseArgs(argv);
    switch (command.kind) {
      case 'help':
        io.stdout(helpText());
        return 0;
      case 'version':
        io.stdout(version());
        return 0;
      case 'build': {
        const settings: BuildSettings = { emit: command.emit, types: command.types, ...(command.outputs ? { outputs: command.outputs } : {}) };
        if (command.mode === 'watch') return await runWatch(command.inputs, command.out, command.targets, io, settings);
        return await runBuild(command.inputs, command.out, command.targets, command.mode === 'check', io, settings);
      }
      case 'build-config': {
        const config = await loadConfig(io.cwd, command.config);
        const { inputs, out } = configPaths(config, io.cwd);
        const targets = command.targets ?? config.targets;
        let settings: BuildSettings = { emit: command.emit ?? config.emit, types: command.types ?? config.types };
        const outputs = command.outputs ?? config.outputs;
        if (outputs) settings = { ...settings, outputs };
        if (command.mode === 'watch') return await runWatch(inputs, out, targets, io, settings);
        return await runBuild(inputs, out, targets, command.mode === 'check', io, settings);
      }
    }
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    io.stderr(err.message.replace(/^(\S+:\d+:\d+): /, '$1: error: '));
    return 2;
  }
  if (err instanceof UsageError) {
    io.stderr(`hessgen: error: ${err.message}`);
    io.stderr(USAGE);
    io.stderr("run 'hessgen --help' for details");
    return 2;
  }
  if (err instanceof CliError) {
    io.stderr(`hessgen: error: ${err.message}`);
    return 1;
  }
  io.stderr(internalErrorLine(err, io.env));
  return 1;
}

/** One line for a bug; the stack (and its causes) only when HESSGEN_DEBUG is set. */
export function internalErrorLine(err: unknown, env: Readonly<Record<string, string | undefined>>): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!isDebug(env)) return `hessgen: internal error: ${firstLine(message)} (set HESSGEN_DEBUG=1 for details)`;
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return `hessgen: internal error: ${firstLine(message)}\n${parts.join('\ncaused by: ')}`;
}

export function isDebug(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env['HESSGEN_DEBUG'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

async function runBuild(inputs: readonly string[], outArg: string, targets: readonly Target[], check: boolean, io: CliIo, settings: BuildSettings = {}): Promise<number> {
  const { models } = await resolveInputs(inputs, io.cwd);
  const clash = nameClash(models);
  if (clash !== undefined) throw new UsageError(clash);
  const out: OutFolder = { abs: resolve(io.cwd, outArg), shown: outArg };
  await checkOutFolder(out.abs, out.shown);

  // Compile everything first: nothing is written unless every model compiles.
  const files: PlannedFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const unreadable: string[] = [];
  const unavailable = new Set<Target>();
  let failedModels = 0;
  for (const model of models) {
    const built = await buildModel(model, targets, out, settings);
    if (built.kind === 'ok') {
      files.push(...built.files);
      if (built.warnings) io.stderr(built.warnings.map(formatDiagnostic).join('\n\n'));
    }
    else if (built.kind === 'unavailable') built.targets.forEach((t) => unavailable.add(t));
    else {
      failedModels++;
      if (built.kind === 'errors') diagnostics.push(...built.diagnostics);
      else unreadable.push(built.message);
    }
  }
  if (unavailable.size > 0) throw new UsageError(unavailableMessage([...unavailable]));
  if (unreadable.length > 0 || diagnostics.length > 0) {
    for (const message of unreadable) io.stderr(`hessgen: error: ${message}`);
    if (diagnostics.length > 0) io.stderr(diagnostics.map(formatDiagnostic).join('\n\n'));
    const errors = diagnostics.length > 0 ? ` with ${plural(diagnostics.length, 'error')}` : '';
    io.stderr(`hessgen: ${plural(failedModels, 'model')} of ${models.length} failed${errors}; no files were ${check ? 'checked' : 'written'}`);
    return 1;
  }
  const fileProblem = fileClash(files);
  if (fileProblem !== undefined) throw new UsageError(fileProblem);

  if (check) {
    let stale = 0;
    for (const f of files) {
      const state = await compareFile(f.abs, f.content, f.display);
      if (state === 'same') continue;
      stale++;
      io.stderr(`stale: ${f.display} (${state === 'missing' ? 'missing' : 'out of date'})`);
    }
    if (stale > 0) {
      io.stderr(`hessgen: ${stale} of ${plural(files.length, 'generated file')} would change; run the same command without --check to update`);
      return 1;
    }
    io.stdout(`hessgen: ${files.length === 1 ? '1 generated file is' : `${files.length} generated files are`} up to date`);
    return 0;
  }

  await ensureOutFolder(out.abs, out.shown);
  let written = 0;
  for (const f of files) {
    if ((await compareFile(f.abs, f.content, f.display)) === 'same') continue;
    await writeFile(f);
    written++;
    io.stdout(`wrote ${f.display}`);
  }
  io.stdout(`hessgen: ${plural(models.length, 'model')} built, ${plural(written, 'file')} written, ${files.length - written} unchanged`);
  return 0;
}

export async function writeFile(f: PlannedFile): Promise<void> {
  try {
    await writeFileAtomic(f.abs, f.content);
  } catch (err) {
    throw new CliError(`cannot write ${f.display}: ${describeFsError(err)}`);
  }
}

async function runWatch(inputs: readonly string[], outArg: string, targets: readonly Target[], io: CliIo, settings: BuildSettings = {}): Promise<number> {
  const handle = await watch({
    inputs,
    out: outArg,
    targets,
    ...(settings.emit !== undefined ? { emit: settings.emit } : {}),
    ...(settings.types === true ? { types: true } : {}),
    ...(settings.outputs !== undefined ? { outputs: settings.outputs } : {}),
    cwd: io.cwd,
    log: io.stdout,
    logError: io.stderr,
    debug: isDebug(io.env),
  });
  try {
    await (io.untilStopped ?? untilSignal)();
  } finally {
    await handle.close();
  }
  io.stdout('hessgen: stopped watching');
  return 0;
}

function untilSignal(): Promise<void> {
  return new Promise((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

let cachedVersion: string | undefined;

/** The version in hessgen's package.json (found from this file, bundled or not). */
export function version(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'hessgen' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return cachedVersion;
}
