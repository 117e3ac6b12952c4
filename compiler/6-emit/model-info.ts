// The part every generated module shares, whatever its target: the `model` description (θ
// layout, data shapes) and the `Data` type of its inputs.

import type { Dim } from '../2-ir/graph.ts';
import type { ModelLayout } from '../5-lower/loops.ts';

/** What an emitter needs beyond the lowered program (which carries the model's layout). */
export interface EmitInfo {
  /** Model path for the header, relative to the working directory. */
  readonly sourcePath: string;
}

export const q = (s: string) => JSON.stringify(s);

export function shapeText(shape: readonly Dim[]): string {
  return shape.length === 0 ? 'scalar' : `[${shape.join(', ')}]`;
}

/** `sparse`: a module with hessianSparse (either target), whose model also gives the Hessian's pattern (CSR). */
export function emitModelInfo(line: (s?: string) => void, info: ModelLayout, n: number, sparse = false): void {
  if (sparse) {
    line('/** A sparsity pattern in CSR form: the columns of row r are colIdx[rowPtr[r] .. rowPtr[r + 1]), ascending. */');
    line('export interface HessianPattern {');
    line('  readonly n: number;');
    line('  readonly nnz: number;');
    line('  readonly rowPtr: Int32Array;');
    line('  readonly colIdx: Int32Array;');
    line('}');
    line();
  }
  line('export interface ModelInfo {');
  line('  readonly name: string;');
  line('  readonly n: number;');
  line('  readonly params: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly size: number }[];');
  line('  readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];');
  if (sparse) {
    line('  /** The Hessian\'s structurally nonzero entries, both triangles (built on first use; independent of θ and the data). */');
    line('  readonly hessianPattern: HessianPattern;');
  }
  line('}');
  line();
  line('export const model: ModelInfo = {');
  line(`  name: ${q(info.name)},`);
  line(`  n: ${n},`);
  line('  params: [');
  for (const prm of info.params) line(`    { name: ${q(prm.name)}, shape: [${prm.shape.join(', ')}], offset: ${prm.offset}, size: ${prm.size} },`);
  line('  ],');
  line('  data: [');
  for (const d of info.data) line(`    { name: ${q(d.name)}, shape: [${d.shape.map((x) => (typeof x === 'number' ? String(x) : q(x))).join(', ')}] },`);
  line('  ],');
  if (sparse) {
    line('  get hessianPattern() {');
    line('    return hessianPattern();');
    line('  },');
  }
  line('};');
  line();
  line('/** The run-time inputs: a number for a scalar, a row-major array otherwise. */');
  if (info.data.length === 0) line('export interface Data {}');
  else {
    line('export interface Data {');
    for (const d of info.data) line(`  readonly ${q(d.name)}: ${d.shape.length === 0 ? 'number' : 'ArrayLike<number>'}; // ${shapeText(d.shape)}`);
    line('}');
  }
}
