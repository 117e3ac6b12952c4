// The CPU's fuse-sums pass (compiler/5-lower/cpu/fuse-sums.ts): it runs exactly when the target
// record asks for it; on the 3-5-1 MLP it makes the five curvature kernels one, with a loop over
// the 5 hidden units around one pass over the batch (14 sums), in every entry point that ran
// them, and the Gram product's stacked sides one pass per unit, inside that pass (the entry points'
// kernels reordered around it); it leaves kernels alone that share no loop length or would need
// too many sums; and no
// output changes (value, gradient, Hessian, sparse Hessian, shards), over one chunk of the batch
// and several.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { CPU_TARGET, lowerModel, WGSL_TARGET } from '../../compiler/index.ts';
import { FUSE_MAX_SUMS } from '../../compiler/5-lower/cpu/fuse-sums.ts';
import type { Program, Stmt } from '../../compiler/5-lower/loops.ts';
import { emitTypeScript } from '../../compiler/6-emit/typescript.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { loadTs } from '../helpers/load.ts';
import { expectSameMlpOutputs } from '../helpers/same-outputs.ts';

vi.setConfig({ testTimeout: 60_000 });

const MLP = readFileSync(join(repoRoot, 'bench/models/mlp_3_5_1.hess'), 'utf8');

function program(source: string, fuseSums: boolean): Program {
  const { model, diagnostics } = parseModel(source, 'model.hess');
  expect(diagnostics).toEqual([]);
  return lowerModel(model!, { target: { ...CPU_TARGET, fuseSums }, outputs: ['value', 'gradient', 'hessian', 'hessianSparse'] });
}
const fusedKernels = (p: Program) => p.kernels.filter((k) => k.name.endsWith('_fused'));

describe('fuse-sums (CPU)', () => {
  it('runs exactly when the target record asks for it (CPU yes, WGSL no)', () => {
    expect(CPU_TARGET.fuseSums).toBe(true);
    expect(WGSL_TARGET.fuseSums).toBe(false);
    expect(fusedKernels(program(MLP, true))).toHaveLength(1);
    expect(fusedKernels(program(MLP, false))).toHaveLength(0);
  });

  it('makes the 3-5-1 MLP\'s five curvature kernels one: a loop of 5 around one pass over the batch', () => {
    const plain = program(MLP, false);
    const p = program(MLP, true);
    const [k] = fusedKernels(p);
    expect(k!.writes.filter((w) => w.buf === 'hessian').map((w) => w.block).sort()).toEqual(['0,0', '0,1', '0,2', '1,1', '1,2']);
    expect(p.kernels).toHaveLength(plain.kernels.length - 4);
    p.kernels.forEach((x, i) => expect(x.id).toBe(i));
    const block = k!.body[0] as Extract<Stmt, { k: 'block' }>;
    const loop = block.body[block.body.length - 1] as Extract<Stmt, { k: 'for' }>;
    expect(loop.k).toBe('for');
    expect(loop.to).toEqual({ k: 'num', v: 5 });
    const sums = loop.body.filter((st) => st.k === 'reduceN') as Extract<Stmt, { k: 'reduceN' }>[];
    expect(sums).toHaveLength(1);
    // W1–W1: 6 of the 3 × 3 (a triangle), W1–b1 3, W1–w2 3, b1–b1 1, b1–w2 1.
    expect(sums[0]!.names).toHaveLength(14);
    expect(sums[0]!.names.length).toBeLessThanOrEqual(FUSE_MAX_SUMS);
    // Every entry point that ran the five runs the fused kernel in their place, once.
    for (const [e, s] of Object.entries(p.entries)) {
      const ids = [...s.pre, ...s.stream, ...s.post];
      const before = plain.entries[e as keyof Program['entries']];
      const had = [...before.pre, ...before.stream, ...before.post].filter((id) => /^hess_(W1|b1)_/.test(plain.kernels[id]!.name)).length;
      expect(ids.filter((id) => id === k!.id)).toHaveLength(had > 0 ? 1 : 0);
      expect(ids.length).toBe([...before.pre, ...before.stream, ...before.post].length - (had > 0 ? had - 1 : 0));
    }
  });

  it('makes the stacked sides of the Gram product one pass per hidden unit, in the curvature sums\' loop (the b2 row apart)', () => {
    const plain = program(MLP, false);
    const p = program(MLP, true);
    const side = (q: Program) => q.kernels.find((k) => k.name === 'gram_sides')!;
    expect(side(plain).body).toHaveLength(4);
    // Left in the sides' kernel: the b2 row (ones).
    expect(side(p).body).toHaveLength(1);
    const [k] = fusedKernels(p);
    const U = side(p).writes[0]!.buf;
    expect(k!.writes.map((w) => w.buf).sort()).toEqual([...Array(5).fill('hessian'), U]);
    const block = k!.body[0] as Extract<Stmt, { k: 'block' }>;
    const loop = block.body[block.body.length - 1] as Extract<Stmt, { k: 'for' }>;
    expect(loop.to).toEqual({ k: 'num', v: 5 });
    const sums = loop.body.find((st) => st.k === 'reduceN') as Extract<Stmt, { k: 'reduceN' }>;
    // W1's three rows, b1's and w2's: five stores per sample, after all the lets.
    const stores = sums.body!.filter((st) => st.k === 'store');
    expect(stores).toHaveLength(5);
    expect(sums.body!.slice(-5)).toEqual(stores);
    expect(stores.every((st) => st.k === 'store' && st.buf === U && !st.accumulate)).toBe(true);
    // The per-sample factors the sums load too are their very loads (loaded once): tanh′ and the three inputs.
    const loads = (x: unknown, out: unknown[] = []): unknown[] => {
      if (x !== null && typeof x === 'object') {
        if ((x as { k?: string }).k === 'load') out.push(x);
        Object.values(x).forEach((v) => loads(v, out));
      }
      return out;
    };
    const sumLoads = new Set(loads(sums.values).map((l) => JSON.stringify(l)));
    const shared = new Set(loads(sums.body).map((l) => JSON.stringify(l)).filter((l) => sumLoads.has(l)));
    expect(shared.size).toBe(4);
    expect([...shared].filter((l) => JSON.parse(l).buf === 'd_X')).toHaveLength(3);
    // The Gram product reads them: it runs after the merged kernel; the errors, which the sums read, before it.
    const order = (q: Program, e: 'hessian' | 'evaluate') => q.entries[e].stream.map((id) => q.kernels[id]!.name);
    expect(order(plain, 'hessian').slice(0, 5)).toEqual(['k6', 'map6', 'gram_sides', 'hess_gram', 'k9']);
    expect(order(p, 'hessian')).toEqual(['k6', 'map6', 'gram_sides', 'k9', 'hess_W1_W1_fused', 'hess_gram']);
    const ev = order(p, 'evaluate');
    expect(ev.indexOf('hess_W1_W1_fused')).toBe(ev.indexOf('hess_gram') - 1);
  });

  it('leaves alone kernels with too many sums per value of the shared loop, and a wider model\'s products', () => {
    // 12 inputs: W1–W1 alone has 78 sums per hidden unit; the others still fuse (up to the limit).
    const wide = MLP.replace('X[N, 3]', 'X[N, 12]').replace('W1[3, 5]', 'W1[12, 5]');
    const fused = fusedKernels(program(wide, true));
    expect(fused.flatMap((k) => k.writes.map((w) => w.block))).not.toContain('0,0');
    for (const k of fused) {
      const sums = JSON.stringify(k.body).match(/"k":"reduceN","names":\[[^\]]*\]/)![0].split(',').length - 1;
      expect(sums).toBeLessThanOrEqual(FUSE_MAX_SUMS);
    }
    // A layer of 16 units: its blocks are products, not short nests.
    const large = MLP.replace('W1[3, 5]', 'W1[3, 16]').replace('b1[5]', 'b1[16]').replace('w2[5]', 'w2[16]');
    expect(fusedKernels(program(large, true))).toHaveLength(0);
  });

  it('changes no output: value, gradient, Hessian, sparse Hessian and shards equal those without it', async () => {
    const [a, b] = await Promise.all([
      loadTs(emitTypeScript(program(MLP, true), { sourcePath: 'mlp_3_5_1.hess' }), 'fused.ts'),
      loadTs(emitTypeScript(program(MLP, false), { sourcePath: 'mlp_3_5_1.hess' }), 'plain.ts'),
    ]);
    for (const r of expectSameMlpOutputs(a, b, 'fuse')) {
      // The curvature is there: the fused kernel's entries are not zero (W1–W1 at (0, 0)).
      expect(Math.abs(r.hessian[0]!)).toBeGreaterThan(0);
    }
  });
});
