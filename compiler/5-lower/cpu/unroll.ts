// CPU pass: 4-wide unrolling. The innermost output loop of a loop nest with one sum, `for v { lets;
// reduce; store }`, becomes a `forStep` that handles v .. v+3 at once: one pass over the sum serves
// four neighbouring entries (a `reduceN` with four accumulators), and the factors that do not
// depend on v are loaded once for them; the `rest` (the loop's body for one v) finishes the loop.
// A GPU maps output loops to threads instead, so only targets with `unroll4` run this.

import { add, num, type Expr, type Kernel, type Program, type Stmt } from '../loops.ts';

export function unroll4(p: Program): Program {
  return { ...p, kernels: p.kernels.map((k): Kernel => ({ ...k, body: unrollIn(k.body) })) };
}

function unrollIn(body: readonly Stmt[]): Stmt[] {
  return body.map((st): Stmt => {
    if (st.k === 'block') return { ...st, body: unrollIn(st.body) };
    if (st.k !== 'for') return st;
    return unrolled(st) ?? { ...st, body: unrollIn(st.body) };
  });
}

/** The unrolled loop, when it is an output loop around `lets; reduce; store` that pays to unroll. */
function unrolled(loop: Extract<Stmt, { k: 'for' }>): Stmt | null {
  if (loop.kind !== 'parallel') return null;
  const body = loop.body;
  const pre = body.slice(0, -2);
  const reduce = body[body.length - 2];
  const store = body[body.length - 1];
  // (A `reduceN` holds fused terms, which already give the sum independent accumulators; a
  // skip would leave holes in the four entries.)
  if (!reduce || reduce.k !== 'reduce' || !store || (store.k !== 'store' && store.k !== 'storeSym')) return null;
  if (!pre.every((st) => st.k === 'let')) return null;
  // Too short to fill one step (judged by the loop's range before any diagonal bound).
  const lo = loop.from.k === 'num' ? loop.from.v : loop.from.k === 'max' && loop.from.a.k === 'num' ? loop.from.a.v : null;
  if (lo !== null && loop.to.k === 'num' && loop.to.v - lo < 4) return null;
  // Unrolling pays when the sum depends on v: otherwise the four entries are one sum.
  const locals = new Set(pre.map((st) => (st as { name: string }).name));
  const mentions = (e: Expr): boolean => {
    switch (e.k) {
      case 'int': case 'local': return e.name === loop.v || locals.has(e.name);
      case 'load': return mentions(e.index);
      case 'bin': case 'max': return mentions(e.a) || mentions(e.b);
      case 'call': return mentions(e.arg);
      default: return false;
    }
  };
  if (!mentions(reduce.value)) return null;
  const copies = [0, 1, 2, 3].map((u) => shiftCopy(body, loop.v, u));
  const sums4 = copies.map((c) => c[c.length - 2] as Extract<Stmt, { k: 'reduce' }>);
  const main: Stmt[] = [
    ...copies.flatMap((c) => c.slice(0, -2)),
    { k: 'reduceN', names: sums4.map((x) => x.name), v: reduce.v, from: reduce.from, to: reduce.to, values: sums4.map((x) => x.value) },
    ...copies.map((c) => c[c.length - 1]!),
  ];
  return { k: 'forStep', v: loop.v, from: loop.from, to: loop.to, step: 4, body: main, rest: body };
}

/** A copy of a loop body for v + u: locals it defines get a suffix, v is shifted by u. */
function shiftCopy(body: readonly Stmt[], v: string, u: number): Stmt[] {
  const defined = new Set<string>();
  for (const st of body) {
    if (st.k === 'let' || st.k === 'var' || st.k === 'reduce') defined.add(st.name);
    if (st.k === 'reduceN') st.names.forEach((x) => defined.add(x));
  }
  const ren = (name: string) => (defined.has(name) ? `${name}_${u}` : name);
  const ex = (e: Expr): Expr => {
    switch (e.k) {
      case 'int': return e.name === v ? add(e, num(u)) : { ...e, name: ren(e.name) };
      case 'local': return { ...e, name: ren(e.name) };
      case 'load': return { ...e, index: ex(e.index) };
      case 'bin': return { ...e, a: ex(e.a), b: ex(e.b) };
      case 'max': return { ...e, a: ex(e.a), b: ex(e.b) };
      case 'call': return { ...e, arg: ex(e.arg) };
      default: return e;
    }
  };
  return body.map((st): Stmt => {
    switch (st.k) {
      case 'let': return { ...st, name: ren(st.name), value: ex(st.value) };
      case 'var': return { ...st, name: ren(st.name), value: ex(st.value) };
      case 'reduce': return { ...st, name: ren(st.name), from: ex(st.from), to: ex(st.to), value: ex(st.value) };
      case 'reduceN': return { ...st, names: st.names.map(ren), from: ex(st.from), to: ex(st.to), values: st.values.map(ex) };
      case 'store': return { ...st, index: ex(st.index), value: ex(st.value) };
      case 'storeSym': return { ...st, index: ex(st.index), mirror: ex(st.mirror), value: ex(st.value) };
      default: throw new Error(`internal: cannot unroll a ${st.k}`);
    }
  });
}
