// The CPU's fold-adds pass (compiler/5-lower/cpu/fold-adds.ts): it runs exactly when the target
// record asks for it; on the 3-5-1 MLP the layer's bias and the errors' b2 and targets go into the
// stores of the sums before them (one block each instead of two, `U[i] = acc + v`), which the
// unrolled loops then carry; a product that the dense kernels take keeps its form; and no output changes (value,
// gradient, Hessian, sparse Hessian, shards), over one chunk of the batch and several.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { CPU_TARGET, lowerModel, WGSL_TARGET } from '../../compiler/index.ts';
import { denseBlocks } from '../../compiler/5-lower/cpu/dense-blocks.ts';
import { foldAdds } from '../../compiler/5-lower/cpu/fold-adds.ts';
import type { Expr, Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs } from '../helpers/load.ts';
import { expectSameMlpOutputs } from '../helpers/same-outputs.ts';

vi.setConfig({ testTimeout: 60_000 });

const MLP = readFileSync(join(repoRoot, 'bench/models/mlp_3_5_1.hess'), 'utf8');

function program(source: string, foldAdds: boolean, unroll4 = true): Program {
  const { model, diagnostics } = parseModel(source, 'model.hess');
  expect(diagnostics).toEqual([]);
  return lowerModel(model!, { target: { ...CPU_TARGET, foldAdds, unroll4 }, outputs: ['value', 'gradient', 'hessian', 'hessianSparse'] });
}
const kernel = (p: Program, name: string) => p.kernels.find((k) => k.name === name)!;
/** Every store of a kernel, in order (through loops, blocks and unrolled steps). */
function stores(sts: readonly Stmt[]): Extract<Stmt, { k: 'store' }>[] {
  return sts.flatMap((st) => (st.k === 'store' ? [st] : st.k === 'for' || st.k === 'block' ? stores(st.body) : st.k === 'forStep' ? stores([...st.body, ...st.rest]) : []));
}

describe('fold-adds (CPU)', () => {
  it('runs exactly when the target record asks for it (CPU yes, WGSL no)', () => {
    expect(CPU_TARGET.foldAdds).toBe(true);
    expect(WGSL_TARGET.foldAdds).toBe(false);
    expect(kernel(program(MLP, true), 'k6').body).toHaveLength(1);
    expect(kernel(program(MLP, false), 'k6').body).toHaveLength(2);
  });

  it('puts the layer\'s bias and the errors\' b2 and targets into the stores of the sums before them', () => {
    const plain = program(MLP, false, false);
    const p = program(MLP, true, false);
    for (const name of ['k6', 'k9']) {
      // Before: an assignment of the sum, then an addition at the same place; after: one assignment.
      expect(stores(kernel(plain, name).body).map((s) => s.accumulate)).toEqual([false, true]);
      const [store] = stores(kernel(p, name).body);
      expect(stores(kernel(p, name).body)).toHaveLength(1);
      expect(store!.accumulate).toBe(false);
      expect(store!.value.k).toBe('bin');
      // acc + v: the sum's accumulator first.
      expect(store!.value.k === 'bin' && store!.value.op === '+' && store!.value.a.k === 'local' && store!.value.a.name.startsWith('acc')).toBe(true);
    }
    // b2 + (−y): kept whole in a let, added to the sum at once.
    const k9 = kernel(p, 'k9');
    expect(JSON.stringify(k9.body)).toMatch(/"k":"let","name":"acc\d+_add"/);
    // The unrolled loops carry the folded stores: four per step.
    expect(stores(kernel(program(MLP, true), 'k9').body).filter((s) => !s.accumulate).length).toBeGreaterThanOrEqual(4);
  });

  it('leaves a product that the dense kernels will take as it is, and folds the same nest when they will not', () => {
    // T[r, c] = Σ_k A[r, k]·B[c, k] (16 × 16, depth 32), then T[r, c] += bias[c]: with A and B
    // workspaces the first block is a dense product (cpu/dense-blocks.ts), else plain loops.
    const n = (v: number): Expr => ({ k: 'num', v });
    const i = (name: string): Expr => ({ k: 'int', name });
    const bin = (op: '+' | '*', a: Expr, b: Expr): Expr => ({ k: 'bin', op, a, b });
    const load = (buf: string, index: Expr): Expr => ({ k: 'load', buf, index });
    const loops = (inner: Stmt[]): Stmt => ({ k: 'for', kind: 'parallel', v: 'r', from: n(0), to: n(16), body: [{ k: 'for', kind: 'parallel', v: 'c', from: n(0), to: n(16), body: inner }] });
    const at = bin('+', bin('*', i('r'), n(16)), i('c'));
    const product: Stmt = {
      k: 'block',
      body: [loops([
        { k: 'reduce', name: 'acc', v: 'k', from: n(0), to: n(32), value: bin('*', load('A', bin('+', bin('*', i('r'), n(32)), i('k'))), load('B', bin('+', bin('*', i('c'), n(32)), i('k')))) },
        { k: 'store', buf: 'T', index: at, value: { k: 'local', name: 'acc' }, accumulate: false },
      ])],
    };
    const bias: Stmt = { k: 'block', body: [loops([{ k: 'let', name: 'v', int: false, value: load('bias', i('c')) }, { k: 'store', buf: 'T', index: at, value: { k: 'local', name: 'v' }, accumulate: true }])] };
    const base = program(MLP, false);
    const made = (temps: string[]): Program => ({
      ...base,
      buffers: [...base.buffers, ...temps.map((name) => ({ name, kind: 'temp' as const, shape: [16, 32] }))],
      kernels: [{ id: 0, name: 'layer', comment: 'a layer', writes: [{ buf: 'T', block: '' }], body: [product, bias] }],
    });
    expect(foldAdds(made(['A', 'B', 'T'])).kernels[0]!.body).toHaveLength(2);
    expect(JSON.stringify(denseBlocks(made(['A', 'B', 'T'])).kernels[0]!.body[0])).toContain('"k":"denseBlock"');
    const folded = foldAdds(made(['T'])).kernels[0]!.body;
    expect(folded).toHaveLength(1);
    expect(stores(folded)).toHaveLength(1);
  });

  it('changes no output: value, gradient, Hessian, sparse Hessian and shards equal those without it', async () => {
    const [a, b] = await Promise.all([
      loadTs(emitTypeScript(program(MLP, true), { sourcePath: 'mlp_3_5_1.hess' }), 'folded.ts'),
      loadTs(emitTypeScript(program(MLP, false), { sourcePath: 'mlp_3_5_1.hess' }), 'plain.ts'),
    ]);
    expectSameMlpOutputs(a, b, 'fold');
  });
});
