// Which units share a dispatch (compiler/6-emit/wgsl-schedule.ts). Races inside a dispatch do not
// show on a CPU adapter, so the rules are checked here directly: a unit runs after every earlier
// unit it conflicts with, and units of one dispatch are pairwise independent.
import { describe, expect, it } from 'vitest';
import { scheduleWaves, type Access, type Planned } from '../../compiler/6-emit/wgsl-schedule.ts';

type U = { reads?: string[]; writes?: string[]; block?: string; tiled?: boolean; hessian?: boolean; statements?: number };
function plan(steps: ({ clear: string } | ({ unit: string } & U))[]): Planned[] {
  const byName = new Map<string, Access>();
  for (const s of steps) {
    if (!('unit' in s)) continue;
    byName.set(s.unit, {
      reads: new Set(s.reads ?? []),
      writes: new Set(s.writes ?? []),
      blocks: new Map((s.writes ?? []).map((b) => [b, s.block ?? ''])),
      tiled: s.tiled ?? false,
      hessian: s.hessian ?? (s.writes ?? []).includes('hessian'),
      statements: s.statements ?? 10,
    });
  }
  return scheduleWaves(steps.map((s) => ('unit' in s ? { unit: s.unit } : s)), (u) => byName.get(u)!);
}
const show = (p: Planned[]) => p.map((x) => ('clear' in x ? `clear ${x.clear}` : x.units.join('+')));

describe('dispatch scheduling', () => {
  it('merges independent units and orders dependent ones', () => {
    const p = plan([
      { unit: 'a', writes: ['t1'] },
      { unit: 'b', writes: ['t2'] },
      { unit: 'c', reads: ['t1', 't2'], writes: ['t3'] },
      { unit: 'd', reads: ['t1'], writes: ['t4'] },
    ]);
    expect(show(p)).toEqual(['a+b', 'c+d']);
  });

  it('keeps a reader before a later writer of the same buffer (write after read)', () => {
    expect(show(plan([{ unit: 'a', reads: ['t1'], writes: ['t2'] }, { unit: 'b', writes: ['t1'] }]))).toEqual(['a', 'b']);
  });

  it('keeps two writers of one temp (two nests of one kernel) apart and in order', () => {
    expect(show(plan([{ unit: 'k_0', writes: ['t1'] }, { unit: 'k_1', writes: ['t1'] }]))).toEqual(['k_0', 'k_1']);
  });

  it('lets different Hessian blocks share a dispatch, but not two nests of one block', () => {
    const p = plan([
      { unit: 'hess_A_A_0', writes: ['hessian'], block: '0,0' },
      { unit: 'hess_A_A_1', writes: ['hessian'], block: '0,0' },
      { unit: 'hess_A_B', writes: ['hessian'], block: '0,1' },
      { unit: 'hess_A_B_once', writes: ['hessian'], block: '0,1' },
    ]);
    expect(show(p)).toEqual(['hess_A_A_0+hess_A_B', 'hess_A_A_1+hess_A_B_once']);
  });

  it('orders units by the blocks they write, not by their names', () => {
    // Kernels of parameters a and a_once: the second part of grad_a (named like a_once's block)
    // and a_once's own block are different blocks; the two parts of grad_a are one.
    const p = plan([
      { unit: 'grad_a', writes: ['gradient'], block: '0' },
      { unit: 'grad_a_once', writes: ['gradient'], block: '1' },
      { unit: 'grad_a_once_2', writes: ['gradient'], block: '0' },
    ]);
    expect(show(p)).toEqual(['grad_a+grad_a_once', 'grad_a_once_2']);
  });

  it('puts clears before the units of their wave and after earlier users of the buffer', () => {
    const p = plan([{ unit: 'a', reads: ['t1'], writes: ['t2'] }, { clear: 't1' }, { unit: 'b', writes: ['t1'] }, { unit: 'c', writes: ['t3'] }]);
    expect(show(p)).toEqual(['a+c', 'clear t1', 'b']);
  });

  it('gives tiled units their own dispatch and keeps Hessian writers apart from the rest', () => {
    const p = plan([
      { unit: 'k1', writes: ['t1'], tiled: true },
      { unit: 'k2', writes: ['t2'] },
      { unit: 'h1', writes: ['hessian'], block: '0,0' },
      { unit: 'k3', writes: ['t3'] },
    ]);
    expect(show(p)).toEqual(['k1', 'k2+k3', 'h1']);
  });

  it('splits large groups so that shaders stay small', () => {
    const many = Array.from({ length: 40 }, (_, k) => ({ unit: `u${k}`, writes: [`t${k}`], statements: 100 }));
    const p = plan(many);
    expect(p.length).toBeGreaterThan(1);
    for (const x of p) if ('units' in x) expect(x.units.length * 100).toBeLessThanOrEqual(2000);
    expect(p.flatMap((x) => ('units' in x ? x.units : []))).toEqual(many.map((m) => m.unit));
  });
});
