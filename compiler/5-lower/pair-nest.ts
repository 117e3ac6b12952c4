// A pair-symmetric term (4-simplify/pair-symmetry.ts) -> its loop nest. Only a ≤ c, b ≤ d is
// summed; each sum is stored at the upper entries it stands for, each with its mirror:
//   (a, b, c, d) always, and (a, d, c, b) when a < c and b < d
// (with a = c the second is the first's mirror; with b = d it is the first). Every upper entry
// of the block is reached exactly once, as the plain upper-triangle nest reaches it. The loops
// are split where a = c and b = d instead of skipping inside them, so that each innermost loop
// stores the same way on every iteration (the sparse Hessian's slot runs rely on that). The
// block carries the same description as data (`pair`) for the CPU kernels (cpu/dense-blocks.ts).

import type { Factor, TNode, Var } from '../2-ir/index-form.ts';
import type { PairTerm } from '../4-simplify/pair-symmetry.ts';
import { bufName, extentExpr, type Lin } from './indexing.ts';
import { factorLin, type NestContext, type Target } from './loop-nest.ts';
import { add, int, mul, num, type Expr, type PairBlock, type PairFactor, type Stmt } from './loops.ts';

export function emitPairTerm(pt: PairTerm, target: Target, body: Stmt[], deps: TNode[], ctx: NestContext): void {
  const { a, b, c, d, s } = pt;
  const m = pt.ranges.get(a)!.hi as number;
  const m2 = pt.ranges.get(b)!.hi as number;
  const sHi = pt.ranges.get(s)!.hi;
  const depth = extentExpr(sHi);
  const lins = new Map<Factor, Lin>();
  const linOfFactor = (f: Factor): Lin => {
    let l = lins.get(f);
    if (!l) {
      deps.push(f.node);
      l = f.node.kind === 'dim' ? { c: num(0), terms: [] } : factorLin(f.node, f.idx, ctx);
      lins.set(f, l);
    }
    return l;
  };
  const strideOf = (l: Lin, v: Var): Expr => l.terms.find((x) => x.v === v)?.stride ?? num(0);
  /** The factor's element with its variables bound to the given expressions. */
  const at = (f: Factor, env: ReadonlyMap<Var, Expr>): Expr => {
    if (f.node.kind === 'dim') return f.node.role ? { k: 'dim', name: f.node.name, role: f.node.role } : { k: 'dim', name: f.node.name };
    const l = linOfFactor(f);
    let index = l.c;
    for (const x of l.terms) index = add(index, mul(env.get(x.v)!, x.stride));
    return { k: 'load', buf: bufName(f.node), index };
  };

  const [ia, ib, ic, id, is] = ['i0', 'i1', 'i2', 'i3', 'i4'].map(int) as [Expr, Expr, Expr, Expr, Expr];
  const scaleName = `p${ctx.counter.next++}`;
  let scale: Expr = num(pt.coef);
  for (const f of pt.scalars) scale = mul(scale, at(f, new Map()));

  /** out(x0, x1, x2, x3) in the output or at its mirror. */
  const position = (p: { base: Expr; strides: readonly Expr[] }, xs: readonly Expr[]): Expr =>
    xs.reduce((e, x, k) => add(e, mul(x, p.strides[k]!)), p.base);
  const mirror = target.mirror!;
  /** Σ_s of the entry whose row pair is (x, z) and column pair (y, u): T[(x, z), (y, u)]. */
  const reduce = (acc: string, x: Expr, y: Expr, z: Expr, u: Expr): Stmt => {
    let value: Expr = num(1);
    for (const [f, v] of [[pt.A, x], [pt.B, y], [pt.A, z], [pt.B, u]] as const) value = mul(value, at(f, new Map([[f === pt.A ? a : b, v], [s, is]])));
    if (pt.w) value = mul(value, at(pt.w, new Map([[s, is]])));
    return { k: 'reduce', name: acc, v: 'i4', from: num(0), to: depth, value };
  };
  /** scale·K·G·acc at out(x0, x1, x2, x3) and its mirror. */
  const store = (acc: string, xs: readonly [Expr, Expr, Expr, Expr]): Stmt => {
    let value: Expr = { k: 'local', name: scaleName };
    if (pt.K) value = mul(value, at(pt.K, new Map([[a, xs[0]], [c, xs[2]]])));
    if (pt.G) value = mul(value, at(pt.G, pt.diagonal ? new Map([[b, xs[1]]]) : new Map([[b, xs[1]], [d, xs[3]]])));
    value = mul(value, { k: 'local', name: acc });
    return { k: 'storeSym', buf: target.buf, index: position(target, xs), mirror: position(mirror, xs), value };
  };
  const accName = () => `acc${ctx.counter.next++}`;
  const loop = (v: string, from: Expr, to: number, inner: Stmt[]): Stmt => ({ k: 'for', kind: 'parallel', v, from, to: num(to), body: inner });

  if (pt.diagonal) {
    // Columns (b, b): a ≤ c only, every b.
    const r = accName();
    const reduceRows: Stmt = (() => {
      let value: Expr = mul(mul(at(pt.A, new Map([[a, ia], [s, is]])), at(pt.A, new Map([[a, ic], [s, is]]))), at(pt.B, new Map([[b, ib], [s, is]])));
      if (pt.w) value = mul(value, at(pt.w, new Map([[s, is]])));
      return { k: 'reduce', name: r, v: 'i4', from: num(0), to: depth, value };
    })();
    const nest = loop('i0', num(0), m, [loop('i2', ia, m, [loop('i1', num(0), m2, [reduceRows, store(r, [ia, ib, ic, ib])])])]);
    const info = pairInfo(pt, target, depth, sHi, scale, linOfFactor, strideOf);
    body.push({ k: 'block', body: [{ k: 'let', name: scaleName, int: false, value: scale }, nest], comment: pairComment(pt, target.buf), ...(info ? { pair: info } : {}) });
    return;
  }

  // c = a: b ≤ d.
  const r1 = accName();
  const sameRow = loop('i3', ib, m2, [reduce(r1, ia, ib, ia, id), store(r1, [ia, ib, ia, id])]);
  // c > a, d = b.
  const r2 = accName();
  const sameCol: Stmt[] = [reduce(r2, ia, ib, ic, ib), store(r2, [ia, ib, ic, ib])];
  // c > a, d > b: the entry and its partner with b and d traded.
  const r3 = accName();
  const both = loop('i3', add(ib, num(1)), m2, [reduce(r3, ia, ib, ic, id), store(r3, [ia, ib, ic, id]), store(r3, [ia, id, ic, ib])]);
  const nest = loop('i0', num(0), m, [loop('i1', num(0), m2, [sameRow, loop('i2', add(ia, num(1)), m, [...sameCol, both])])]);

  const info = pairInfo(pt, target, depth, sHi, scale, linOfFactor, strideOf);
  body.push({ k: 'block', body: [{ k: 'let', name: scaleName, int: false, value: scale }, nest], comment: pairComment(pt, target.buf), ...(info ? { pair: info } : {}) });
}

/** The term in index notation, with the loops' variable names, for the reader of the generated code. */
function pairComment(pt: PairTerm, buf: string): string {
  const d = pt.diagonal ? 'i1' : 'i3';
  const sides = pt.diagonal ? 'A[i0, i4]·A[i2, i4]·B[i1, i4]' : 'A[i0, i4]·B[i1, i4]·A[i2, i4]·B[i3, i4]';
  const names = [['A', pt.A], ['B', pt.B], ['w', pt.w], ['K', pt.K], ['G', pt.G]] as const;
  return (
    `${buf}[i0, i1, i2, ${d}] += Σ_i4 ${[pt.coef, ...pt.scalars.map((f) => nodeName(f.node))].join('·')}` +
    `·${sides}${pt.w ? '·w[i4]' : ''}${pt.K ? '·K[i0, i2]' : ''}${pt.G ? (pt.diagonal ? '·G[i1]' : '·G[i1, i3]') : ''}` +
    `  (pair symmetry: i0 ≤ i2${pt.diagonal ? '' : ', i1 ≤ i3'}; ${names.filter(([, f]) => f).map(([x, f]) => `${x} = ${nodeName(f!.node)}`).join(', ')})`
  );
}

/**
 * Whether the term's block gets its description as data (`pair`): A, B and w each contiguous
 * along the sum. Targets whose kernels need it (TargetCapabilities.pairNeedsForm) pair only such terms.
 */
export function pairHasForm(pt: PairTerm, ctx: NestContext): boolean {
  return operandsContiguous(pt, (f) => (f.node.kind === 'dim' ? { c: num(0), terms: [] } : factorLin(f.node, f.idx, ctx)));
}

function operandsContiguous(pt: PairTerm, linOf: (f: Factor) => Lin): boolean {
  const contiguous = (f: Factor) => {
    const st = linOf(f).terms.find((x) => x.v === pt.s)?.stride;
    return st !== undefined && st.k === 'num' && st.v === 1;
  };
  return contiguous(pt.A) && contiguous(pt.B) && (!pt.w || contiguous(pt.w));
}

/** The block as data for the kernels; null when an operand's summed index is not contiguous. */
function pairInfo(
  pt: PairTerm, target: Target, depth: Expr, depthDim: PairBlock['depthDim'], scale: Expr,
  linOf: (f: Factor) => Lin, strideOf: (l: Lin, v: Var) => Expr,
): PairBlock | null {
  if (!operandsContiguous(pt, linOf)) return null;
  const la = linOf(pt.A);
  const lb = linOf(pt.B);
  const lw = pt.w ? linOf(pt.w) : null;
  const factor = (f: Factor | null, x: Var, y: Var | null): PairFactor | null => {
    if (!f) return null;
    const l = linOf(f);
    return { buf: bufName(f.node), base: l.c, rs: strideOf(l, x), cs: y === null ? num(0) : strideOf(l, y) };
  };
  return {
    diagonal: pt.diagonal,
    A: { buf: bufName(pt.A.node), base: la.c, ld: strideOf(la, pt.a) },
    B: { buf: bufName(pt.B.node), base: lb.c, ld: strideOf(lb, pt.b) },
    w: lw ? { buf: bufName(pt.w!.node), base: lw.c } : null,
    m: pt.ranges.get(pt.a)!.hi as number,
    m2: pt.ranges.get(pt.b)!.hi as number,
    depth,
    depthDim,
    out: { buf: target.buf, base: target.base, strides: target.strides },
    mirror: target.mirror!,
    // (Diagonal: G[b, b] = G[b], its one index strided by rs.)
    G: factor(pt.G, pt.b, pt.diagonal ? null : pt.d),
    K: factor(pt.K, pt.a, pt.c),
    scale,
  };
}

function nodeName(node: TNode): string {
  if (node.kind === 'dim') return node.role ? `${node.role}_${node.name}` : node.name;
  return node.kind === 'param' || node.kind === 'data' ? node.name : bufName(node);
}
