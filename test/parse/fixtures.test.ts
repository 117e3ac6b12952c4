import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { fixturesDir } from '../helpers/fixtures.ts';
import { evaluate } from './helpers.ts';

const DIR = fixturesDir;
const names = readdirSync(DIR).filter((f) => f.endsWith('.hess')).map((f) => f.replace(/\.hess$/, ''));

interface Fixture {
  n: number;
  params: { name: string; shape: number[] }[];
  theta: number[];
  data: Record<string, number | number[]>;
  value: number;
}

describe('fixtures', () => {
  it('are all there', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it('are the verbatim reference copies: SHA-256 sums as listed in test/fixtures/README.md', () => {
    // The numbers are only a reference while nobody edits them to match the compiler.
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    const listed = new Map([...readme.matchAll(/^([0-9a-f]{64})  (\S+)$/gm)].map((m) => [m[2]!, m[1]!]));
    const files = readdirSync(DIR).filter((f) => /\.(hess|json)$/.test(f)).sort();
    expect([...listed.keys()].sort()).toEqual(files);
    for (const f of files) {
      expect(createHash('sha256').update(readFileSync(join(DIR, f))).digest('hex'), f).toBe(listed.get(f));
    }
  });

  for (const name of names) {
    it(`${name} parses with the fixture's params and the fixture's value`, () => {
      const source = readFileSync(join(DIR, `${name}.hess`), 'utf8');
      const fx = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Fixture;
      const { model, diagnostics } = parseModel(source, `fixtures/${name}.hess`);
      expect(diagnostics).toEqual([]);
      expect(model).not.toBeNull();
      expect(model!.name).toBe(name);
      expect(model!.params.map((p) => ({ name: p.name, shape: [...p.shape] }))).toEqual(fx.params);
      expect(model!.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0)).toBe(fx.n);
      expect(model!.data.map((d) => d.name).sort()).toEqual(Object.keys(fx.data).sort());
      expect(model!.objective.shape).toEqual([]);
      const v = evaluate(model!, fx.theta, fx.data);
      expect(v.data[0]).toBeCloseTo(fx.value, 10);
    });
  }

  it('mlp_tanh has the expected data shapes and symbolic dims', () => {
    const { model } = parseModel(readFileSync(join(DIR, 'mlp_tanh.hess'), 'utf8'), 'mlp_tanh.hess');
    expect(model!.symbolicDims).toEqual(['N']);
    expect(model!.data).toEqual([
      { name: 'X', shape: ['N', 3] },
      { name: 'y', shape: ['N'] },
    ]);
    expect(model!.params).toEqual([
      { name: 'W1', shape: [3, 8] },
      { name: 'b1', shape: [8] },
      { name: 'w2', shape: [8] },
      { name: 'b2', shape: [] },
    ]);
  });

  it('mean divides by the run-time size N', () => {
    const { model } = parseModel(readFileSync(join(DIR, 'logreg.hess'), 'utf8'), 'logreg.hess');
    const obj = model!.objective;
    expect(obj.kind).toBe('binary');
    if (obj.kind !== 'binary') return;
    expect(obj.op).toBe('div');
    expect(obj.a.kind).toBe('sum');
    expect(obj.b).toMatchObject({ kind: 'dim', name: 'N' });
  });

  it('rosenbrock_ext slices x with 0-based half-open ranges', () => {
    const { model } = parseModel(readFileSync(join(DIR, 'rosenbrock_ext.hess'), 'utf8'), 'rosenbrock_ext.hess');
    const slices: unknown[] = [];
    const seen = new Set<number>();
    const walk = (n: typeof model extends null ? never : NonNullable<typeof model>['objective']): void => {
      if (seen.has(n.id)) return;
      seen.add(n.id);
      if (n.kind === 'slice') slices.push(n.index);
      for (const k of ['a', 'b', 'arg'] as const) {
        const c = (n as unknown as Record<string, unknown>)[k];
        if (c && typeof c === 'object' && 'kind' in c) walk(c as typeof n);
      }
    };
    walk(model!.objective);
    expect(slices).toContainEqual([{ start: 1, stop: 10 }]);
    expect(slices).toContainEqual([{ start: 0, stop: 9 }]);
    expect(slices).toHaveLength(2); // x[1:9] written twice is one node
  });
});
