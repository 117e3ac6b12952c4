// compile's `outputs` option: value, gradient and Hessian always; hvp and hessianDiagonal when
// chosen (all by default), in both targets.
import { describe, expect, it } from 'vitest';
import { compile, OUTPUT_KINDS, type OutputKind } from '../../compiler/index.ts';
import { parseArgs } from '../../compiler/cli/args.ts';
import { ONCE_MODEL } from './clashing-models.ts';

const code = (outputs: readonly OutputKind[] | undefined, target: 'ts' | 'wgsl' = 'ts'): string => {
  const r = compile(ONCE_MODEL, 'once.hess', { targets: [target], ...(outputs ? { outputs } : {}) });
  if (!r.ok) throw new Error('does not compile');
  return r.outputs[0]!.code;
};
const exported = (src: string) => [...src.matchAll(/^export function (\w+)/gm)].map((m) => m[1]!).sort();

describe('compile outputs', () => {
  it('all by default, in the CPU module', () => {
    expect(OUTPUT_KINDS).toEqual(['value', 'gradient', 'hessian', 'hvp', 'hessianDiagonal', 'hessianSparse', 'gaussNewton']);
    // (gaussNewton only where the model declares outputs: this one has none; its objective is a
    // sum over its batch, so it has the shard entry.)
    expect(exported(code(undefined))).toEqual(['createEvaluator', 'createShardEvaluator', 'evaluate', 'gradient', 'hessian', 'hessianDiagonal', 'hessianSparse', 'hvp', 'value']);
  });
  it('only those chosen, beside value, gradient and Hessian', () => {
    expect(exported(code(['value']))).toEqual(['createEvaluator', 'createShardEvaluator', 'evaluate', 'gradient', 'hessian', 'value']);
    expect(exported(code(['hvp']))).toEqual(['createEvaluator', 'createShardEvaluator', 'evaluate', 'gradient', 'hessian', 'hvp', 'value']);
    expect(code(['hessianDiagonal'])).not.toContain('k_hvp_');
    expect(code(['hvp'])).not.toContain('hessianPattern');
  });
  it('in the GPU module too', () => {
    const entries = (src: string) => /^ {2}entries: \{\n([\s\S]*?)\n {2}\},/m.exec(src)![1]!.match(/^ {4}(\w+): \[/gm)!.map((x) => x.trim().slice(0, -3));
    // (The sparse Hessian reached the GPU this round; this model has no output, so no gaussNewton.)
    expect(entries(code(undefined, 'wgsl'))).toEqual(['value', 'gradient', 'hessian', 'evaluate', 'hvp', 'hessianDiagonal', 'hessianSparse']);
    expect(entries(code(['value'], 'wgsl'))).toEqual(['value', 'gradient', 'hessian', 'evaluate']);
    expect(code(['hvp'], 'wgsl')).not.toContain('hdiag_');
  });
  it('an unknown output is a RangeError', () => {
    expect(() => code(['jacobian' as OutputKind])).toThrow(RangeError);
  });
  it('on the command line: --outputs', () => {
    const cmd = parseArgs(['build', 'm.hess', '--out', 'gen', '--outputs', 'hvp, value,hvp']);
    expect(cmd.kind === 'build' && cmd.outputs).toEqual(['value', 'hvp']);
    expect(() => parseArgs(['build', 'm.hess', '--out', 'gen', '--outputs', 'hvpp'])).toThrow(/unknown output 'hvpp'.*hvp/);
    expect(() => parseArgs(['build', 'm.hess', '--out', 'gen', '--outputs', 'hvp', '--outputs', 'value'])).toThrow(/more than once/);
  });
});
