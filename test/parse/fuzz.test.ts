// Never throw: any input string gives a model or located diagnostics.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../compiler/1-parse/diagnostics.ts';
import { parseModel } from '../../compiler/1-parse/index.ts';
import { fixturesDir } from '../helpers/fixtures.ts';

const DIR = fixturesDir;
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.hess'))
  .map((f) => readFileSync(join(DIR, f), 'utf8'));

/** mulberry32: a small seeded generator, so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function check(source: string): void {
  let result: ReturnType<typeof parseModel>;
  try {
    result = parseModel(source, 'fuzz.hess');
  } catch (err) {
    throw new Error(`parseModel threw on ${JSON.stringify(source)}: ${String(err)}`);
  }
  const { model, diagnostics } = result;
  const lines = source.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (model === null) expect(diagnostics.length, JSON.stringify(source)).toBeGreaterThan(0);
  else expect(diagnostics).toEqual([]);
  for (const d of diagnostics) {
    const where = `${JSON.stringify(source)}\n${formatDiagnostic(d)}`;
    expect(d.file).toBe('fuzz.hess');
    expect(d.line, where).toBeGreaterThanOrEqual(1);
    expect(d.line, where).toBeLessThanOrEqual(lines.length);
    expect(d.sourceLine, where).toBe(lines[d.line - 1]);
    expect(d.column, where).toBeGreaterThanOrEqual(1);
    expect(d.column, where).toBeLessThanOrEqual(d.sourceLine.length + 1);
    expect(d.length, where).toBeGreaterThanOrEqual(1);
    expect(d.message.length, where).toBeGreaterThan(0);
    expect(d.message, where).not.toContain('internal compiler error');
    expect(d.message, where).not.toContain('undefined');
  }
}

const pick = <T,>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

describe('never throws', () => {
  it('on random characters', () => {
    const r = rng(1);
    const alphabet = 'abcxyzNW01239 .,:;()[]{}+-*/^\'"=#!%&|<>?@$\\\t\n\r_eé∑\u0000\u00A0\uD835\uDC00';
    for (let n = 0; n < 1500; n++) {
      const len = Math.floor(r() * 60);
      let s = '';
      for (let k = 0; k < len; k++) s += pick(r, [...alphabet]);
      check(s);
    }
  });

  it('on random token soup', () => {
    const r = rng(2);
    const tokens = [
      'dim', 'data', 'param', 'const', 'minimize', 'N', 'H', 'x', 'W', 'f', 'g', 'sum', 'mean', 'exp', 'dot', 'logsumexp',
      'transpose', 'end', 'pi', 'e', 'mod', 'in', 'true', 'Infinity', '1', '2', '0', '2.5', '.5', '1e-3', '1e400', '=', '+', '-',
      '*', '/', '^', '.*', './', '.^', "'", '(', ')', '[', ']', ',', ':', ';', '#', '\n', '\n', '\n', ' ', '%', '<', '?',
      '!', '"', '{', '}',
    ];
    for (let n = 0; n < 3000; n++) {
      const len = 1 + Math.floor(r() * 30);
      const parts: string[] = [];
      for (let k = 0; k < len; k++) parts.push(pick(r, tokens));
      check(parts.join(r() < 0.5 ? ' ' : ''));
    }
  });

  it('on every prefix of every fixture', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12); // test/fixtures is found and complete
    for (const src of fixtures) {
      for (let k = 0; k <= src.length; k++) check(src.slice(0, k));
    }
  });

  it('on randomly mutated fixtures', () => {
    const r = rng(3);
    const inserts = ['(', ')', '[', ']', ',', '+', '^', "'", ':', 'end', 'x', '#', '\n', '=', ' 2', '.', '*'];
    for (let n = 0; n < 2000; n++) {
      let s = pick(r, fixtures);
      const edits = 1 + Math.floor(r() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(r() * (s.length + 1));
        const op = r();
        if (op < 0.4) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 3));
        else if (op < 0.8) s = s.slice(0, at) + pick(r, inserts) + s.slice(at);
        else s = s.slice(0, at) + s.slice(at + 1, at + 2) + s.slice(at, at + 1) + s.slice(at + 2);
      }
      check(s);
    }
  });

  it('on deep nesting and long inputs', () => {
    check(`param x\nminimize ${'('.repeat(5000)}x${')'.repeat(5000)}`);
    check(`param x\nminimize ${'-'.repeat(5000)}x`);
    check(`param x\nminimize ${'exp('.repeat(3000)}x${')'.repeat(3000)}`);
    check(`param x\nminimize x${"'".repeat(5000)}`);
    check(`param x\nminimize ${Array.from({ length: 5000 }, () => 'x').join(' + ')}`);
    check('('.repeat(10000));
    check(`${'f0(a) = a\n'}${Array.from({ length: 30 }, (_, k) => `f${k + 1}(a) = f${k}(a) + f${k}(a)`).join('\n')}\nparam x\nminimize f30(x)`);
  });

  it('on odd inputs', () => {
    for (const s of ['', '\n\n\n', '#', '\uFEFF', '\r', 'minimize', 'param', 'dim N =', 'x =', '= =', "'", '"', 'param constructor\nminimize constructor', 'param __proto__\nminimize __proto__', 'toString = 1\nminimize toString']) {
      check(s);
    }
  });
});
