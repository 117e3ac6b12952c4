// compile keeps no state between calls: the numbering of index variables belongs to a compile
// context, so a compilation inside another (a plugin, a helper) neither sees nor disturbs it.
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { freshVar, withCompileContext } from '../../compiler/2-ir/index-form.ts';
import { CLASH_MODEL, ONCE_MODEL } from './clashing-models.ts';

const both = (src: string, path: string) => {
  const r = compile(src, path, { targets: ['ts', 'wgsl'] });
  if (!r.ok) throw new Error('does not compile');
  return r.outputs.map((o) => o.code);
};

describe('compile is re-entrant', () => {
  it('a compilation inside another leaves the outer numbering where it was', () => {
    const alone = both(ONCE_MODEL, 'once.hess');
    withCompileContext(() => {
      expect([freshVar(), freshVar(), freshVar()]).toEqual([0, 1, 2]);
      expect(both(ONCE_MODEL, 'once.hess')).toEqual(alone);
      expect(freshVar()).toBe(3);
    });
  });

  it('gives the same output whatever was compiled before', () => {
    const first = both(CLASH_MODEL, 'clash.hess');
    both(ONCE_MODEL, 'once.hess');
    expect(both(CLASH_MODEL, 'clash.hess')).toEqual(first);
  });
});
