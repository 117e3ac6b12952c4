// Command-line parsing: argv -> a command, or a UsageError with a message a user can act on.
import { OUTPUT_KINDS, type Emit, type OutputKind, type Target } from '../index.ts';
import { UsageError } from './errors.ts';

/** Every target, in the order outputs are produced and listed. */
export const ALL_TARGETS: readonly Target[] = ['ts', 'wgsl'];

export type Mode = 'build' | 'check' | 'watch';

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'build';
      readonly inputs: readonly string[]; // as typed: model files and folders
      readonly out: string; // as typed
      readonly targets: readonly Target[]; // deduplicated, in ALL_TARGETS order
      readonly mode: Mode;
      readonly emit: Emit;
      readonly types: boolean;
      /** --outputs: value, gradient, hessian always; hvp, hessianDiagonal when listed (all when absent). */
      readonly outputs?: readonly OutputKind[];
    }
  /** `hessgen build` without models or --out: hessgen.config.json (or --config) says what to build. */
  | {
      readonly kind: 'build-config';
      readonly config: string | undefined; // --config as typed
      readonly mode: Mode;
      /** Flags given on the command line, which win over the file. */
      readonly targets?: readonly Target[];
      readonly emit?: Emit;
      readonly types?: true;
      readonly outputs?: readonly OutputKind[];
    };

const BUILD_FLAGS = ['--out', '--target', '--emit', '--types', '--outputs', '--config', '--check', '--watch', '--help', '--version'];
const COMMANDS = ['build', 'inspect', 'help'];

export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given');
  if (command === '-h' || command === '--help' || command === 'help') return { kind: 'help' };
  if (command === '--version') return { kind: 'version' };
  if (command === 'build') return parseBuild(rest);
  if (command.startsWith('-')) {
    throw new UsageError(`unknown option '${command}'${suggest(flagName(command), ['--help', '--version'])}`);
  }
  if (command.endsWith('.hess')) {
    throw new UsageError(`unknown command '${command}'; to compile it, run: hessgen build ${command} --out <folder>`);
  }
  const close = suggest(command, COMMANDS, '');
  throw new UsageError(`unknown command '${command}'${close === '' ? ' (the commands are build and inspect)' : close}`);
}

/** One flag on the command line, as `scanArgs` hands it over. */
export interface Flag {
  /** The flag without any `=value`: `--out`. */
  readonly name: string;
  /** As typed: `--out=dist`. */
  readonly arg: string;
  /** Its value (`--out=dist` or `--out dist`); a UsageError `<name> needs <what>: <name> <placeholder>` when there is none. */
  value(what: string, placeholder: string): string;
  /** A UsageError when it was given a value (`--check=yes`). */
  noValue(): void;
}

/** Whether `-h` or `--help` comes before any `--`: it wins over any other mistake on the line (the user is asking how to write it). */
export function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}

/**
 * The arguments of a subcommand: each flag goes to `onFlag` in order, the rest (and everything
 * after `--`; `-` is a name too) are returned as inputs. `onFlag` returning `'stop'` ends the scan
 * (`--version` answers at once). Shared by `build` and `inspect`.
 */
export function scanArgs(args: readonly string[], onFlag: (flag: Flag) => void | 'stop'): string[] {
  const inputs: string[] = [];
  let flagsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (flagsEnded || !arg.startsWith('-') || arg === '-') {
      inputs.push(arg);
      continue;
    }
    if (arg === '--') {
      flagsEnded = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const next = onFlag({
      name,
      arg,
      value: (what, placeholder) => {
        const missing = `${name} needs ${what}: ${name} <${placeholder}>`;
        if (inline !== undefined) {
          if (inline === '') throw new UsageError(missing);
          return inline;
        }
        const next = args[i + 1];
        if (next === undefined || (next.startsWith('-') && next !== '-')) throw new UsageError(missing);
        i++;
        return next;
      },
      noValue: () => {
        if (inline !== undefined) throw new UsageError(`${name} takes no value (got '${arg}')`);
      },
    });
    if (next === 'stop') break;
  }
  return inputs;
}

function parseBuild(args: readonly string[]): Command {
  if (asksForHelp(args)) return { kind: 'help' };
  let out: string | undefined;
  let targetText: string | undefined;
  let emitText: string | undefined;
  let outputsText: string | undefined;
  let config: string | undefined;
  let types = false;
  let check = false;
  let watch = false;
  let version = false;

  const inputs = scanArgs(args, ({ name, value: takeValue, noValue }) => {
    switch (name) {
      case '--out':
        if (out !== undefined) throw new UsageError('--out is given more than once');
        out = takeValue('a folder', 'folder');
        break;
      case '--target':
        if (targetText !== undefined) throw new UsageError('--target is given more than once (use --target ts,wgsl for both)');
        targetText = takeValue('a target list', 'ts|wgsl|ts,wgsl');
        break;
      case '--emit':
        if (emitText !== undefined) throw new UsageError('--emit is given more than once');
        emitText = takeValue('ts or js', 'ts|js');
        break;
      case '--types':
        noValue();
        types = true;
        break;
      case '--outputs':
        if (outputsText !== undefined) throw new UsageError('--outputs is given more than once');
        outputsText = takeValue('a list of outputs', OUTPUT_KINDS.join(','));
        break;
      case '--config':
        if (config !== undefined) throw new UsageError('--config is given more than once');
        config = takeValue('a file', 'hessgen.config.json');
        break;
      case '--check':
        noValue();
        check = true;
        break;
      case '--watch':
        noValue();
        watch = true;
        break;
      case '--version':
        noValue();
        version = true;
        return 'stop';
      default:
        throw new UsageError(`unknown option '${name}'${suggest(name, BUILD_FLAGS)}`);
    }
    return undefined;
  });
  if (version) return { kind: 'version' };

  if (check && watch) throw new UsageError('--check and --watch cannot be used together');
  const mode: Mode = check ? 'check' : watch ? 'watch' : 'build';
  const emit = emitText === undefined ? undefined : parseEmit(emitText);
  const outputs = outputsText === undefined ? undefined : parseOutputs(outputsText);
  if (inputs.length === 0 && out === undefined) {
    return {
      kind: 'build-config',
      config,
      mode,
      ...(targetText !== undefined ? { targets: parseTargets(targetText) } : {}),
      ...(emit !== undefined ? { emit } : {}),
      ...(types ? { types } : {}),
      ...(outputs !== undefined ? { outputs } : {}),
    };
  }
  if (config !== undefined) throw new UsageError('--config cannot be combined with models or --out on the command line (the file names them)');
  if (inputs.length === 0) throw new UsageError('no models given: name .hess files or folders to build');
  if (out === undefined) throw new UsageError('missing --out <folder> (where the generated files go)');
  const targets = targetText === undefined ? (['ts'] as const) : parseTargets(targetText);
  return { kind: 'build', inputs, out, targets, mode, emit: emit ?? 'ts', types, ...(outputs !== undefined ? { outputs } : {}) };
}

/** `value,gradient,hvp`...: OUTPUT_KINDS names (any order, spaces around commas, repeats ignored). */
export function parseOutputs(text: string): OutputKind[] {
  const wanted = new Set<string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw new UsageError(`--outputs '${text}' has an empty name (expected some of ${OUTPUT_KINDS.join(', ')})`);
    if (!(OUTPUT_KINDS as readonly string[]).includes(part)) throw new UsageError(`unknown output '${part}'${suggest(part, OUTPUT_KINDS, '')} (expected some of ${OUTPUT_KINDS.join(', ')})`);
    wanted.add(part);
  }
  return OUTPUT_KINDS.filter((o) => wanted.has(o));
}

/** `ts` or `js`. */
export function parseEmit(text: string): Emit {
  const value = text.trim();
  if (value === 'ts' || value === 'js') return value;
  throw new UsageError(`unknown --emit '${text}'${suggest(value, ['ts', 'js'], '')} (expected ts or js)`);
}

/** `ts`, `wgsl`, `ts,wgsl` (any order, spaces allowed around commas, repeats ignored). */
export function parseTargets(text: string): Target[] {
  const wanted = new Set<string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw new UsageError(`--target '${text}' has an empty target name (expected ts, wgsl or ts,wgsl)`);
    if (!(ALL_TARGETS as readonly string[]).includes(part)) {
      throw new UsageError(`unknown target '${part}'${suggest(part, ALL_TARGETS, '')} (expected ts, wgsl or ts,wgsl)`);
    }
    wanted.add(part);
  }
  return ALL_TARGETS.filter((t) => wanted.has(t));
}

function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq >= 0 ? arg.slice(0, eq) : arg;
}

/** ` (did you mean 'x'?)` for the closest candidate within two edits, else `fallback`. */
export function suggest(word: string, candidates: readonly string[], fallback = ''): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined ? fallback : ` (did you mean '${best}'?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
