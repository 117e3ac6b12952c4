// `hessgen inspect`: what the compiler knows about a model's Hessian, without running it. The θ
// layout, every Hessian block (its structural pattern, class, entry count and closed form in
// index notation), and the cost of each entry point at given run-time dimensions, read off the
// lowered loops. Runs in a browser too (the playground), so it imports no node: modules.

import { parseModel } from '../1-parse/index.ts';
import type { Diagnostic } from '../1-parse/diagnostics.ts';
import { lowerModel } from '../index.ts';
import { withCompileContext, type Formula, type TNode, type Term } from '../2-ir/index-form.ts';
import { viewedNode } from '../2-ir/nodes.ts';
import { toIndexForm } from '../2-ir/to-index-form.ts';
import { Differentiator } from '../3-differentiate/derivative.ts';
import { programCost } from './cost.ts';
import { linearForms, normalize, prune, signedCount, signedUnion, termLattice, transposeLattice, type Lattice } from './lattice.ts';
import { Notation, fmtNum } from './notation.ts';
import { spySvg } from './spy.ts';

export type { Diagnostic };

/** Structural class of a Hessian block. */
export type BlockKind = 'zero' | 'diagonal' | 'banded' | 'delta' | 'dense' | 'sparse';

/** One position of a pattern lattice: a constant index, or a variable plus an offset. */
export type LatticeIndex = number | readonly [variable: number, offset: number];

/**
 * A set of entries of a block: every index tuple obtained by letting each variable run over its
 * half-open range. A block's pattern is a signed sum of these (inclusion–exclusion), so that
 * counts per region are exact without listing entries.
 */
export interface PatternLattice {
  readonly sign: 1 | -1;
  /** One per axis of the block: the row parameter's axes, then the column parameter's. */
  readonly index: readonly LatticeIndex[];
  /** [lo, hi) of each variable. */
  readonly ranges: readonly (readonly [number, number])[];
}

export interface InspectParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export interface InspectBlock {
  /** Row and column parameters; row index ≤ column index (the mirror block is implied). */
  readonly row: string;
  readonly col: string;
  readonly rowIndex: number;
  readonly colIndex: number;
  readonly kind: BlockKind;
  /** Banded and diagonal blocks: the largest |row − col| (flattened) of a structural entry. */
  readonly bandwidth: number | null;
  /** Structurally nonzero entries of this block (its mirror, when off the diagonal, holds as many). */
  readonly entries: number;
  /** rows × cols of the block. */
  readonly size: number;
  /** The Kronecker δ's that the terms share, e.g. `δ(j,l)`; empty when none. */
  readonly deltas: readonly string[];
  /** Closed form in index notation, one line per term group. */
  readonly formula: string;
  /** The structural pattern (see PatternLattice). */
  readonly pattern: readonly PatternLattice[];
  /** False when the pattern was too intricate to make exact: its lattices then overlap (entries is an upper bound). */
  readonly exact: boolean;
}

/** Work of one entry point at the report's dims. */
export interface EntryCost {
  readonly entry: string;
  /** Floating-point multiply-adds (an addition of a product fuses with it; see docs/inspect.md). */
  readonly madds: number;
  /** Element-wise function evaluations (exp, tanh, …). */
  readonly calls: number;
}

export interface InspectCost {
  readonly dims: readonly { readonly name: string; readonly value: number; readonly given: boolean }[];
  readonly entries: readonly EntryCost[];
  /** Bytes of float64 workspaces the TypeScript module allocates at these dims. */
  readonly workspaceBytes: number;
  /** Bytes of each output (float64): value, gradient, Hessian, and H·v and diag(H) where the compiler has them. */
  readonly outputBytes: { readonly value: number; readonly gradient: number; readonly hessian: number; readonly hvp?: number; readonly hessianDiagonal?: number; readonly gaussNewton?: number };
  /** Batch streaming: the chunk the workspaces hold, or null. */
  readonly chunk: { readonly dim: string; readonly size: number } | null;
}

export interface InspectReport {
  readonly model: string;
  readonly sourcePath: string;
  /** Length of θ. */
  readonly n: number;
  readonly params: readonly InspectParam[];
  readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  /** Every block with row ≤ col, in row-major order. */
  readonly blocks: readonly InspectBlock[];
  /** Auxiliary tensors the formulas name, each with its own definition in index notation. */
  readonly where: readonly { readonly name: string; readonly formula: string }[];
  /** Structurally nonzero entries of the whole Hessian (both triangles). */
  readonly entries: number;
  readonly cost: InspectCost;
}

export type InspectResult = { ok: true; report: InspectReport } | { ok: false; diagnostics: Diagnostic[] };

/** Default size of a run-time dimension the caller does not give. */
export const DEFAULT_DIM = 1000;

export { spySvg };

const BLOCK_LETTERS = ['i', 'j', 'k', 'l'];

/**
 * Everything `hessgen inspect` shows, for a model's source. Never throws for bad input: a model
 * with errors gives its located diagnostics, as `compile` does.
 */
export function inspect(source: string, sourcePath: string, options: { dims?: Record<string, number> } = {}): InspectResult {
  const { model, diagnostics } = parseModel(source, sourcePath);
  if (!model || diagnostics.length > 0) return { ok: false, diagnostics };
  let n = 0;
  const params = model.params.map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const out = { name: p.name, shape: p.shape, offset: n, size };
    n += size;
    return out;
  });

  // The same formulas the compiler lowers (see lowerModel), with the definitions' nodes named.
  const { blocks, entries, notation } = withCompileContext(() => {
  const im = toIndexForm(model);
  const definitions = new Map<TNode, string>();
  for (const d of model.definitions ?? []) {
    // A definition is one node when it reads one whole (a map), or when its formula was
    // materialized (hash-consing returns that node; otherwise the new node is never used).
    const f = im.formulaOf(d.node);
    const node = viewedNode(f) ?? (f.terms.length > 0 ? im.nodes.poly(f) : null);
    if (node && node.kind !== 'param' && node.kind !== 'data' && node.kind !== 'dim' && !definitions.has(node)) definitions.set(node, d.name);
  }
  const diff = new Differentiator(im.nodes);
  const gradients = im.params.map((p) => diff.formula(im.objective, p));
  const modelNames = [...model.params.map((p) => p.name), ...model.data.map((d) => d.name), ...model.symbolicDims, ...(model.definitions ?? []).map((d) => d.name)];
  const notation = new Notation(definitions, modelNames);
  const blocks: InspectBlock[] = [];
  let entries = 0;
  im.params.forEach((_, i) =>
    im.params.forEach((q, j) => {
      if (j < i) return;
      const block = analyzeBlock(diff.formula(gradients[i]!, q), params[i]!, params[j]!, i, j, notation);
      blocks.push(block);
      entries += i === j ? block.entries : 2 * block.entries;
    }),
  );
  notation.flushWhere();
  return { blocks, entries, notation };
  });

  const dimValues = new Map<string, number>();
  const dims = model.symbolicDims.map((name) => {
    const given = options.dims?.[name];
    const value = given ?? DEFAULT_DIM;
    dimValues.set(name, value);
    return { name, value, given: given !== undefined };
  });
  const cost = programCost(lowerModel(model), dimValues);
  return {
    ok: true,
    report: {
      model: model.name,
      sourcePath,
      n,
      params,
      data: model.data.map((d) => ({ name: d.name, shape: d.shape })),
      blocks,
      where: notation.where,
      entries,
      cost: {
        dims,
        entries: cost.entries,
        workspaceBytes: cost.workspaceBytes,
        outputBytes: {
          value: 8,
          gradient: 8 * n,
          hessian: 8 * n * n,
          ...(cost.entries.some((e) => e.entry === 'hvp') ? { hvp: 8 * n } : {}),
          ...(cost.entries.some((e) => e.entry === 'hessianDiagonal') ? { hessianDiagonal: 8 * n } : {}),
          ...(cost.entries.some((e) => e.entry === 'gaussNewton') ? { gaussNewton: 8 * n * n } : {}),
        },
        chunk: cost.chunk,
      },
    },
  };
}

/** The δ's of a lattice in the block's letters: a repeated variable, or a constant index. */
function latticeDeltas(l: Lattice, letters: readonly string[], shape: readonly number[]): string[] {
  const first = new Map<number, { k: number; c: number }>();
  const out: string[] = [];
  l.index.forEach((ix, k) => {
    // On an axis of size 1 every index is 1: no δ to tell.
    if (typeof ix === 'number') {
      if (shape[k] !== 1) out.push(`δ(${letters[k]},${ix + 1})`);
      return;
    }
    const f = first.get(ix[0]);
    if (!f) first.set(ix[0], { k, c: ix[1] });
    else if (shape[k] !== 1 || shape[f.k] !== 1) out.push(deltaText(letters[f.k]!, letters[k]!, ix[1] - f.c));
  });
  return out;
}

/** δ between the letter `b` and `a + d` (b = a + d), written with the earlier letter first when d = 0. */
export function deltaText(a: string, b: string, d: number): string {
  return d === 0 ? `δ(${a},${b})` : `δ(${b},${a}${d > 0 ? `+${d}` : `−${-d}`})`;
}

function analyzeBlock(f: Formula, P: InspectParam, Q: InspectParam, i: number, j: number, notation: Notation): InspectBlock {
  const shape = [...P.shape, ...Q.shape];
  const letters = BLOCK_LETTERS.slice(0, shape.length);
  const head = `H[${P.name},${Q.name}]${letters.length ? `[${letters.join(',')}]` : ''}`;
  const lattices: Lattice[] = [];
  for (const t of f.terms) {
    const l = termLattice(t, shape);
    if (l) lattices.push(l);
  }
  // A diagonal block is written at each entry and at its mirror.
  if (i === j) for (const l of [...lattices]) lattices.push(transposeLattice(l, P.shape.length));
  const { pieces, exact } = signedUnion(lattices);
  const entries = signedCount(pieces);
  const size = P.size * Q.size;
  const top = prune(lattices);
  let kind: BlockKind;
  let bandwidth: number | null = null;
  const perLattice = top.map((l) => latticeDeltas(l, letters, shape));
  if (entries === 0) kind = 'zero';
  else if (exact && entries === size) kind = 'dense';
  else {
    // Banded: in every term, the flattened row minus column is a constant.
    let band = 0;
    const constantOffset = top.every((l) => {
      const { r0, c0, alpha, beta } = linearForms(l, P.shape, Q.shape);
      if (alpha.some((a, k) => a !== beta[k])) return false;
      band = Math.max(band, Math.abs(r0 - c0));
      return true;
    });
    if (constantOffset) {
      kind = band === 0 ? 'diagonal' : 'banded';
      bandwidth = band;
    } else kind = perLattice.some((d) => d.length > 0) ? 'delta' : 'sparse';
  }
  const deltas = perLattice.length ? perLattice[0]!.filter((d) => perLattice.every((ds) => ds.includes(d))) : [];
  const terms = notation.formula(f, letters, shape);
  const formula = terms.length === 1 ? `${head} = ${terms[0]}` : `${head} =${terms.map((t) => `\n    ${t}`).join('')}`;
  return { row: P.name, col: Q.name, rowIndex: i, colIndex: j, kind, bandwidth, entries, size, deltas, formula, pattern: pieces, exact };
}

const KIND_TEXT: Readonly<Record<BlockKind, string>> = {
  zero: 'zero', diagonal: 'diagonal', banded: 'banded', delta: 'δ-pattern', dense: 'dense', sparse: 'sparse',
};

function count(x: number): string {
  // Integers with thousands separators: 1234567 -> 1,234,567.
  return Number.isInteger(x) && Math.abs(x) < 1e21 ? x.toLocaleString('en-US') : fmtNum(x);
}

function bytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = b;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${b} B` : `${v.toPrecision(3)} ${units[u]} (${count(b)} B)`;
}

function table(rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => {
        const pad = ' '.repeat(widths[c]! - [...cell].length);
        return right[c] ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** The human-readable report (what `hessgen inspect` prints). */
export function formatReport(report: InspectReport): string {
  const lines: string[] = [];
  const shape = (s: readonly (number | string)[]) => (s.length ? `[${s.join(', ')}]` : 'scalar');
  lines.push(`${report.sourcePath}: n = ${count(report.n)} parameter${report.n === 1 ? '' : 's'}; Hessian ${count(report.n)} × ${count(report.n)}, ${count(report.entries)} structural nonzeros (${pct(report.entries, report.n * report.n)})`);
  lines.push('');
  lines.push('θ layout');
  lines.push(...table([['  param', 'shape', 'offset', 'size'], ...report.params.map((p) => [`  ${p.name}`, shape(p.shape), count(p.offset), count(p.size)])], [false, false, true, true]));
  lines.push('');
  lines.push('Hessian blocks (row ≤ column; each block below the diagonal is the transpose of its mirror)');
  const kindText = (b: InspectBlock) =>
    b.kind === 'banded' ? `banded (bandwidth ${b.bandwidth})` : b.kind === 'delta' && b.deltas.length ? `δ-pattern ${b.deltas.join('·')}` : KIND_TEXT[b.kind];
  lines.push(
    ...table(
      [['  block', 'size', 'class', 'entries', ''], ...report.blocks.map((b) => [`  H[${b.row},${b.col}]`, sizeText(b, report), kindText(b), count(b.entries), `${pct(b.entries, b.size)}${b.exact ? '' : ' (at most)'}`])],
      [false, false, false, true, true],
    ),
  );
  lines.push('');
  lines.push('Closed forms (one-based indices; δ(a,b) = 1 when a = b, else 0; [cond] = 1 when cond holds, else 0; a sum runs over its letter\'s whole axis unless a range is given)');
  for (const b of report.blocks) {
    if (b.kind === 'zero') lines.push(`  H[${b.row},${b.col}] = 0`);
    else lines.push(...b.formula.split('\n').map((l) => `  ${l}`));
  }
  if (report.where.length) {
    lines.push('where');
    for (const w of report.where) lines.push(`  ${w.formula}`);
  }
  lines.push('');
  const c = report.cost;
  const dimsText = c.dims.length ? c.dims.map((d) => `${d.name} = ${count(d.value)}${d.given ? '' : ' (default)'}`).join(', ') : 'none';
  lines.push(`Cost at run-time dims: ${dimsText}`);
  lines.push(...table([['  entry point', 'multiply-adds', 'function calls'], ...c.entries.map((e) => [`  ${e.entry}`, count(e.madds), count(e.calls)])], [false, true, true]));
  lines.push(`  workspace: ${bytes(c.workspaceBytes)}${c.chunk ? ` (the batch ${c.chunk.dim} is streamed ${count(c.chunk.size)} at a time)` : ''}`);
  const extra = [c.outputBytes.hvp === undefined ? '' : `, H·v ${bytes(c.outputBytes.hvp)}`, c.outputBytes.hessianDiagonal === undefined ? '' : `, diag(H) ${bytes(c.outputBytes.hessianDiagonal)}`, c.outputBytes.gaussNewton === undefined ? '' : `, Gauss-Newton ${bytes(c.outputBytes.gaussNewton)}`].join('');
  lines.push(`  outputs: value ${bytes(c.outputBytes.value)}, gradient ${bytes(c.outputBytes.gradient)}, Hessian ${bytes(c.outputBytes.hessian)}${extra}`);
  return `${lines.join('\n')}\n`;
}

function sizeText(b: InspectBlock, report: InspectReport): string {
  const r = report.params[b.rowIndex]!.size;
  const c = report.params[b.colIndex]!.size;
  return `${count(r)} × ${count(c)}`;
}

function pct(part: number, whole: number): string {
  if (whole === 0) return '0%';
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p >= 0.01 ? p.toPrecision(2) : p.toExponential(1)}%`;
}

/**
 * The report as JSON (what `hessgen inspect --json` prints): indented, with short arrays and
 * small objects on one line so that patterns stay readable. JSON.parse gives the report back.
 */
export function reportJson(report: InspectReport): string {
  const write = (v: unknown, indent: string): string => {
    const flat = JSON.stringify(v);
    if (v === null || typeof v !== 'object') return flat;
    const nested = Array.isArray(v) ? v : Object.values(v as object);
    const simple = nested.every((x) => x === null || typeof x !== 'object' || (Array.isArray(x) && x.every((y) => y === null || typeof y !== 'object' || Array.isArray(y))));
    if (simple && flat.length <= 100) return flat;
    const inner = `${indent}  `;
    if (Array.isArray(v)) return v.length === 0 ? '[]' : `[\n${v.map((x) => inner + write(x, inner)).join(',\n')}\n${indent}]`;
    const entries = Object.entries(v as object);
    return entries.length === 0 ? '{}' : `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return write(report, '');
}
