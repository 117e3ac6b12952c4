// gaussNewton asked for (--outputs, "outputs" in hessgen.config.json, compile's option) on a
// model without `output` declarations: a located warning, and every other output still built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { QUADRATIC, cleanTempDirs, runCli, tempProject } from './helpers.ts';

const SLOW = 60_000;
afterAll(cleanTempDirs);

const WITH_OUTPUT = `param x[3]
output r = sin(x) - 0.5
minimize sum(r .^ 2)
`;

describe('gaussNewton without outputs', () => {
  it('compile(): a warning at `minimize`, the other outputs built', () => {
    const r = compile(QUADRATIC, 'q.hess', { targets: ['ts', 'wgsl'], outputs: ['gaussNewton', 'hvp'] });
    if (!r.ok) throw new Error('does not compile');
    const lines = QUADRATIC.split('\n');
    const at = lines.findIndex((l) => l.startsWith('minimize'));
    expect(r.warnings).toEqual([
      expect.objectContaining({ file: 'q.hess', line: at + 1, column: 1, length: 8, severity: 'warning', sourceLine: lines[at] }),
    ]);
    expect(r.warnings![0]!.message).toMatch(/gaussNewton was asked for, but the model declares no outputs.*`output NAME = …`/);
    for (const o of r.outputs) {
      expect(o.code).not.toMatch(/gaussNewton/);
      expect(o.code).toMatch(/hvp/);
    }
    // Not asked for by name (all outputs, the default): no warning.
    const all = compile(QUADRATIC, 'q.hess');
    expect(all.ok && all.warnings).toBeUndefined();
    // A model with outputs: no warning, and the module has it.
    const w = compile(WITH_OUTPUT, 'w.hess', { outputs: ['gaussNewton'] });
    expect(w.ok && w.warnings).toBeUndefined();
    expect(w.ok && w.outputs[0]!.code).toMatch(/export function gaussNewton\(/);
  });

  it(
    'the command line and the config file: warning on stderr, exit 0, files written',
    async () => {
      const dir = tempProject({ 'hessgen.config.json': JSON.stringify({ inputs: ['a.hess', 'b.hess'], out: 'gen', outputs: ['gaussNewton'] }), 'a.hess': QUADRATIC, 'b.hess': WITH_OUTPUT });
      const r = await runCli(['build'], dir);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^a\.hess:\d+:1: warning: gaussNewton was asked for/m);
      expect(r.stderr).not.toMatch(/b\.hess/);
      expect(readFileSync(join(dir, 'gen/a.ts'), 'utf8')).not.toMatch(/gaussNewton/);
      expect(readFileSync(join(dir, 'gen/b.ts'), 'utf8')).toMatch(/export function gaussNewton\(/);
      const cli = await runCli(['build', 'a.hess', '--out', 'gen2', '--outputs', 'gaussNewton,hvp'], dir);
      expect(cli.code).toBe(0);
      expect(cli.stderr).toMatch(/^a\.hess:\d+:1: warning: gaussNewton/m);
      expect(readFileSync(join(dir, 'gen2/a.ts'), 'utf8')).toMatch(/export function hvp\(/);
    },
    SLOW,
  );
});
