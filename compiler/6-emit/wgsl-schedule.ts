// Which units of an entry point can share a dispatch. A dispatch costs a launch and a barrier
// on the GPU whatever its size, and the small units of a model (a bias block, a 5-element map)
// would otherwise each pay it. Units are layered into waves by their conflicts (one reads or
// writes what an earlier one writes, or writes what it reads); units of a wave are independent,
// so the plain ones among them run as one dispatch.

import { MAX_UNITS } from '../../runtime/gpu/layout.ts';

export interface Access {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
  /**
   * The block of each buffer it writes (its kernel's `writes`): units that write different blocks
   * of the same buffer (two gradient or Hessian blocks) do not conflict.
   */
  readonly blocks: ReadonlyMap<string, string>;
  readonly tiled: boolean;
  readonly hessian: boolean;
  /** Rough size of its code, to keep merged shaders small enough to compile fast. */
  readonly statements: number;
}

export type Planned = { readonly clear: string } | { readonly units: readonly string[] };

/** Largest merged dispatch, in units (MAX_UNITS: each boundary is a uniform field) and in statements. */
const MAX_STATEMENTS = 2000;

export function scheduleWaves(steps: readonly ({ readonly clear: string } | { readonly unit: string })[], access: (unit: string) => Access): Planned[] {
  const acc = steps.map((s): Access | null => ('unit' in s ? access(s.unit) : null));
  const conflict = (i: number, j: number): boolean => {
    const a = acc[i];
    const b = acc[j];
    if (!a || !b) {
      // A clear touches its whole buffer.
      const buf = (s: number) => (steps[s] as { clear: string }).clear;
      if (!a && !b) return buf(i) === buf(j);
      const [c, u] = a ? [j, a] : [i, b!];
      return u.reads.has(buf(c)) || u.writes.has(buf(c));
    }
    for (const x of a.writes) {
      if (b.reads.has(x)) return true;
      if (b.writes.has(x) && a.blocks.get(x) === b.blocks.get(x)) return true;
    }
    for (const x of a.reads) if (b.writes.has(x)) return true;
    return false;
  };
  // Longest-path layering: a step comes one wave after the latest earlier step it conflicts with.
  const wave: number[] = [];
  steps.forEach((_, j) => {
    let w = 0;
    for (let i = 0; i < j; i++) if (wave[i]! + 1 > w && conflict(i, j)) w = wave[i]! + 1;
    wave.push(w);
  });
  const out: Planned[] = [];
  const waves = Math.max(-1, ...wave) + 1;
  for (let w = 0; w < waves; w++) {
    const members = steps.map((s, k) => ({ s, k })).filter(({ k }) => wave[k] === w);
    for (const { s } of members) if ('clear' in s) out.push({ clear: s.clear });
    for (const { s, k } of members) if ('unit' in s && acc[k]!.tiled) out.push({ units: [s.unit] });
    // Plain units: the ones that write the Hessian run once per window of it, so they go apart.
    for (const hessian of [false, true]) {
      let group: string[] = [];
      let size = 0;
      for (const { s, k } of members) {
        const a = acc[k];
        if (!('unit' in s) || !a || a.tiled || a.hessian !== hessian) continue;
        if (group.length > 0 && (group.length >= MAX_UNITS || size + a.statements > MAX_STATEMENTS)) {
          out.push({ units: group });
          group = [];
          size = 0;
        }
        group.push(s.unit);
        size += a.statements;
      }
      if (group.length > 0) out.push({ units: group });
    }
  }
  return out;
}
