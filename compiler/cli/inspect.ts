// `hessgen inspect <model.hess> [--json] [--svg <file>] [--dims N=1000,M=3]`: what the compiler
// knows about a model's Hessian (compiler/inspect), printed as text or JSON, and its spy plot.
// Exit status as for build: 0 success, 1 compile errors (printed located) or an unwritable file,
// 2 usage error.
import { resolve } from 'node:path';
import { formatDiagnostic } from '../1-parse/diagnostics.ts';
import { DEFAULT_DIM, formatReport, inspect, reportJson, spySvg } from '../inspect/index.ts';
import { asksForHelp, scanArgs, suggest } from './args.ts';
import { CliError, InternalError, UsageError, describeFsError, firstLine } from './errors.ts';
import { displayPath, modelInput, readModel, resolveInputs } from './inputs.ts';
import { writeFileAtomic } from './outputs.ts';
import { plural } from './pipeline.ts';

export const INSPECT_USAGE = 'usage: hessgen inspect <model.hess> [--json] [--svg <file>] [--dims N=1000,M=3]';

export function inspectHelpText(): string {
  return `hessgen inspect: the structure and cost of a model's Hessian, without running it

Usage:
  hessgen inspect <model.hess> [--json] [--svg <file>] [--dims N=1000,M=3]

Prints the θ layout (each param's shape, offset and size), every Hessian block with
row ≤ column (the blocks below the diagonal are their mirrors' transposes) classified as
zero, diagonal, banded, δ-pattern, sparse or dense, with its structural entry count and its
closed form in index notation, and the multiply-adds of value, gradient, Hessian and
evaluate, workspace and output bytes at the given run-time dimensions.

Options:
  --json            print the same as one JSON object (schema: docs/inspect.md)
  --svg <file>      also write a spy plot of the structural pattern (standalone SVG)
  --dims <list>     sizes of the run-time dimensions for the cost model, e.g. N=1000,M=3
                    (each not given is ${DEFAULT_DIM}); may be repeated
  -h, --help        show this help

Exit status: 0 success; 1 compile errors (all are printed) or a file that cannot be
written; 2 usage error.`;
}

interface InspectArgs {
  readonly input: string;
  readonly json: boolean;
  readonly svg: string | undefined;
  readonly dims: ReadonlyMap<string, number>;
}

const FLAGS = ['--json', '--svg', '--dims', '--help'];

/** Arguments after `inspect`; null means --help. The scanning is build's (args.ts). */
export function parseInspectArgs(args: readonly string[]): InspectArgs | null {
  if (asksForHelp(args)) return null;
  let json = false;
  let svg: string | undefined;
  const dims = new Map<string, number>();
  const inputs = scanArgs(args, ({ name, value, noValue }) => {
    switch (name) {
      case '--json':
        noValue();
        json = true;
        break;
      case '--svg':
        if (svg !== undefined) throw new UsageError('--svg is given more than once');
        svg = value('a value', 'file');
        break;
      case '--dims':
        parseDims(value('a value', 'N=1000,M=3'), dims);
        break;
      default:
        throw new UsageError(`unknown option '${name}' for inspect${suggest(name, FLAGS, ` (options: ${FLAGS.join(', ')})`)}`);
    }
  });
  if (inputs.length === 0) throw new UsageError('no model given: hessgen inspect <model.hess>');
  if (inputs.length > 1) throw new UsageError(`inspect takes one model, got ${inputs.length}: ${inputs.join(' ')}`);
  return { input: inputs[0]!, json, svg, dims };
}

/** `N=1000,M=3` into `into`; sizes are whole numbers ≥ 1. */
function parseDims(text: string, into: Map<string, number>): void {
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)$/.exec(part);
    if (!m) throw new UsageError(`--dims: '${part}' is not NAME=SIZE (e.g. --dims N=1000,M=3)`);
    const name = m[1]!;
    const value = Number(m[2]);
    if (!/^[0-9]+(e[0-9]+)?$/i.test(m[2]!) || !Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(`--dims: the size of ${name} must be a whole number ≥ 1, got '${m[2]}'`);
    }
    if (into.has(name)) throw new UsageError(`--dims: ${name} is given more than once`);
    into.set(name, value);
  }
}

export interface InspectIo {
  readonly cwd: string;
  readonly stdout: (text: string) => void; // text without its final newline
  readonly stderr: (text: string) => void;
}

/** Runs `hessgen inspect`. Usage errors are printed here (with inspect's usage); others are thrown. */
export async function runInspect(args: readonly string[], io: InspectIo): Promise<number> {
  try {
    return await inspectCommand(args, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`hessgen: error: ${err.message}`);
    io.stderr(INSPECT_USAGE);
    io.stderr("run 'hessgen inspect --help' for details");
    return 2;
  }
}

async function inspectCommand(args: readonly string[], io: InspectIo): Promise<number> {
  const parsed = parseInspectArgs(args);
  if (parsed === null) {
    io.stdout(inspectHelpText());
    return 0;
  }
  const { models } = await resolveInputs([parsed.input], io.cwd);
  if (models.length !== 1) throw new UsageError(`inspect takes one model; ${parsed.input} is a folder with ${plural(models.length, 'model')}: name one of them`);
  const model = models[0] ?? modelInput(io.cwd, resolve(io.cwd, parsed.input));
  const read = await readModel(model);
  if (!read.ok) {
    if ('readError' in read) throw new CliError(read.readError);
    io.stderr(read.diagnostics.map(formatDiagnostic).join('\n\n'));
    io.stderr(`hessgen: ${model.display} has ${plural(read.diagnostics.length, 'error')}`);
    return 1;
  }
  let result;
  try {
    result = inspect(read.source, model.display, { dims: Object.fromEntries(parsed.dims) });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InternalError(`inspecting ${model.display} failed: ${firstLine(message)}`, { cause: err });
  }
  if (!result.ok) {
    io.stderr(result.diagnostics.map(formatDiagnostic).join('\n\n'));
    io.stderr(`hessgen: ${model.display} has ${plural(result.diagnostics.length, 'error')}`);
    return 1;
  }
  const report = result.report;
  const known = report.cost.dims.map((d) => d.name);
  for (const name of parsed.dims.keys()) {
    if (!known.includes(name)) {
      const has = known.length ? `its run-time dimensions are ${known.join(', ')}` : 'it has none';
      throw new UsageError(`--dims: ${model.display} has no run-time dimension ${name} (${has})`);
    }
  }
  if (parsed.svg !== undefined) {
    const abs = resolve(io.cwd, parsed.svg);
    try {
      await writeFileAtomic(abs, new TextEncoder().encode(spySvg(report)));
    } catch (err) {
      throw new CliError(`cannot write ${displayPath(io.cwd, abs)}: ${describeFsError(err)}`);
    }
  }
  // io.stdout takes text without its final newline.
  if (parsed.json) io.stdout(reportJson(report));
  else io.stdout(formatReport(report).replace(/\n$/, '') + (parsed.svg !== undefined ? `\nspy plot: ${displayPath(io.cwd, resolve(io.cwd, parsed.svg))}` : ''));
  return 0;
}
