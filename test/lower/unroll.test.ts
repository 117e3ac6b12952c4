// The CPU's unrolling pass (compiler/5-lower/cpu/unroll.ts) on the 3-5-1 MLP, whose Hessian blocks
// have each kind of loop it treats: output loops of 5 (the hidden units: unrolled whole, no
// remainder), a triangle over W1's 3 rows inside each unit (its skip keeps the inner loop as it is,
// so the loop of units around it is unrolled), and loops of 3 (too short). The module's outputs
// with the pass equal those without it, the sparse Hessian's stores included.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { CPU_TARGET, lowerModel } from '../../compiler/index.ts';
import type { Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs } from '../helpers/load.ts';
import { makeRng } from '../helpers/rng.ts';
import { expectSameOutputs, mlpPoint } from '../helpers/same-outputs.ts';

vi.setConfig({ testTimeout: 60_000 });

const MLP = readFileSync(join(repoRoot, 'bench/models/mlp_3_5_1.hess'), 'utf8');

function program(unroll4: boolean): Program {
  const { model } = parseModel(MLP, 'mlp_3_5_1.hess');
  // (Without fuse-sums, which would make the five blocks one kernel: test/lower/fuse-sums.test.ts.)
  return lowerModel(model!, { target: { ...CPU_TARGET, unroll4, fuseSums: false }, outputs: ['value', 'gradient', 'hessian', 'hessianSparse'] });
}

type Step = Extract<Stmt, { k: 'forStep' }>;
/** The unrolled loops of the kernel named `name`. */
function steps(p: Program, name: string): Step[] {
  const out: Step[] = [];
  const visit = (sts: readonly Stmt[]) => {
    for (const st of sts) {
      if (st.k === 'forStep') out.push(st);
      if (st.k === 'for' || st.k === 'block') visit(st.body);
      if (st.k === 'forStep') visit(st.body);
    }
  };
  visit(p.kernels.find((k) => k.name === name)!.body);
  return out;
}

describe('unrolling (CPU)', () => {
  const p = program(true);

  it('unrolls a loop of 5 whole: five sums in one pass, the remainder loop never runs', () => {
    const [s] = steps(p, 'hess_W1_b1');
    expect(s).toBeDefined();
    expect(s!.step).toBe(5);
    expect(s!.to).toEqual({ k: 'num', v: 5 });
    const sums = s!.body.filter((st) => st.k === 'reduceN');
    expect(sums).toHaveLength(1);
    expect((sums[0] as Extract<Stmt, { k: 'reduceN' }>).names).toHaveLength(5);
  });

  it('unrolls the loop of units around the triangle over W1 rows, the skip kept once in the inner loop', () => {
    const [s] = steps(p, 'hess_W1_W1');
    expect(s).toBeDefined();
    expect(s!.step).toBe(5);
    const inner = s!.body.find((st) => st.k === 'for') as Extract<Stmt, { k: 'for' }>;
    expect(inner).toBeDefined();
    expect(inner.body.filter((st) => st.k === 'skipIfLess')).toHaveLength(1);
    const sums = inner.body.filter((st) => st.k === 'reduceN') as Extract<Stmt, { k: 'reduceN' }>[];
    expect(sums.map((x) => x.names.length)).toEqual([5]);
    expect(inner.body.filter((st) => st.k === 'storeSym')).toHaveLength(5);
    // Lets that do not depend on the unit are not copied: the sums see their factors as common.
    const lets = inner.body.filter((st) => st.k === 'let');
    expect(new Set(lets.map((st) => (st as { name: string }).name)).size).toBe(lets.length);
    expect(lets.length).toBeLessThan(5);
  });

  it('leaves loops of 3 alone', () => {
    // The layer X·W1 sums over W1's 3 rows; nothing here is a loop of 3 unrolled.
    for (const k of p.kernels) for (const s of steps(p, k.name)) expect(Number((s.to as { v?: number }).v ?? 99) - Number((s.from as { v?: number }).v ?? 0)).not.toBe(3);
  });

  it('changes no output: value, gradient, Hessian and sparse Hessian equal those of the loops as they were', async () => {
    const [a, b] = await Promise.all([
      loadTs(emitTypeScript(p, { sourcePath: 'mlp_3_5_1.hess' }), 'unrolled.ts'),
      loadTs(emitTypeScript(program(false), { sourcePath: 'mlp_3_5_1.hess' }), 'plain.ts'),
    ]);
    const rng = makeRng('unroll');
    for (const N of [1, 7, 13]) {
      const { theta, data } = mlpPoint(rng, N);
      expectSameOutputs(a, b, theta, data);
    }
  });
});
