// The shard entry of a TypeScript module (programs with `shards`, see 2-ir/shards.ts): the same
// entry points as the evaluator's, each computing the contribution of a range of the batch's rows
// from those rows alone. Any partition of the rows into ranges gives contributions that sum to the
// full outputs; the terms without the batch are counted by the range that holds row 0.

import type { Entry } from '../5-lower/loops.ts';
import type { HessianInMemory } from './typescript.ts';
import { q } from './model-info.ts';

export interface ShardEmit {
  readonly n: number;
  /** The batch dimension that ranges split. */
  readonly dim: string;
  /** The data parameter's declaration (`data: Data`, or `data: Data = {}`). */
  readonly dataParam: string;
  readonly hasHvp: boolean;
  readonly hasDiag: boolean;
  /** An entry point's kernel calls, indented for a method body (the evaluator's). */
  readonly call: (e: Entry) => string[];
  /** The lines around the kernels that compute the Hessian in the dense kernels' memory (null: into h itself). */
  readonly hessianInMemory: HessianInMemory | null;
  /** Lines that clear the dense Hessian `h` before entry e's kernels (all but the blocks they assign). */
  readonly clearHessian: (e: Entry, h: string, indent: string) => string[];
}

export function emitShardEvaluator(line: (s?: string) => void, o: ShardEmit): void {
  const { n, dim: B, dataParam } = o;
  const data = dataParam.replace(' = {}', '');
  line();
  line(`/** The batch dimension that shard ranges split. */`);
  line(`export const shardDim: string = ${q(B)};`);
  line();
  line('/**');
  line(` * Each output's contribution of the rows [range.start, range.end) of ${B} (range.total rows in all),`);
  line(` * from those rows alone: \`data\` holds them only (row start of ${B} is its row 0; arrays without ${B}`);
  line(' * whole). Over any partition of the rows into ranges, the contributions sum to the full outputs');
  line(` * (within round-off): sums over ${B} run over the range, ${B} itself (a mean's 1/${B}) is range.total,`);
  line(' * and the terms without the batch are counted by the range that holds row 0 (start 0, end > 0).');
  line(' */');
  line('export interface ShardEvaluator {');
  line(`  value(theta: ArrayLike<number>, ${data}, range: ShardRange): number;`);
  line(`  gradient(theta: ArrayLike<number>, ${data}, range: ShardRange, out?: Float64Array): Float64Array;`);
  line(`  hessian(theta: ArrayLike<number>, ${data}, range: ShardRange, out?: Float64Array): Float64Array;`);
  line(`  evaluate(theta: ArrayLike<number>, ${data}, range: ShardRange): { value: number; gradient: Float64Array; hessian: Float64Array };`);
  if (o.hasDiag) line(`  hessianDiagonal(theta: ArrayLike<number>, ${data}, range: ShardRange, out?: Float64Array): Float64Array;`);
  if (o.hasHvp) line(`  hvp(theta: ArrayLike<number>, ${data}, v: ArrayLike<number>, range: ShardRange, out?: Float64Array): Float64Array;`);
  line('  /** Frees the workspaces; later calls throw. */');
  line('  dispose(): void;');
  line('}');
  line();
  line('/** A shard evaluator with workspaces of its own (one per worker). */');
  line('export function createShardEvaluator(): ShardEvaluator {');
  line('  let state: State | null = createState();');
  line('  const live = (): State => {');
  line('    if (state === null) throw new Error(`hessgen ${model.name}: this shard evaluator was disposed`);');
  line('    return state;');
  line('  };');
  line('  return {');
  /** A method: bind with the range, clear the output (when it has one), run the entry point. */
  const method = (head: string, ret: string, entry: Entry, output: { name: string; length: number; what: string } | null, result: string): void => {
    line(`    ${head}: ${ret} {`);
    line('      const s = live();');
    line('      try {');
    line('        bind(s, theta, data, range);');
    const inMemory = output?.name === 'hessian' ? o.hessianInMemory : null;
    if (output && inMemory) {
      line(`        const h = output(s, out, ${output.length}, '${output.what}');`);
      inMemory.before('').forEach((x) => line(x));
    } else if (output) {
      line(`        const r = output(s, out, ${output.length}, '${output.what}');`);
      line(`        s.${output.name} = r;`);
      if (output.name === 'hessian') o.clearHessian(entry, 'r', '        ').forEach((x) => line(x));
      else line('        r.fill(0);');
    }
    o.call(entry).forEach((x) => line(x));
    if (inMemory) line(inMemory.after);
    line(`        return ${inMemory ? 'h' : result};`);
    line('      } finally {');
    line('        release(s);');
    line('      }');
    line('    },');
  };
  method(`value(theta: ArrayLike<number>, ${dataParam}, range: ShardRange)`, 'number', 'value', null, 's.value[0]!');
  method(`gradient(theta: ArrayLike<number>, ${dataParam}, range: ShardRange, out?: Float64Array)`, 'Float64Array', 'gradient', { name: 'gradient', length: n, what: 'gradient' }, 'r');
  method(`hessian(theta: ArrayLike<number>, ${dataParam}, range: ShardRange, out?: Float64Array)`, 'Float64Array', 'hessian', { name: 'hessian', length: n * n, what: 'hessian' }, 'r');
  // evaluate: new arrays, as the evaluator's.
  line(`    evaluate(theta: ArrayLike<number>, ${dataParam}, range: ShardRange): { value: number; gradient: Float64Array; hessian: Float64Array } {`);
  line('      const s = live();');
  line('      try {');
  line('        bind(s, theta, data, range);');
  line(`        const g = new Float64Array(${n});`);
  line(`        const h = new Float64Array(${n * n});`);
  line('        s.gradient = g;');
  if (o.hessianInMemory !== null) o.hessianInMemory.before('hm !== h').forEach((x) => line(x));
  else line('        s.hessian = h;');
  o.call('evaluate').forEach((x) => line(x));
  if (o.hessianInMemory !== null) line(o.hessianInMemory.after);
  line('        return { value: s.value[0]!, gradient: g, hessian: h };');
  line('      } finally {');
  line('        release(s);');
  line('      }');
  line('    },');
  if (o.hasDiag) {
    method(`hessianDiagonal(theta: ArrayLike<number>, ${dataParam}, range: ShardRange, out?: Float64Array)`, 'Float64Array', 'hessianDiagonal', { name: 'hessianDiagonal', length: n, what: 'hessianDiagonal' }, 'r');
  }
  if (o.hasHvp) {
    line(`    hvp(theta: ArrayLike<number>, ${dataParam}, v: ArrayLike<number>, range: ShardRange, out?: Float64Array): Float64Array {`);
    line('      const s = live();');
    line('      try {');
    line('        bind(s, theta, data, range);');
    line(`        if (v == null || typeof v.length !== 'number') throw new RangeError('v: expected an array of length ${n}');`);
    line(`        if (v.length !== ${n}) throw new RangeError(\`v has length \${v.length}, expected ${n}\`);`);
    line('        s.v = v;');
    line(`        const r = output(s, out, ${n}, 'hvp');`);
    line('        s.hvp = r;');
    line('        r.fill(0);');
    o.call('hvp').forEach((x) => line(x));
    line('        return r;');
    line('      } finally {');
    line('        release(s);');
    line('      }');
    line('    },');
  }
  line('    dispose(): void {');
  line('      state = null;');
  line('    },');
  line('  };');
  line('}');
}
