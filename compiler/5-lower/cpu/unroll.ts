// CPU pass: 4-wide unrolling. The innermost output loop of a loop nest with one sum, `for v { lets;
// reduce; store }`, becomes a `forStep` that handles v .. v+3 at once: one pass over the sum serves
// four neighbouring entries (a `reduceN` with four accumulators), and the factors that do not
// depend on v are loaded once for them; the `rest` (the loop's body for one v) finishes the loop.
// A loop of 5 to 7 entries (a constant range) is unrolled whole instead: all its sums in one pass
// and no remainder loop, which for a short batch costs as much as the step (the 3-5-1 MLP's
// hidden units, 5 of them).
// Where the innermost loop cannot take it (shorter than a step, or a triangle's skip that would
// leave holes in the entries), the loop around it does, when neither the inner loop's range nor
// its skips depend on that loop's variable: `for v { lets; for w { skips; lets; reduce; store } }`
// becomes copies of the inner body for v .. v+3 inside one w loop (the 3-5-1 MLP's W1–W1 curvature
// block, a triangle over 3 × 3 inside each hidden unit).
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

type For = Extract<Stmt, { k: 'for' }>;

/** The unrolled loop, when it is an output loop around `lets; reduce; store` that pays to unroll. */
function unrolled(loop: For): Stmt | null {
  if (loop.kind !== 'parallel' || tooShort(loop)) return null;
  const body = loop.body;
  const sum = oneSum(body, loop.v, new Set());
  const step = stepOf(loop);
  if (sum) return { k: 'forStep', v: loop.v, from: loop.from, to: loop.to, step, body: copiesOf(body, loop.v, step, new Set()), rest: body };
  // The loop around an inner output loop that cannot be unrolled itself.
  const inner = body[body.length - 1];
  const pre = body.slice(0, -1);
  if (!inner || inner.k !== 'for' || inner.kind !== 'parallel' || !pre.every((st) => st.k === 'let')) return null;
  if (oneSum(inner.body, inner.v, new Set()) && !tooShort(inner)) return null;
  const locals = new Set([loop.v, ...pre.map((st) => (st as { name: string }).name)]);
  // The inner loop's range and skips must be the same for each v of a step: they are kept once.
  const skips = inner.body.filter((st) => st.k === 'skipIfLess');
  const rest = inner.body.filter((st) => st.k !== 'skipIfLess');
  if (dependsOn(inner.from, locals) || dependsOn(inner.to, locals) || skips.some((st) => dependsOn(st.a, locals) || dependsOn(st.b, locals))) return null;
  if (!inner.body.slice(0, skips.length).every((st) => st.k === 'skipIfLess')) return null;
  if (!oneSum(rest, loop.v, locals)) return null;
  const varying = varyingNames(pre, loop.v, new Set());
  return {
    k: 'forStep', v: loop.v, from: loop.from, to: loop.to, step,
    body: [...offsets(step).flatMap((u) => shiftCopy(pre, loop.v, u, varying)), { ...inner, body: [...skips, ...copiesOf(rest, loop.v, step, varying)] }],
    rest: body,
  };
}

/** The step: the whole loop when its range is a constant 5 to 7 long (4 leaves a remainder), else 4. */
function stepOf(loop: For): number {
  const n = loop.from.k === 'num' && loop.to.k === 'num' ? loop.to.v - loop.from.v : 0;
  return n >= 5 && n <= 7 ? n : 4;
}

const offsets = (step: number): number[] => Array.from({ length: step }, (_, u) => u);

/** Too short to fill one step (judged by the loop's range before any diagonal bound). */
function tooShort(loop: For): boolean {
  const lo = loop.from.k === 'num' ? loop.from.v : loop.from.k === 'max' && loop.from.a.k === 'num' ? loop.from.a.v : null;
  return lo !== null && loop.to.k === 'num' && loop.to.v - lo < 4;
}

/** Whether e reads one of the names (loop variables or locals). */
function dependsOn(e: Expr, names: ReadonlySet<string>): boolean {
  switch (e.k) {
    case 'int': case 'local': return names.has(e.name);
    case 'load': return dependsOn(e.index, names);
    case 'bin': case 'max': return dependsOn(e.a, names) || dependsOn(e.b, names);
    case 'call': return dependsOn(e.arg, names);
    default: return false;
  }
}

/**
 * Whether `body` is `lets; reduce; store` with a sum that depends on v (or on `outer`, locals of v
 * defined around it): otherwise the step's entries are one sum and unrolling does not pay. (A
 * `reduceN` holds fused terms, which already give the sum independent accumulators; a skip would
 * leave holes in the step's entries.)
 */
function oneSum(body: readonly Stmt[], v: string, outer: ReadonlySet<string>): boolean {
  const pre = body.slice(0, -2);
  const reduce = body[body.length - 2];
  const store = body[body.length - 1];
  if (!reduce || reduce.k !== 'reduce' || !store || (store.k !== 'store' && store.k !== 'storeSym')) return false;
  if (!pre.every((st) => st.k === 'let')) return false;
  const names = new Set([v, ...outer, ...pre.map((st) => (st as { name: string }).name)]);
  return dependsOn(reduce.value, names);
}

/**
 * The locals of `body` whose values differ between v and v + u (they read v, or a local in
 * `outer` or before them that does; a sum always counts as differing).
 */
function varyingNames(body: readonly Stmt[], v: string, outer: ReadonlySet<string>): Set<string> {
  const names = new Set([v, ...outer]);
  for (const st of body) {
    if (st.k === 'reduce' || (st.k === 'let' && dependsOn(st.value, names))) names.add(st.name);
  }
  names.delete(v);
  return names;
}

/**
 * `lets; reduce; store` for v .. v+step−1: the lets that differ once per v (the others once, so
 * that the emitter sees the factors they give as common to the sums), one reduceN, the stores.
 * `outer`: the differing locals of copies made around this body.
 */
function copiesOf(body: readonly Stmt[], v: string, step: number, outer: ReadonlySet<string>): Stmt[] {
  const varying = varyingNames(body, v, outer);
  const copies = offsets(step).map((u) => shiftCopy(body, v, u, varying));
  const sums = copies.map((c) => c[c.length - 2] as Extract<Stmt, { k: 'reduce' }>);
  const reduce = sums[0]!;
  return [
    ...copies.flatMap((c) => c.slice(0, -2)),
    { k: 'reduceN', names: sums.map((x) => x.name), v: reduce.v, from: reduce.from, to: reduce.to, values: sums.map((x) => x.value) },
    ...copies.map((c) => c[c.length - 1]!),
  ];
}

/**
 * A copy of a loop body for v + u: the `varying` locals get a suffix, v is shifted by u; the lets
 * that do not vary stay in the copy for u = 0 only, under their names.
 */
function shiftCopy(body: readonly Stmt[], v: string, u: number, varying: ReadonlySet<string>): Stmt[] {
  const ren = (name: string) => (varying.has(name) ? `${name}_${u}` : name);
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
  return body.filter((st) => u === 0 || st.k !== 'let' || varying.has(st.name)).map((st): Stmt => {
    switch (st.k) {
      case 'let': return { ...st, name: ren(st.name), value: ex(st.value) };
      case 'var': return { ...st, name: ren(st.name), value: ex(st.value) };
      case 'reduce': return { ...st, name: ren(st.name), from: ex(st.from), to: ex(st.to), value: ex(st.value) };
      case 'reduceN':
        // (Made with a body only by fuse-sums, whose loops are not unrolled.)
        if (st.body) throw new Error('internal: cannot unroll a reduceN with a body');
        return { ...st, names: st.names.map(ren), from: ex(st.from), to: ex(st.to), values: st.values.map(ex) };
      case 'store': return { ...st, index: ex(st.index), value: ex(st.value) };
      case 'storeSym': return { ...st, index: ex(st.index), mirror: ex(st.mirror), value: ex(st.value) };
      default: throw new Error(`internal: cannot unroll a ${st.k}`);
    }
  });
}
