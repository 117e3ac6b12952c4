// Argument parsing and small helpers of the command line, in-process (no child processes).
import { describe, expect, it } from 'vitest';
import { internalErrorLine } from '../../compiler/cli.ts';
import { parseArgs, parseTargets, scanArgs } from '../../compiler/cli/args.ts';
import { parseInspectArgs } from '../../compiler/cli/inspect.ts';
import { UsageError } from '../../compiler/cli/errors.ts';
import { decodeModel, displayPath, firstInvalidUtf8, isModelFileName, nameClash } from '../../compiler/cli/inputs.ts';

describe('parseArgs', () => {
  it('reads a build command with its defaults', () => {
    expect(parseArgs(['build', 'a.hess', 'models', '--out', 'gen'])).toEqual({
      kind: 'build',
      inputs: ['a.hess', 'models'],
      out: 'gen',
      targets: ['ts'],
      mode: 'build',
      emit: 'ts',
      types: false,
    });
  });

  it('accepts --flag=value, flags anywhere, and -- before inputs that look like flags', () => {
    expect(parseArgs(['build', '--out=gen', '--check', 'a.hess', '--', '-odd.hess'])).toMatchObject({
      inputs: ['a.hess', '-odd.hess'],
      out: 'gen',
      mode: 'check',
    });
    expect(parseArgs(['build', 'a.hess', '--watch', '--out', 'gen'])).toMatchObject({ mode: 'watch' });
  });

  it('orders and deduplicates targets', () => {
    expect(parseTargets('wgsl,ts')).toEqual(['ts', 'wgsl']);
    expect(parseTargets(' ts , ts ')).toEqual(['ts']);
    expect(parseArgs(['build', 'a.hess', '--out', 'g', '--target', 'wgsl'])).toMatchObject({ targets: ['wgsl'] });
  });

  it('answers --help and --version, even after other arguments', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['build', '--bogus', '-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
    // --version answers at once: what follows it is not looked at.
    expect(parseArgs(['build', '--version', '--bogus'])).toEqual({ kind: 'version' });
  });

  it('scans build and inspect arguments alike (scanArgs)', () => {
    const seen: string[] = [];
    const inputs = scanArgs(['a.hess', '--out=g', '--svg', 'f.svg', '-', '--', '--json'], (f) => {
      seen.push(`${f.name}=${f.name === '--out' || f.name === '--svg' ? f.value('a value', 'x') : ''}`);
    });
    expect(inputs).toEqual(['a.hess', '-', '--json']);
    expect(seen).toEqual(['--out=g', '--svg=f.svg']);
    expect(() => scanArgs(['--svg'], (f) => void f.value('a value', 'file'))).toThrow('--svg needs a value: --svg <file>');
    expect(() => scanArgs(['--check=1'], (f) => f.noValue())).toThrow("--check takes no value (got '--check=1')");
    expect(parseInspectArgs(['--', '--odd.hess'])).toMatchObject({ input: '--odd.hess', json: false });
    expect(() => parseInspectArgs(['m.hess', '--xyzzy'])).toThrow("unknown option '--xyzzy' for inspect (options: --json, --svg, --dims, --help)");
    expect(parseInspectArgs(['--json', 'm.hess', '--dims=N=3'])).toEqual({ input: 'm.hess', json: true, svg: undefined, dims: new Map([['N', 3]]) });
    expect(parseInspectArgs(['m.hess', '-h'])).toBeNull();
  });

  it('throws UsageError for every malformed command', () => {
    const bad = [
      [],
      ['make'],
      ['-x'],
      ['model.hess', '--out', 'g'],
      ['build', 'a.hess'],
      ['build', '--out', 'g'],
      ['build', 'a.hess', '--out', 'g', '--out', 'h'],
      ['build', 'a.hess', '--out', '--check'],
      ['build', 'a.hess', '--out='],
      ['build', 'a.hess', '--out', 'g', '--target'],
      ['build', 'a.hess', '--out', 'g', '--target', 'ts', '--target', 'wgsl'],
      ['build', 'a.hess', '--out', 'g', '--target', 'glsl'],
      ['build', 'a.hess', '--out', 'g', '--watch=1'],
      ['build', 'a.hess', '--out', 'g', '--check', '--watch'],
    ];
    for (const argv of bad) expect(() => parseArgs(argv), argv.join(' ')).toThrow(UsageError);
  });
});

describe('inputs', () => {
  it('recognises model file names', () => {
    expect(isModelFileName('a.hess')).toBe(true);
    expect(isModelFileName('.a.hess')).toBe(false); // hidden: editor files
    expect(isModelFileName('.hess')).toBe(false);
    expect(isModelFileName('a.hess.bak')).toBe(false);
  });

  it('shows paths relative to the working directory with /', () => {
    expect(displayPath('/w/p', '/w/p/models/a.hess')).toBe('models/a.hess');
    expect(displayPath('/w/p', '/w/other/a.hess')).toBe('../other/a.hess');
  });

  it('finds clashing base names, ignoring case', () => {
    const m = (display: string, base: string) => ({ abs: `/x/${display}`, display, base });
    expect(nameClash([m('a/m.hess', 'm'), m('b/n.hess', 'n')])).toBeUndefined();
    expect(nameClash([m('a/m.hess', 'm'), m('b/M.hess', 'M')])).toMatch(/same name apart from case/);
  });

  it('locates the first byte that is not UTF-8', () => {
    expect(firstInvalidUtf8(Buffer.from('plain ascii, é, 漢, 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xc3]))).toBe(1); // truncated sequence
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // a surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0xc0, 0x80]))).toBe(0); // overlong
    const r = decodeModel(Buffer.concat([Buffer.from('x\né = 1 '), Buffer.from([0xfe])]), 'm.hess');
    expect(r).toMatchObject({ ok: false, diagnostics: [{ file: 'm.hess', line: 2, column: 7 }] });
  });

  it('drops a byte-order mark', () => {
    expect(decodeModel(Buffer.from('\uFEFFparam x\n'), 'm.hess')).toEqual({ ok: true, source: 'param x\n' });
  });
});

describe('internal errors', () => {
  it('are one line unless HESSGEN_DEBUG is set', () => {
    const err = new Error('boom\nmore detail');
    expect(internalErrorLine(err, {})).toBe('hessgen: internal error: boom (set HESSGEN_DEBUG=1 for details)');
    const debug = internalErrorLine(err, { HESSGEN_DEBUG: '1' });
    expect(debug.split('\n').length).toBeGreaterThan(2);
    expect(debug).toContain('at ');
  });
});
