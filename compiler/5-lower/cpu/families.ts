// CPU pass: tanh and σ families. Where one loop body stores several of f, f′, f″ of one argument
// (the map kernel of tanh(z) also computing tanh′(z) and tanh″(z) for the Hessian), it computes
// y = f(x) and d = f′(x) once and f″ from them, as the function's table entry says (`shared` in
// 2-ir/functions.ts). Exact enough in float64; float32 loses the tails that way (1 − y² as |y| → 1),
// so only targets with `derivedFamilies` run this.

import { SHARED_DERIVATIVES } from '../../2-ir/functions.ts';
import type { MapFn } from '../../2-ir/index-form.ts';
import { mul, num, type Expr, type Kernel, type Program, type Stmt } from '../loops.ts';

const sub = (a: Expr, b: Expr): Expr => ({ k: 'bin', op: '-', a, b });

/** f, f′ and f″ from y = f(x) and d = f′(x), for the functions whose table entry says how (`shared`). */
const FAMILIES: readonly { members: readonly string[]; of: (fn: string, y: Expr, d: Expr) => Expr }[] = SHARED_DERIVATIVES.map((f) => ({
  members: [f.fn, f.d1, f.d2],
  of: (fn, y, d) => (fn === f.fn ? y : fn === f.d1 ? d : f.second(y, d, { num, mul, sub })),
}));

export function deriveFamilies(p: Program): Program {
  return { ...p, kernels: p.kernels.map((k): Kernel => ({ ...k, body: rewrite(k.body) })) };
}

/** A store of f(x) for a float local x. */
type CallStore = Extract<Stmt, { k: 'store' }> & { readonly value: { readonly k: 'call'; readonly fn: MapFn; readonly arg: { readonly k: 'local'; readonly name: string } } };
const isCallStore = (st: Stmt): st is CallStore => st.k === 'store' && st.value.k === 'call' && st.value.arg.k === 'local';

function rewrite(body: readonly Stmt[]): Stmt[] {
  const inner = body.map((st): Stmt => (st.k === 'for' || st.k === 'block' ? { ...st, body: rewrite(st.body) } : st));
  // The statements of this body that store functions of one local, all of one family.
  const calls = inner.filter(isCallStore);
  if (calls.length < 2) return inner;
  const x = calls[0]!.value.arg.name;
  if (calls.some((c) => c.value.arg.name !== x)) return inner;
  const fns = calls.map((c) => c.value.fn);
  const family = FAMILIES.find((f) => fns.every((fn) => f.members.includes(fn.name)));
  const at = inner.findIndex((st) => st.k === 'let' && st.name === x);
  if (!family || at < 0 || inner.some((st) => st.k === 'let' && (st.name === 'y' || st.name === 'd'))) return inner;
  const y: Expr = { k: 'local', name: 'y' };
  const d: Expr = { k: 'local', name: 'd' };
  const arg: Expr = { k: 'local', name: x };
  const lets: Stmt[] = [{ k: 'let', name: 'y', int: false, value: { k: 'call', fn: { name: family.members[0]!, p: 0 }, arg } }];
  if (fns.some((fn) => fn.name !== family.members[0])) lets.push({ k: 'let', name: 'd', int: false, value: { k: 'call', fn: { name: family.members[1]!, p: 0 }, arg } });
  const out = inner.map((st): Stmt => (isCallStore(st) ? { ...st, value: family.of(st.value.fn.name, y, d) } : st));
  out.splice(at + 1, 0, ...lets);
  return out;
}
