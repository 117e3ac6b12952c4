// Index arithmetic shared by the lowering: row-major strides over workspaces (which hold one
// chunk of a streamed batch dimension) and over the user's arrays (which hold all of it), and
// linear index expressions that can be split by loop level for hoisting.

import type { Dim } from '../2-ir/graph.ts';
import type { Affine, TNode, Var } from '../2-ir/index-form.ts';
import { add, mul, num, type Expr } from './loops.ts';
import { isDirection } from '../3-differentiate/directional.ts';

export function dimExpr(d: Dim, role?: 'rows'): Expr {
  return typeof d === 'number' ? num(d) : role ? { k: 'dim', name: d, role } : { k: 'dim', name: d };
}

/** Loop bound along a dimension: a symbolic one is the current chunk's length. */
export function extentExpr(d: Dim): Expr {
  return typeof d === 'number' ? num(d) : { k: 'extent', name: d };
}

/**
 * Row-major strides. Workspaces hold one chunk of a symbolic dimension (`extent`); the user's
 * data arrays hold all the rows the call was given (`rows`: all of it, except in a shard).
 */
export function stridesOf(shape: readonly Dim[], whole = false): Expr[] {
  const strides: Expr[] = [];
  let s: Expr = num(1);
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s = mul(s, whole ? dimExpr(shape[k]!, 'rows') : extentExpr(shape[k]!));
  }
  return strides;
}

/** Where the current chunk starts inside a data array. */
export function dataBase(shape: readonly Dim[]): Expr {
  const strides = stridesOf(shape, true);
  let base: Expr = num(0);
  shape.forEach((d, k) => {
    if (typeof d === 'string') base = add(base, mul({ k: 'offset', name: d }, strides[k]!));
  });
  return base;
}

export const bufName = (node: TNode): string =>
  node.kind === 'param' ? (isDirection(node) ? 'v' : 'theta') : node.kind === 'data' ? `d_${node.name}` : `t${node.id}`;

/** A linear index: constant + Σ var·stride. */
export interface Lin {
  readonly c: Expr;
  readonly terms: readonly { v: Var; stride: Expr }[];
}
export function linOf(idx: readonly Affine[], strides: readonly Expr[], base: Expr): Lin {
  let c = base;
  const terms: { v: Var; stride: Expr }[] = [];
  idx.forEach((a, k) => {
    const st = strides[k]!;
    if (a.c !== 0) c = add(c, mul(num(a.c), st));
    if (a.v !== null) {
      const found = terms.find((x) => x.v === a.v);
      if (found) found.stride = add(found.stride, st);
      else terms.push({ v: a.v, stride: st });
    }
  });
  return { c, terms };
}

/** a − b for linear indices with constant strides (the symmetry guard's strides are numbers). */
export function subtractLin(a: Lin, b: Lin): Lin {
  const terms = a.terms.map((x) => ({ ...x }));
  for (const y of b.terms) {
    const found = terms.find((x) => x.v === y.v);
    if (found) found.stride = num((found.stride as { v: number }).v - (y.stride as { v: number }).v);
    else terms.push({ v: y.v, stride: num(-(y.stride as { v: number }).v) });
  }
  return { c: num((a.c as { v: number }).v - (b.c as { v: number }).v), terms: terms.filter((x) => (x.stride as { v: number }).v !== 0) };
}
