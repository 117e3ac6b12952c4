// One term -> one loop nest (see lower.ts for the whole picture). Loops run over the term's
// output variables in the order of the output coordinates, then over its summed variables. Each
// factor is loaded at the outermost level where its indices are known, the part of an index
// known outside the summed loops is hoisted, products of factors are formed level by level, and
// a single summed variable becomes a `reduce`. Diagonal Hessian blocks get a lower bound (or a
// skip) that keeps only the upper triangle. (A CPU pass unrolls the innermost output loop of a
// nest with one sum afterwards: cpu/unroll.ts.)

import type { Affine, Term, TNode, Var } from '../2-ir/index-form.ts';
import { orderVars } from '../4-simplify/contract.ts';
import { bufName, dataBase, extentExpr, linOf, stridesOf, subtractLin, type Lin } from './indexing.ts';
import { add, int, mul, num, type Expr, type Stmt } from './loops.ts';

/** Where a term's output coordinates land: a buffer, a base offset and one stride per coordinate. */
export interface Target {
  readonly buf: string;
  readonly base: Expr;
  readonly strides: readonly Expr[];
  /** For Hessian blocks: how many leading coordinates belong to the row parameter. */
  readonly rowRank?: number;
  /** Diagonal blocks: only entries with column ≥ row are computed. */
  readonly upperOnly?: boolean;
  /**
   * Hessian blocks: where the transposed entry lands (each value is stored at both places);
   * `distinct` for a block off the diagonal, where no entry is its own mirror.
   */
  readonly mirror?: { readonly base: Expr; readonly strides: readonly Expr[]; readonly distinct: boolean };
}

/** What a loop nest needs from the program around it. */
export interface NestContext {
  readonly paramOffset: ReadonlyMap<TNode, number>;
  /** Counter for unique local names across a kernel. */
  readonly counter: { next: number };
}

export function factorLin(node: TNode, idx: readonly Affine[], ctx: NestContext): Lin {
  if (node.kind === 'data') return linOf(idx, stridesOf(node.shape, true), dataBase(node.shape));
  const base = node.kind === 'param' ? num(ctx.paramOffset.get(node)!) : num(0);
  return linOf(idx, stridesOf(node.shape), base);
}

/**
 * Groups terms without sums that run over the same loops into the same output coordinates
 * (after renaming their variables), so that each group becomes one loop nest: one pass instead
 * of several. Terms with a sum stay apart: measured, their own unrolled nests are faster than
 * one nest carrying several sums.
 */
export function fuseTerms(terms: readonly Term[]): Term[][] {
  const groups: Term[][] = [];
  for (const t of terms) {
    let placed = false;
    for (const g of t.sums.length > 0 ? [] : groups) {
      const renamed = alignTo(t, g[0]!);
      if (renamed) {
        g.push(renamed);
        placed = true;
        break;
      }
    }
    if (!placed) groups.push([t]);
  }
  return groups;
}

/** The term with its variables renamed to the leader's, when both have the same loops and outputs. */
function alignTo(t: Term, leader: Term): Term | null {
  const loopsOf = (x: Term) => orderVars([...x.ranges.keys()].filter((v) => !x.sums.includes(v)), x);
  const a = [...loopsOf(leader), ...leader.sums];
  const b = [...loopsOf(t), ...t.sums];
  if (a.length !== b.length || leader.sums.length !== t.sums.length || leader.out.length !== t.out.length) return null;
  const map = new Map<Var, Var>();
  for (let k = 0; k < a.length; k++) {
    const ra = leader.ranges.get(a[k]!)!;
    const rb = t.ranges.get(b[k]!)!;
    if (ra.lo !== rb.lo || ra.hi !== rb.hi) return null;
    map.set(b[k]!, a[k]!);
  }
  const ren = (x: Affine): Affine => (x.v === null ? x : { v: map.get(x.v)!, c: x.c });
  const out = t.out.map(ren);
  if (out.some((o, k) => o.v !== leader.out[k]!.v || o.c !== leader.out[k]!.c)) return null;
  return { ...leader, coef: t.coef, factors: t.factors.map((f) => ({ node: f.node, idx: f.idx.map(ren) })) };
}

/** Emits terms that share their loops (see fuseTerms) as one loop nest accumulating into the target. */
export function emitTerms(parts: readonly Term[], target: Target, body: Stmt[], deps: TNode[], ctx: NestContext, assign = false): void {
  const t = parts[0]!;
  const sums = t.sums;
  const loops = orderVars([...t.ranges.keys()].filter((v) => !sums.includes(v)), t);
  const order = [...loops, ...sums];
  const L = loops.length;
  const level = new Map<Var, number>(order.map((v, k) => [v, k]));
  const names = new Map<Var, string>(order.map((v, k) => [v, `i${k}`]));
  const varExpr = (v: Var) => int(names.get(v)!);
  const depthOf = (lin: Lin) => Math.max(-1, ...lin.terms.map((x) => level.get(x.v)!));
  /** The part of a linear index that varies from loop level `from` on (all of it for -1). */
  const linExpr = (lin: Lin, from: number): Expr => {
    let e: Expr = from < 0 ? lin.c : num(0);
    for (const x of lin.terms) if (level.get(x.v)! >= from) e = add(e, mul(varExpr(x.v), x.stride));
    return e;
  };

  // Statements hoisted to the top (-1) or to the start of each loop's body.
  const outer: Stmt[] = [];
  const pre: Stmt[][] = order.map(() => []);
  const at = (d: number) => (d < 0 ? outer : pre[d]!);

  // Loads. Inside the summed loops, the part of the index known outside them is hoisted.
  const loadOf = (node: TNode, idx: readonly Affine[]): { expr: Expr; depth: number } => {
    deps.push(node);
    if (node.kind === 'dim') return { expr: node.role ? { k: 'dim', name: node.name, role: node.role } : { k: 'dim', name: node.name }, depth: -1 };
    const lin = factorLin(node, idx, ctx);
    const d = depthOf(lin);
    const buf = bufName(node);
    if (d < L) return { expr: { k: 'load', buf, index: linExpr(lin, -1) }, depth: d };
    const baseLin: Lin = { c: lin.c, terms: lin.terms.filter((x) => level.get(x.v)! < L) };
    const baseE = linExpr(baseLin, -1);
    if (baseE.k === 'num' && baseE.v === 0) return { expr: { k: 'load', buf, index: linExpr(lin, L) }, depth: d };
    const baseName = `b${ctx.counter.next++}`;
    at(depthOf(baseLin)).push({ k: 'let', name: baseName, int: true, value: baseE });
    return { expr: { k: 'load', buf, index: add(int(baseName), linExpr(lin, L)) }, depth: d };
  };

  // Float factors, per term: a product per loop level outside the sums, one product inside them.
  const products = parts.map((part) => {
    const byDepth = new Map<number, Expr[]>();
    for (const f of part.factors) {
      const { expr, depth } = loadOf(f.node, f.idx);
      byDepth.set(depth, [...(byDepth.get(depth) ?? []), expr]);
    }
    let outerProd: Expr = num(part.coef);
    for (let d = -1; d < L; d++) {
      const list = byDepth.get(d);
      if (!list) continue;
      let p: Expr = outerProd;
      for (const e of list) p = mul(p, e);
      const name = `p${ctx.counter.next++}`;
      at(d).push({ k: 'let', name, int: false, value: p });
      outerProd = { k: 'local', name };
    }
    let innerProd: Expr = num(1);
    for (let d = L; d < order.length; d++) for (const e of byDepth.get(d) ?? []) innerProd = mul(innerProd, e);
    return { outerProd, innerProd, acc: `acc${ctx.counter.next++}` };
  });
  const total = (f: (p: (typeof products)[number]) => Expr): Expr => products.map(f).reduce((x, y) => add(x, y));

  const outIndex = linExpr(linOf(t.out, target.strides, target.base), -1);
  const lowerBound = new Map<number, Expr>();
  if (target.upperOnly) {
    // Skip entries below the diagonal (their mirror image is computed); decided at compile
    // time when the column minus the row is a constant.
    const g = symmetryGuard(t, target);
    const diff = subtractLin(g.col, g.row);
    if (diff.terms.length === 0) {
      if ((diff.c as { v: number }).v < 0) return;
    } else {
      const gd = Math.max(...diff.terms.map((x) => level.get(x.v)!));
      const inner = diff.terms.find((x) => level.get(x.v) === gd)!;
      if ((inner.stride as { v: number }).v === 1) {
        // col − row = v + rest ≥ 0: start the loop over v at −rest instead of skipping.
        const rest = diff.terms.filter((x) => x !== inner);
        const neg: Lin = { c: num(-(diff.c as { v: number }).v), terms: rest.map((x) => ({ v: x.v, stride: num(-(x.stride as { v: number }).v) })) };
        const bound = linExpr(neg, -1);
        // A constant bound at or past the loop's end: the term has no entry on or above the diagonal.
        const r = t.ranges.get(order[gd]!)!;
        if (bound.k === 'num' && typeof r.hi === 'number' && bound.v >= r.hi) return;
        lowerBound.set(gd, bound);
      } else at(gd).unshift({ k: 'skipIfLess', a: linExpr(diff, -1), b: num(0) });
    }
  }
  const from = (d: number, lo: number): Expr => {
    const b = lowerBound.get(d);
    if (!b) return num(lo);
    return b.k === 'num' ? num(Math.max(lo, b.v)) : { k: 'max', a: num(lo), b };
  };
  const mirrorIndex = target.mirror ? linExpr(linOf(t.out, target.mirror.strides, target.mirror.base), -1) : null;
  // An entry that is its own mirror (on the diagonal for every iteration) is stored once.
  const store = (value: Expr): Stmt =>
    mirrorIndex && JSON.stringify(mirrorIndex) !== JSON.stringify(outIndex)
      ? { k: 'storeSym', buf: target.buf, index: outIndex, mirror: mirrorIndex, value, ...(target.mirror!.distinct ? { distinct: true } : {}) }
      : { k: 'store', buf: target.buf, index: outIndex, value, accumulate: !assign };

  const sumNest = (d: number): Stmt[] => {
    if (d === order.length) return products.map((p): Stmt => ({ k: 'update', name: p.acc, op: '+', value: p.innerProd }));
    const r = t.ranges.get(order[d]!)!;
    return [{ k: 'for', kind: 'reduction', v: names.get(order[d]!)!, from: num(r.lo), to: extentExpr(r.hi), body: [...pre[d]!, ...sumNest(d + 1)] }];
  };
  const build = (d: number): Stmt[] => {
    if (d === L) {
      if (sums.length === 0) return [store(total((p) => p.outerProd))];
      const result = store(total((p) => mul(p.outerProd, { k: 'local', name: p.acc })));
      if (sums.length === 1) {
        const r = t.ranges.get(sums[0]!)!;
        const v = names.get(sums[0]!)!;
        const reduce: Stmt =
          products.length === 1
            ? { k: 'reduce', name: products[0]!.acc, v, from: num(r.lo), to: extentExpr(r.hi), value: products[0]!.innerProd }
            : { k: 'reduceN', names: products.map((p) => p.acc), v, from: num(r.lo), to: extentExpr(r.hi), values: products.map((p) => p.innerProd) };
        return [reduce, result];
      }
      return [...products.map((p): Stmt => ({ k: 'var', name: p.acc, value: num(0) })), ...sumNest(L), result];
    }
    const r = t.ranges.get(order[d]!)!;
    const v = names.get(order[d]!)!;
    const loopBody = [...pre[d]!, ...build(d + 1)];
    return [{ k: 'for', kind: 'parallel', v, from: from(d, r.lo), to: extentExpr(r.hi), body: loopBody }];
  };
  const nest = build(0);
  body.push({ k: 'block', body: [...outer, ...nest], comment: parts.map((p) => termText(p, target.buf, names)).join('\n') });
}

/** Diagonal blocks: the flat row and column positions inside the parameter (same shape). */
function symmetryGuard(t: Term, target: Target): { row: Lin; col: Lin } {
  const rr = target.rowRank!;
  const strides = target.strides.slice(rr);
  return { row: linOf(t.out.slice(0, rr), strides, num(0)), col: linOf(t.out.slice(rr), strides, num(0)) };
}

/** A term in index notation, with the loop variables' names: `t5[i0, i1] += 2 · Σ_i2 X[i0, i2]·W[i2, i1]`. */
function termText(t: Term, buf: string, names: ReadonlyMap<Var, string>): string {
  const a = (x: Affine) => (x.v === null ? String(x.c) : x.c === 0 ? names.get(x.v)! : `${names.get(x.v)!}${x.c > 0 ? '+' : ''}${x.c}`);
  const nodeName = (f: Term['factors'][number]) =>
    f.node.kind === 'dim' && f.node.role ? `${f.node.role}_${f.node.name}` : f.node.kind === 'param' || f.node.kind === 'data' || f.node.kind === 'dim' ? f.node.name : bufName(f.node);
  const factors = t.factors.map((f) => (f.idx.length ? `${nodeName(f)}[${f.idx.map(a).join(', ')}]` : nodeName(f)));
  const ranges = [...t.ranges.entries()]
    .filter(([, r]) => r.lo !== 0)
    .map(([v, r]) => `${names.get(v)} ≥ ${r.lo}`);
  const sum = t.sums.length ? `Σ_${t.sums.map((v) => names.get(v)!).join(',')} ` : '';
  const prod = [...(t.coef !== 1 || factors.length === 0 ? [String(t.coef)] : []), ...factors].join('·');
  const out = t.out.length ? `${buf}[${t.out.map(a).join(', ')}]` : buf;
  return `${out} += ${sum}${prod}${ranges.length ? `  (${ranges.join(', ')})` : ''}`;
}
