// `hessgen build --watch`: build every model, then rebuild a model whenever its file changes.
//
// The folders that hold the models are watched (not the files themselves), so editors that save
// by writing a new file and renaming it over the old one are seen too, and a watched folder
// argument picks up new .hess files. Events are debounced per file. Builds run one at a time.
// Unlike a one-shot build, each model stands alone here: a model with errors is reported and
// its generated files are left as they were, while the other models keep being rebuilt.
import { watch as watchFolder } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { formatDiagnostic } from '../1-parse/diagnostics.ts';
import type { Emit, OutputKind, Target } from '../index.ts';
import { CliError, UsageError, describeFsError, firstLine } from './errors.ts';
import type { ModelInput } from './inputs.ts';
import { clashMessage, isModelFileName, listModelFiles, modelInput, nameClash, resolveInputs } from './inputs.ts';
import { checkOutFolder, compareFile, ensureOutFolder, writeFileAtomic } from './outputs.ts';
import type { OutFolder } from './pipeline.ts';
import { buildModel, fileClash, plural, unavailableMessage } from './pipeline.ts';

export interface WatchOptions {
  readonly inputs: readonly string[]; // model files and folders, as typed
  readonly out: string; // as typed
  readonly targets?: readonly Target[]; // default ['ts']
  readonly emit?: Emit; // default 'ts'
  readonly types?: boolean; // also write <model>.d.hess.ts beside each model
  readonly outputs?: readonly OutputKind[]; // --outputs; all when absent
  readonly cwd?: string; // default process.cwd()
  readonly debounceMs?: number; // quiet time after the last event on a file before rebuilding; default 100
  readonly log?: (line: string) => void; // progress; default stdout
  readonly logError?: (line: string) => void; // errors; default stderr
  readonly onBuild?: (event: BuildEvent) => void; // after every build attempt (for tests and tools)
  readonly debug?: boolean; // print stacks of internal errors
}

export interface BuildEvent {
  readonly model: string; // the model's path as displayed
  readonly ok: boolean; // false: errors were printed and its generated files were left untouched
  readonly written: readonly string[]; // generated files (as displayed) that were (re)written
  readonly ms: number; // compile and write time of this build, in milliseconds
}

export interface WatchHandle {
  /** The models being watched, as displayed. */
  models(): string[];
  /** Stops watching; resolves once a build in progress has finished. */
  close(): Promise<void>;
}

/**
 * Builds every model once, starts watching, and resolves with a handle. Throws a UsageError
 * (before watching anything) when the inputs or options are wrong, as `hessgen build` would.
 */
export async function watch(options: WatchOptions): Promise<WatchHandle> {
  const cwd = options.cwd ?? process.cwd();
  const targets = options.targets ?? (['ts'] as const);
  const debounceMs = options.debounceMs ?? 100;
  const log = options.log ?? ((line: string) => void process.stdout.write(line + '\n'));
  const logError = options.logError ?? ((line: string) => void process.stderr.write(line + '\n'));
  const onBuild = options.onBuild ?? (() => undefined);

  const resolved = await resolveInputs(options.inputs, cwd);
  const clash = nameClash(resolved.models);
  if (clash !== undefined) throw new UsageError(clash);
  const out: OutFolder = { abs: resolve(cwd, options.out), shown: options.out };
  await checkOutFolder(out.abs, out.shown);

  const tracked = new Map<string, ModelInput>(resolved.models.map((m) => [m.abs, m]));
  const explicitFiles = new Set(resolved.files);
  const folders = new Set(resolved.folders);
  const timers = new Map<string, NodeJS.Timeout>();
  const watchers: FSWatcher[] = [];
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  let started = false; // the first build of every model is done

  const reportInternal = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    logError(`hessgen: internal error: ${firstLine(message)}${options.debug ? '' : ' (set HESSGEN_DEBUG=1 for details)'}`);
    if (options.debug && err instanceof Error && err.stack) logError(err.stack);
  };
  const enqueue = (task: () => Promise<void>): void => {
    queue = queue.then(task).catch(reportInternal);
  };

  /** Builds one model; returns the targets the compiler cannot produce, if that was the problem. */
  const build = async (model: ModelInput): Promise<readonly Target[] | undefined> => {
    const startedAt = performance.now();
    const fail = (): undefined => {
      onBuild({ model: model.display, ok: false, written: [], ms: performance.now() - startedAt });
      return undefined;
    };
    const built = await buildModel(model, targets, out, { ...(options.emit ? { emit: options.emit } : {}), ...(options.types ? { types: true } : {}), ...(options.outputs ? { outputs: options.outputs } : {}) });
    if (built.kind === 'unavailable') {
      if (!started) return built.targets; // the first build turns this into a usage error
      logError(`hessgen: error: ${unavailableMessage(built.targets)}`);
      fail();
      return built.targets;
    }
    if (built.kind === 'unreadable') {
      logError(`hessgen: error: ${built.message}`);
      return fail();
    }
    if (built.kind === 'errors') {
      logError(built.diagnostics.map(formatDiagnostic).join('\n\n'));
      logError(`hessgen: ${plural(built.diagnostics.length, 'error')} in ${model.display}; its generated files are left unchanged`);
      return fail();
    }
    if (built.warnings) logError(built.warnings.map(formatDiagnostic).join('\n\n'));
    const problem = fileClash(built.files);
    if (problem !== undefined) {
      logError(`hessgen: error: ${problem}`);
      return fail();
    }
    const written: string[] = [];
    try {
      await ensureOutFolder(out.abs, out.shown);
      for (const f of built.files) {
        if ((await compareFile(f.abs, f.content, f.display)) === 'same') continue;
        try {
          await writeFileAtomic(f.abs, f.content);
        } catch (err) {
          throw new CliError(`cannot write ${f.display}: ${describeFsError(err)}`);
        }
        written.push(f.display);
        log(`wrote ${f.display}`);
      }
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      logError(`hessgen: error: ${err.message}`);
      return fail();
    }
    const ms = performance.now() - startedAt;
    log(`hessgen: built ${model.display} in ${Math.round(ms)} ms${written.length === 0 ? ' (generated files unchanged)' : ''}`);
    onBuild({ model: model.display, ok: true, written, ms });
    return undefined;
  };

  /** A file event settled: the file changed, appeared or went away. */
  const refresh = async (abs: string): Promise<void> => {
    if (closed) return;
    const isFile = await stat(abs).then(
      (s) => s.isFile(),
      () => false,
    );
    let model = tracked.get(abs);
    if (!isFile) {
      if (model !== undefined) {
        tracked.delete(abs);
        log(`hessgen: ${model.display} was removed; its generated files are left in place`);
      }
      return;
    }
    if (model === undefined) {
      const fresh = modelInput(cwd, abs);
      const other = [...tracked.values()].find((m) => m.base.toLowerCase() === fresh.base.toLowerCase());
      if (other !== undefined) {
        logError(`hessgen: error: ${clashMessage(other, fresh)}; ${fresh.display} is not built`);
        onBuild({ model: fresh.display, ok: false, written: [], ms: 0 });
        return;
      }
      model = fresh;
      tracked.set(abs, model);
      log(`hessgen: new model ${model.display}`);
    }
    await build(model);
  };

  const schedule = (abs: string): void => {
    if (closed) return;
    clearTimeout(timers.get(abs));
    timers.set(
      abs,
      setTimeout(() => {
        timers.delete(abs);
        enqueue(() => refresh(abs));
      }, debounceMs),
    );
  };

  const onEvent = (folder: string, fileName: string | null): void => {
    if (closed) return;
    if (fileName === null) {
      // The platform did not say which file: look at everything this folder could hold.
      for (const abs of [...explicitFiles, ...tracked.keys()]) if (dirname(abs) === folder) schedule(abs);
      if (folders.has(folder)) {
        listModelFiles(folder, folder).then((found) => found.forEach(schedule), () => undefined);
      }
      return;
    }
    const abs = join(folder, fileName);
    if (explicitFiles.has(abs) || tracked.has(abs) || (folders.has(folder) && isModelFileName(fileName))) schedule(abs);
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    for (const w of watchers) w.close();
    watchers.length = 0;
    await queue;
  };

  // Watch first, then build, so that a save during the first build is not missed.
  const watchedFolders = new Set([...folders, ...[...explicitFiles].map((f) => dirname(f))]);
  try {
    for (const folder of [...watchedFolders].sort()) {
      const watcher = watchFolder(folder, { persistent: true }, (_event, fileName) => onEvent(folder, fileName));
      watcher.on('error', (err) => logError(`hessgen: error: stopped watching ${folder}: ${describeFsError(err)}`));
      watchers.push(watcher);
    }
  } catch (err) {
    await close();
    throw new CliError(`cannot watch the model folders: ${describeFsError(err)}`);
  }

  let unavailable: readonly Target[] | undefined;
  for (const model of resolved.models) {
    if (unavailable !== undefined) break;
    await new Promise<void>((done) =>
      enqueue(async () => {
        try {
          unavailable = await build(model);
        } finally {
          done();
        }
      }),
    );
  }
  if (unavailable !== undefined) {
    await close();
    throw new UsageError(unavailableMessage(unavailable));
  }
  started = true;
  log(`hessgen: watching ${plural(tracked.size, 'model')} for changes (Ctrl-C to stop)`);

  return {
    models: () => [...tracked.values()].map((m) => m.display),
    close,
  };
}
