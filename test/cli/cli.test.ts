// The hessgen command line, run as users run it: `node bin/hessgen.mjs ...` in a child process.
// (All bin runs live in this one file so that they run one after another: the bin re-bundles
// compiler/cli.ts into one cache file on every start.)
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BROKEN, LINEAR, QUADRATIC, bin, cleanTempDirs, listFiles, repoRoot, runCli, tempProject, waitFor } from './helpers.ts';

const SLOW = 60_000; // each run bundles the CLI and compiles: allow for a loaded CI machine

afterAll(cleanTempDirs);

function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+[:(]\d+/);
}

describe('hessgen --help / --version', () => {
  it('prints help on stdout and exits 0', { timeout: SLOW }, async () => {
    for (const args of [['--help'], ['-h'], ['build', '--help']]) {
      const r = await runCli(args, repoRoot);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('hessgen build <model.hess | folder>... --out <folder>');
      expect(r.stdout).toContain('--check');
      expect(r.stdout).toContain('--watch');
      expect(r.stderr).toBe('');
    }
  });

  it('prints the package version', { timeout: SLOW }, async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version'], repoRoot);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('usage errors exit 2 with a message and the usage, and write nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /no command/],
    ['unknown command', ['compile', 'm.hess'], /unknown command 'compile'/],
    ['misspelt command', ['biuld', 'm.hess', '--out', 'gen'], /did you mean 'build'/],
    ['missing --out', ['build', 'm.hess'], /missing --out/],
    ['--out without a value', ['build', 'm.hess', '--out'], /--out needs a folder/],
    ['no inputs', ['build', '--out', 'gen'], /no models given/],
    ['unknown flag', ['build', 'm.hess', '--out', 'gen', '--fast'], /unknown option '--fast'/],
    ['misspelt flag', ['build', 'm.hess', '--otu', 'gen'], /did you mean '--out'/],
    ['unknown target', ['build', 'm.hess', '--out', 'gen', '--target', 'cuda'], /unknown target 'cuda'/],
    ['empty target', ['build', 'm.hess', '--out', 'gen', '--target', 'ts,'], /empty target/],
    ['missing file', ['build', 'missing.hess', '--out', 'gen'], /no such file or folder: missing\.hess/],
    ['not a .hess file', ['build', 'notes.txt', '--out', 'gen'], /notes\.txt is not a model file/],
    ['folder without models', ['build', 'empty', '--out', 'gen'], /folder empty has no \.hess files/],
    ['--check with --watch', ['build', 'm.hess', '--out', 'gen', '--check', '--watch'], /cannot be used together/],
    ['same base name twice', ['build', 'm.hess', 'other/m.hess', '--out', 'gen'], /m\.hess and other\/m\.hess have the same name/],
    ['--out is a file', ['build', 'm.hess', '--out', 'afile'], /--out afile is not a folder/],
    ['flag value on a switch', ['build', 'm.hess', '--out', 'gen', '--check=yes'], /--check takes no value/],
  ];
  for (const [name, args, message] of cases) {
    it(name, { timeout: SLOW }, async () => {
      const dir = tempProject({ 'm.hess': LINEAR, 'other/m.hess': QUADRATIC, 'notes.txt': 'hi', 'empty/README': '', afile: '' });
      const before = listFiles(dir);
      const r = await runCli(args, dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('usage: hessgen build');
      expectNoStack(r.stderr);
      expect(r.stdout).toBe('');
      expect(listFiles(dir)).toEqual(before);
    });
  }

  it('--target wgsl writes model.gpu.ts once the compiler has it, and until then is a usage error', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    const r = await runCli(['build', 'm.hess', '--out', 'gen', '--target', 'ts,wgsl'], dir);
    if (r.code === 0) {
      expect(listFiles(join(dir, 'gen'))).toEqual(['m.gpu.ts', 'm.ts']);
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/WGSL target is not available yet/);
      expect(existsSync(join(dir, 'gen'))).toBe(false);
    }
    expectNoStack(r.stderr);
  });

  it('an unreadable model is a clear error without a stack trace', { timeout: SLOW }, async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip(); // root reads anything
    const dir = tempProject({ 'm.hess': LINEAR });
    chmodSync(join(dir, 'm.hess'), 0o000);
    const r = await runCli(['build', 'm.hess', '--out', 'gen'], dir);
    chmodSync(join(dir, 'm.hess'), 0o644);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot read m\.hess: permission denied/);
    expectNoStack(r.stderr);
    expect(existsSync(join(dir, 'gen'))).toBe(false);
  });
});

describe('hessgen build', () => {
  it('writes <out>/<model>.ts, creating --out, with the header naming the model path', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/linear.hess': LINEAR });
    const r = await runCli(['build', 'models/linear.hess', '--out', 'out/deep/gen'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote out/deep/gen/linear.ts');
    expect(r.stdout).toMatch(/1 model built, 1 file written/);
    const code = readFileSync(join(dir, 'out/deep/gen/linear.ts'), 'utf8');
    expect(code.split('\n')[0]).toBe('// Code generated by hessgen from models/linear.hess. DO NOT EDIT.');
    expect(listFiles(join(dir, 'out'))).toEqual(['deep/gen/linear.ts']); // no temp files left behind
  });

  it('builds every .hess file of a folder (not subfolders, not other files), in name order', { timeout: SLOW }, async () => {
    const dir = tempProject({
      'models/b.hess': QUADRATIC,
      'models/a.hess': LINEAR,
      'models/notes.md': '# not a model',
      'models/sub/c.hess': LINEAR,
    });
    const r = await runCli(['build', 'models', '--out', 'gen'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('wrote'))).toEqual(['wrote gen/a.ts', 'wrote gen/b.ts']);
    expect(listFiles(join(dir, 'gen'))).toEqual(['a.ts', 'b.ts']);
  });

  it('is deterministic: the same inputs give byte-identical files, however the path is spelt', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/a.hess': LINEAR, 'models/b.hess': QUADRATIC });
    expect((await runCli(['build', 'models', '--out', 'gen1'], dir)).code).toBe(0);
    expect((await runCli(['build', './models/a.hess', 'models//b.hess', '--out', 'gen2/'], dir)).code).toBe(0);
    for (const f of ['a.ts', 'b.ts']) {
      expect(readFileSync(join(dir, 'gen2', f))).toEqual(readFileSync(join(dir, 'gen1', f)));
    }
  });

  it('leaves files whose content would not change untouched, and rewrites stale ones', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/a.hess': LINEAR, 'models/b.hess': QUADRATIC });
    expect((await runCli(['build', 'models', '--out', 'gen'], dir)).code).toBe(0);
    const old = new Date('2001-02-03T04:05:06Z');
    utimesSync(join(dir, 'gen/a.ts'), old, old);
    const good = readFileSync(join(dir, 'gen/b.ts'));
    writeFileSync(join(dir, 'gen/b.ts'), '// stale\n');
    const r = await runCli(['build', 'models', '--out', 'gen'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('wrote gen/a.ts');
    expect(r.stdout).toContain('wrote gen/b.ts');
    expect(r.stdout).toMatch(/1 file written, 1 unchanged/);
    expect(statSync(join(dir, 'gen/a.ts')).mtime.getTime()).toBe(old.getTime());
    expect(readFileSync(join(dir, 'gen/b.ts'))).toEqual(good);
    expect(listFiles(join(dir, 'gen'))).toEqual(['a.ts', 'b.ts']);
  });

  it('prints every error of every model as file:line:column and writes nothing', { timeout: SLOW }, async () => {
    const dir = tempProject({
      'models/a_good.hess': LINEAR,
      'models/b_bad.hess': BROKEN,
      'models/c_bad.hess': 'param x\nminimize x + zz\n',
      'models/d_good.hess': QUADRATIC,
    });
    const r = await runCli(['build', 'models', '--out', 'gen'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/models\/b_bad\.hess:6:\d+: error: .*yy/);
    expect(r.stderr).toMatch(/models\/c_bad\.hess:2:\d+: error: .*zz/);
    expect(r.stderr).toMatch(/\n\s*\^+/); // the caret under the culprit
    expectNoStack(r.stderr);
    expect(r.stdout).not.toContain('wrote');
    expect(existsSync(join(dir, 'gen'))).toBe(false);

    // With an existing --out, nothing in it changes either.
    writeFileSync(join(dir, 'models/b_bad.hess'), LINEAR.replace('param b', 'param bb').replace('+ b -', '+ bb -'));
    writeFileSync(join(dir, 'models/c_bad.hess'), QUADRATIC);
    expect((await runCli(['build', 'models', '--out', 'gen'], dir)).code).toBe(0);
    const before = listFiles(join(dir, 'gen')).map((f) => [f, readFileSync(join(dir, 'gen', f), 'utf8')]);
    writeFileSync(join(dir, 'models/a_good.hess'), QUADRATIC); // would change a_good.ts...
    writeFileSync(join(dir, 'models/c_bad.hess'), 'param x\nminimize x + zz\n'); // ...but c_bad breaks
    const again = await runCli(['build', 'models', '--out', 'gen'], dir);
    expect(again.code).toBe(1);
    expect(listFiles(join(dir, 'gen')).map((f) => [f, readFileSync(join(dir, 'gen', f), 'utf8')])).toEqual(before);
  });

  it('reports a file that is not UTF-8 as a located error', { timeout: SLOW }, async () => {
    const bytes = Buffer.concat([Buffer.from('param x\nminimize x'), Buffer.from([0xff]), Buffer.from(' ^ 2\n')]);
    const dir = tempProject({ 'bin.hess': bytes });
    const r = await runCli(['build', 'bin.hess', '--out', 'gen'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bin\.hess:2:11: error: .*not valid UTF-8/);
    expect(existsSync(join(dir, 'gen'))).toBe(false);
  });
});

describe('hessgen build --check', () => {
  it('exits 0 when fresh, 1 naming each stale or missing file, and writes nothing', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/a.hess': LINEAR, 'models/b.hess': QUADRATIC });

    const missingOut = await runCli(['build', 'models', '--out', 'gen', '--check'], dir);
    expect(missingOut.code).toBe(1);
    expect(missingOut.stderr).toContain('gen/a.ts');
    expect(missingOut.stderr).toContain('gen/b.ts');
    expect(existsSync(join(dir, 'gen'))).toBe(false);

    expect((await runCli(['build', 'models', '--out', 'gen'], dir)).code).toBe(0);
    const fresh = await runCli(['build', 'models', '--out', 'gen', '--check'], dir);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/up to date/);

    writeFileSync(join(dir, 'gen/b.ts'), '// edited by hand\n');
    const stale = await runCli(['build', 'models', '--out', 'gen', '--check'], dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/stale: gen\/b\.ts/);
    expect(stale.stderr).not.toMatch(/stale: gen\/a\.ts/);
    expect(readFileSync(join(dir, 'gen/b.ts'), 'utf8')).toBe('// edited by hand\n');
    expect(listFiles(join(dir, 'gen'))).toEqual(['a.ts', 'b.ts']);
  });

  it('exits 1 on compile errors', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'bad.hess': BROKEN });
    const r = await runCli(['build', 'bad.hess', '--out', 'gen', '--check'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.hess:6:\d+: error:/);
  });
});

describe('hessgen build --watch', () => {
  it('rebuilds a model when its file changes, keeps running, and stops on Ctrl-C', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    const child = spawn(process.execPath, [bin, 'build', 'm.hess', '--out', 'gen', '--watch'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    try {
      await waitFor(() => stdout.includes('watching'), 30_000, 'the first build');
      const first = readFileSync(join(dir, 'gen/m.ts'), 'utf8');

      writeFileSync(join(dir, 'm.hess'), BROKEN); // errors are printed, the output stays
      await waitFor(() => /m\.hess:6:\d+: error:/.test(stderr), 10_000, 'the error report');
      expect(readFileSync(join(dir, 'gen/m.ts'), 'utf8')).toBe(first);

      writeFileSync(join(dir, 'm.hess'), QUADRATIC);
      await waitFor(() => readFileSync(join(dir, 'gen/m.ts'), 'utf8') !== first, 10_000, 'the rebuild');
      expect(child.exitCode).toBe(null); // still running
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(listFiles(join(dir, 'gen'))).toEqual(['m.ts']);
  });
});
