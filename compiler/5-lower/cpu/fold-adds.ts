// CPU pass: additions folded into the sum before them. A kernel's block that adds to each entry
// that the block before it assigned, over the same loops,
//   lets; for … { lets; acc = Σ …; U[i] = acc }      lets′; for … { lets″; U[i] += v }
// becomes one block: lets; lets′; for … { lets; lets″; acc = Σ …; U[i] = acc + v }, one pass over U
// instead of two (a layer's bias after its product, an error's target after its prediction: the
// 3-5-1 MLP's layer 89 → 62 ns). The value is the same, acc + v (v kept whole). Products
// that the dense kernels will take (cpu/dense-blocks.ts) keep their form.

import { isDenseProduct } from './dense-blocks.ts';
import { buffersLoaded, namesIn, type Kernel, type Program, type Stmt } from '../loops.ts';

type Block = Extract<Stmt, { k: 'block' }>;
type For = Extract<Stmt, { k: 'for' }>;

export function foldAdds(p: Program): Program {
  return { ...p, kernels: p.kernels.map((k): Kernel => ({ ...k, body: foldIn(p, k.body) })) };
}

function foldIn(p: Program, body: readonly Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (const st of body) {
    const prev = out[out.length - 1];
    const merged = prev?.k === 'block' && st.k === 'block' ? fold(p, prev, st) : null;
    if (merged) out[out.length - 1] = merged;
    else out.push(st);
  }
  return out;
}

/** A block's lets and then one loop nest: each level's loop, its statements before the next loop. */
function nestOf(b: Block): { lets: Stmt[]; loops: For[]; inner: Stmt[] } | null {
  if (b.pair) return null;
  const last = b.body[b.body.length - 1];
  const lets = b.body.slice(0, -1);
  if (!last || last.k !== 'for' || !lets.every((x) => x.k === 'let')) return null;
  const loops: For[] = [];
  let cur: For = last;
  for (;;) {
    if (cur.kind !== 'parallel') return null;
    loops.push(cur);
    const next = cur.body[cur.body.length - 1];
    if (next?.k !== 'for') return { lets, loops, inner: cur.body };
    if (!cur.body.slice(0, -1).every((x) => x.k === 'let')) return null;
    cur = next;
  }
}

/** The two blocks as one, or null when the second is not such an addition to the first's sums. */
function fold(p: Program, first: Block, second: Block): Block | null {
  const a = nestOf(first);
  const b = nestOf(second);
  if (!a || !b || a.loops.length !== b.loops.length || isDenseProduct(p, first)) return null;
  const head = (l: For) => JSON.stringify([l.v, l.from, l.to]);
  if (a.loops.some((l, i) => head(l) !== head(b.loops[i]!))) return null;
  // First: lets, one sum, one assignment; second: lets, one addition at the same place.
  const [reduce, store] = a.inner.slice(-2);
  const add = b.inner[b.inner.length - 1];
  if (reduce?.k !== 'reduce' || store?.k !== 'store' || store.accumulate || !a.inner.slice(0, -2).every((x) => x.k === 'let')) return null;
  if (add?.k !== 'store' || !add.accumulate || add.buf !== store.buf || JSON.stringify(add.index) !== JSON.stringify(store.index)) return null;
  if (!b.inner.slice(0, -1).every((x) => x.k === 'let')) return null;
  // Neither reads what they store (entries then do not depend on the order), and no name is taken twice.
  if (buffersLoaded([first, second]).has(store.buf)) return null;
  const declared = (sts: readonly Stmt[]) => sts.flatMap((x) => (x.k === 'let' || x.k === 'reduce' ? [x.name] : []));
  const firstNames = namesIn(first);
  const v = `${reduce.name}_add`;
  const secondLets = [...declared(b.lets), ...b.loops.flatMap((l) => declared(l.body.slice(0, -1))), ...declared(b.inner)];
  if ([...secondLets, v].some((n) => firstNames.has(n))) return null;
  // The first nest, each level with the second's lets after its own; the addition in the store.
  // (A sum in v gets a let of its own: acc + (x + y) would print, and run, as acc + x + y.)
  const whole = add.value.k === 'bin';
  const level = (i: number): Stmt[] => {
    if (i === a.loops.length - 1) {
      return [
        ...a.inner.slice(0, -2),
        ...b.inner.slice(0, -1),
        ...(whole ? [{ k: 'let', name: v, int: false, value: add.value } as const] : []),
        reduce,
        { ...store, value: { k: 'bin', op: '+', a: store.value, b: whole ? { k: 'local', name: v } : add.value } },
      ];
    }
    return [...a.loops[i]!.body.slice(0, -1), ...b.loops[i]!.body.slice(0, -1), { ...a.loops[i + 1]!, body: level(i + 1) }];
  };
  const comment = [first.comment, second.comment].filter((c): c is string => c !== undefined).join('\n');
  return { ...first, ...(comment === '' ? {} : { comment }), body: [...a.lets, ...b.lets, { ...a.loops[0]!, body: level(0) }] };
}
