// compile's `outputs` option: value, gradient and Hessian always; hvp and hessianDiagonal in the
// CPU module when chosen (all by default); the GPU module has neither yet.
import { describe, expect, it } from 'vitest';
import { compile, OUTPUT_KINDS, type OutputKind } from '../../compiler/index.ts';
import { ONCE_MODEL } from './clashing-models.ts';

const code = (outputs: readonly OutputKind[] | undefined, target: 'ts' | 'wgsl' = 'ts'): string => {
  const r = compile(ONCE_MODEL, 'once.hess', { targets: [target], ...(outputs ? { outputs } : {}) });
  if (!r.ok) throw new Error('does not compile');
  return r.outputs[0]!.code;
};
const exported = (src: string) => [...src.matchAll(/^export function (\w+)/gm)].map((m) => m[1]!).sort();

describe('compile outputs', () => {
  it('all by default, in the CPU module', () => {
    expect(OUTPUT_KINDS).toEqual(['value', 'gradient', 'hessian', 'hvp', 'hessianDiagonal']);
    expect(exported(code(undefined))).toEqual(['createEvaluator', 'evaluate', 'gradient', 'hessian', 'hessianDiagonal', 'hvp', 'value']);
  });
  it('only those chosen, beside value, gradient and Hessian', () => {
    expect(exported(code(['value']))).toEqual(['createEvaluator', 'evaluate', 'gradient', 'hessian', 'value']);
    expect(exported(code(['hvp']))).toEqual(['createEvaluator', 'evaluate', 'gradient', 'hessian', 'hvp', 'value']);
    expect(code(['hessianDiagonal'])).not.toContain('k_hvp_');
  });
  it('the GPU module has neither yet', () => {
    const gpu = code(undefined, 'wgsl');
    expect(gpu).not.toContain('hvp');
    expect(gpu).not.toContain('hdiag');
  });
  it('an unknown output is a RangeError', () => {
    expect(() => code(['jacobian' as OutputKind])).toThrow(RangeError);
  });
});
