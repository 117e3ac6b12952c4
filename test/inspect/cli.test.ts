// `hessgen inspect` on the command line: output forms, files, exit codes (0 ok, 1 compile
// errors or an unwritable file, 2 usage errors) and messages. In-process through run(), plus
// one run of the real bin.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../compiler/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'hessgen-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'lin.hess'), 'dim N\ndata X[N, 2]\ndata y[N]\nparam w[2]\nparam b\nminimize mean((X * w + b - y) .^ 2)\n');
writeFileSync(join(dir, 'broken.hess'), 'param x[3]\nminimize sum(x) + yy\n');
mkdirSync(join(dir, 'two'));
writeFileSync(join(dir, 'two', 'a.hess'), 'param x\nminimize x ^ 2\n');
writeFileSync(join(dir, 'two', 'b.hess'), 'param x\nminimize x ^ 4\n');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { cwd: dir, env: {}, stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('hessgen inspect', () => {
  it('prints the text report (exit 0)', async () => {
    const r = await cli('inspect', 'lin.hess');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('lin.hess: n = 3 parameters');
    expect(r.out).toContain('H[w,b][i] = 2/N·Σ_n X[n,i]');
    expect(r.out).toContain('Cost at run-time dims: N = 1,000 (default)');
  });

  it('--json prints one JSON object; --dims sets the cost model dims', async () => {
    const r = await cli('inspect', 'lin.hess', '--json', '--dims', 'N=20');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { params: unknown[]; blocks: { row: string; col: string; kind: string }[]; cost: { dims: unknown[] } };
    expect(j.params).toEqual([{ name: 'w', shape: [2], offset: 0, size: 2 }, { name: 'b', shape: [], offset: 2, size: 1 }]);
    expect(j.blocks.map((b) => `${b.row},${b.col}:${b.kind}`)).toEqual(['w,w:dense', 'w,b:dense', 'b,b:dense']);
    expect(j.cost.dims).toEqual([{ name: 'N', value: 20, given: true }]);
    expect((await cli('inspect', 'lin.hess', '--json', '--dims=N=20')).out).toBe(r.out);
  });

  it('--svg writes the spy plot', async () => {
    const r = await cli('inspect', 'lin.hess', '--svg', 'out/../lin.svg');
    expect(r.code).toBe(0);
    expect(r.out).toContain('spy plot: lin.svg');
    expect(readFileSync(join(dir, 'lin.svg'), 'utf8')).toMatch(/^<\?xml[^\n]*\n<svg /);
  });

  it('compile errors: printed located, exit 1', async () => {
    const r = await cli('inspect', 'broken.hess');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('broken.hess:2:19: error: unknown name `yy`');
    expect(r.err).toContain('hessgen: broken.hess has 1 error');
  });

  it('a file that cannot be written: exit 1', async () => {
    const r = await cli('inspect', 'lin.hess', '--svg', 'no/such/folder/x.svg');
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot write no/such/folder/x.svg');
  });

  it.each([
    [[], 'no model given'],
    [['lin.hess', 'broken.hess'], 'inspect takes one model, got 2'],
    [['missing.hess'], 'no such file or folder: missing.hess'],
    [['two'], 'two is a folder with 2 models'],
    [['lin.hess', '--jsn'], "unknown option '--jsn' for inspect (did you mean '--json'?)"],
    [['lin.hess', '--svg'], '--svg needs a value'],
    [['lin.hess', '--dims', 'N'], "--dims: 'N' is not NAME=SIZE"],
    [['lin.hess', '--dims', 'N=0'], 'the size of N must be a whole number ≥ 1'],
    [['lin.hess', '--dims', 'N=2.5'], 'the size of N must be a whole number ≥ 1'],
    [['lin.hess', '--dims', 'N=3,N=4'], 'N is given more than once'],
    [['lin.hess', '--dims', 'M=3'], 'lin.hess has no run-time dimension M (its run-time dimensions are N)'],
    [['lin.hess', '--json=yes'], '--json takes no value'],
  ])('usage error %j: exit 2 with a message and the usage', async (args, message) => {
    const r = await cli('inspect', ...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`hessgen: error: `);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage: hessgen inspect <model.hess> [--json] [--svg <file>] [--dims N=1000,M=3]');
  });

  it('--help prints the inspect help (exit 0); the main help mentions inspect', async () => {
    const r = await cli('inspect', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('hessgen inspect: the structure and cost');
    expect((await cli('--help')).out).toContain('hessgen inspect <model.hess>');
    const typo = await cli('inspec', 'lin.hess');
    expect(typo.code).toBe(2);
    expect(typo.err).toContain("did you mean 'inspect'?");
  });

  it('the real bin: same output, exit statuses', () => {
    const bin = join(repoRoot, 'bin', 'hessgen.mjs');
    const ok = spawnSync(process.execPath, [bin, 'inspect', 'lin.hess', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ model: 'lin', n: 3 });
    const bad = spawnSync(process.execPath, [bin, 'inspect', 'broken.hess'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    const usage = spawnSync(process.execPath, [bin, 'inspect'], { cwd: dir, encoding: 'utf8' });
    expect(usage.status).toBe(2);
  }, 60_000);
});
