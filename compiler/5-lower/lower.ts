// Index form -> loops. Each term of each output (value, gradient block, Hessian block) and of
// each materialized tensor becomes one loop nest:
//  1. contraction: a summed index whose factors do not involve every loop of the term is
//     contracted first into an intermediate tensor (cheapest first, like a contraction-order
//     search); intermediates are hash-consed, so backpropagated quantities are shared;
//  2. for Hessian terms with a batch sum, the factors that depend only on the row (P) indices and
//     only on the column (Q) indices are packed into two intermediates with the summed index
//     innermost: each Hessian entry is then a dot product of two contiguous rows;
//  3. factors are hoisted to the outermost loop where their indices are known; diagonal blocks
//     compute their upper triangle and are mirrored, other nonzero blocks are mirrored too.

import type { Dim } from '../2-ir/graph.ts';
import { aff, type ParamNode, type Affine, type Formula, type Range, type TNode, type Term, type Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';
import { add, int, mul, num, type Buffer, type Entry, type Expr, type Kernel, type Program, type Stmt } from './loops.ts';

/** Where a term's output coordinates land: a buffer, a base offset and one stride per coordinate. */
interface Target {
  readonly buf: string;
  readonly base: Expr;
  readonly strides: readonly Expr[];
  /** For Hessian blocks: how many leading coordinates belong to the row parameter. */
  readonly rowRank?: number;
  /** Diagonal blocks: only entries with column ≥ row are computed. */
  readonly upperOnly?: boolean;
}

export interface LowerInput {
  readonly nodes: NodeTable;
  readonly params: readonly ParamNode[];
  readonly value: Formula;
  readonly gradients: readonly Formula[];
  /** hessians[i][j] for i <= j: d²f / dP_i dP_j. */
  readonly hessians: readonly (readonly Formula[])[];
}

const SYMBOLIC_GUESS = 1000; // planning size of a run-time dimension

function extent(r: Range): number {
  return typeof r.hi === 'number' ? r.hi - r.lo : SYMBOLIC_GUESS;
}

function dimExpr(d: Dim): Expr {
  return typeof d === 'number' ? num(d) : { k: 'dim', name: d };
}

function stridesOf(shape: readonly Dim[]): Expr[] {
  const strides: Expr[] = [];
  let s: Expr = num(1);
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s = mul(s, dimExpr(shape[k]!));
  }
  return strides;
}

const bufName = (node: TNode): string => (node.kind === 'param' ? 'theta' : node.kind === 'data' ? `d_${node.name}` : `t${node.id}`);

export function lower(input: LowerInput): Program {
  const { nodes, params } = input;
  const offsets: number[] = [];
  let n = 0;
  for (const p of params) {
    offsets.push(n);
    n += p.shape.reduce<number>((a, b) => a * (b as number), 1);
  }
  const paramOffset = new Map<TNode, number>(params.map((p, k) => [p, offsets[k]!]));
  const kernels: Kernel[] = [];
  const kernelDeps = new Map<string, TNode[]>();
  const materialized = new Map<TNode, string>(); // node -> kernel name
  const notes: string[] = [];

  // ---- per-term planning -------------------------------------------------------------------

  /** Contracts summed indices that do not span every loop of the term into intermediates. */
  function contract(t0: Term): Term {
    let t = t0;
    // Σ over a fixed-size index that no factor uses is a count.
    for (const x of t.sums) {
      const r = t.ranges.get(x)!;
      if (typeof r.hi === 'number' && t.factors.every((f) => !f.idx.some((a) => a.v === x))) {
        const ranges = new Map(t.ranges);
        ranges.delete(x);
        t = { ...t, coef: t.coef * (r.hi - r.lo), sums: t.sums.filter((s) => s !== x), ranges };
      }
    }
    for (;;) {
      const all = [...t.ranges.keys()];
      let best: { x: Var; cost: number; fs: number[]; vars: Var[] } | null = null;
      for (const x of t.sums) {
        const fs = t.factors.map((f, k) => (f.idx.some((a) => a.v === x) ? k : -1)).filter((k) => k >= 0);
        if (fs.length === 0) continue;
        const vs = new Set<Var>();
        for (const k of fs) for (const a of t.factors[k]!.idx) if (a.v !== null) vs.add(a.v);
        if (all.every((v) => vs.has(v))) continue; // this is the final loop nest itself
        let cost = 1;
        for (const v of vs) cost *= extent(t.ranges.get(v)!);
        if (!best || cost < best.cost) {
          vs.delete(x);
          best = { x, cost, fs, vars: orderVars([...vs], t) };
        }
      }
      if (!best) return t;
      const { x, fs, vars } = best;
      const ranges = new Map<Var, Range>();
      for (const v of [...vars, x]) ranges.set(v, t.ranges.get(v)!);
      const shape = vars.map((v) => t.ranges.get(v)!.hi);
      const inter = nodes.poly({
        shape,
        terms: [{ coef: 1, factors: fs.map((k) => t.factors[k]!), sums: [x], out: vars.map(aff), ranges }],
      });
      const rest = new Map(t.ranges);
      rest.delete(x);
      t = {
        ...t,
        factors: [...t.factors.filter((_, k) => !fs.includes(k)), { node: inter, idx: vars.map(aff) }],
        sums: t.sums.filter((s) => s !== x),
        ranges: rest,
      };
    }
  }

  /** Loop order: variables in the order of the output coordinates, then the others, sums last. */
  function orderVars(vs: Var[], t: Term): Var[] {
    const pos = (v: Var) => {
      const p = t.out.findIndex((o) => o.v === v);
      if (p >= 0) return p;
      const s = t.sums.indexOf(v);
      return s >= 0 ? 1000 + s : 500;
    };
    return [...vs].sort((a, b) => pos(a) - pos(b) || a - b);
  }

  /** Packs the row-only and column-only batch-dependent factors of a Hessian term into intermediates. */
  function packSides(t: Term, rowRank: number): Term {
    if (t.sums.length !== 1) return t;
    const s = t.sums[0]!;
    const rowVars = new Set<Var>();
    const colVars = new Set<Var>();
    t.out.forEach((o, k) => {
      if (o.v !== null) (k < rowRank ? rowVars : colVars).add(o.v);
    });
    const groups: number[][] = [[], []];
    const others: number[] = [];
    t.factors.forEach((f, k) => {
      const vs = f.idx.map((a) => a.v).filter((v): v is Var => v !== null);
      if (!vs.includes(s)) return others.push(k);
      const loopVs = vs.filter((v) => v !== s);
      if (loopVs.every((v) => rowVars.has(v))) groups[0]!.push(k);
      else if (loopVs.every((v) => colVars.has(v))) groups[1]!.push(k);
      else others.push(k);
    });
    let factors = others.map((k) => t.factors[k]!);
    for (const g of groups) {
      if (g.length === 0) continue;
      const fs = g.map((k) => t.factors[k]!);
      const vs = new Set<Var>();
      for (const f of fs) for (const a of f.idx) if (a.v !== null && a.v !== s) vs.add(a.v);
      const vars = [...orderVars([...vs], t), s];
      const single = fs.length === 1 ? fs[0]! : null;
      // A single factor already laid out with s innermost and contiguous needs no copy.
      if (single && single.idx.length > 0 && single.idx[single.idx.length - 1]!.v === s && single.idx.slice(0, -1).every((a) => a.v !== s)) {
        factors.push(single);
        continue;
      }
      const ranges = new Map<Var, Range>();
      for (const v of vars) ranges.set(v, t.ranges.get(v)!);
      const inter = nodes.poly({ shape: vars.map((v) => t.ranges.get(v)!.hi), terms: [{ coef: 1, factors: fs, sums: [], out: vars.map(aff), ranges }] });
      factors.push({ node: inter, idx: vars.map(aff) });
    }
    return { ...t, factors };
  }

  // ---- loop emission -----------------------------------------------------------------------

  let localCounter = 0;

  /** A linear index: constant + Σ var·stride. */
  interface Lin {
    readonly c: Expr;
    readonly terms: readonly { v: Var; stride: Expr }[];
  }
  function linOf(idx: readonly Affine[], strides: readonly Expr[], base: Expr): Lin {
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

  function factorLin(node: TNode, idx: readonly Affine[]): Lin {
    const base = node.kind === 'param' ? num(paramOffset.get(node)!) : num(0);
    return linOf(idx, stridesOf(node.shape), base);
  }

  /** Emits one term as a loop nest that accumulates into the target. */
  function emitTerm(t: Term, target: Target, body: Stmt[], deps: TNode[]): void {
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
      if (node.kind === 'dim') return { expr: { k: 'dim', name: node.name }, depth: -1 };
      const lin = factorLin(node, idx);
      const d = depthOf(lin);
      const buf = bufName(node);
      if (d < L) return { expr: { k: 'load', buf, index: linExpr(lin, -1) }, depth: d };
      const baseLin: Lin = { c: lin.c, terms: lin.terms.filter((x) => level.get(x.v)! < L) };
      const baseE = linExpr(baseLin, -1);
      if (baseE.k === 'num' && baseE.v === 0) return { expr: { k: 'load', buf, index: linExpr(lin, L) }, depth: d };
      const baseName = `b${localCounter++}`;
      at(depthOf(baseLin)).push({ k: 'let', name: baseName, int: true, value: baseE });
      return { expr: { k: 'load', buf, index: add(int(baseName), linExpr(lin, L)) }, depth: d };
    };

    // Float factors: a product per loop level outside the sums, one product inside them.
    const byDepth = new Map<number, Expr[]>();
    for (const f of t.factors) {
      const { expr, depth } = loadOf(f.node, f.idx);
      byDepth.set(depth, [...(byDepth.get(depth) ?? []), expr]);
    }
    let outerProd: Expr = num(t.coef);
    for (let d = -1; d < L; d++) {
      const list = byDepth.get(d);
      if (!list) continue;
      let p: Expr = outerProd;
      for (const e of list) p = mul(p, e);
      const name = `p${localCounter++}`;
      at(d).push({ k: 'let', name, int: false, value: p });
      outerProd = { k: 'local', name };
    }
    let innerProd: Expr = num(1);
    for (let d = L; d < order.length; d++) for (const e of byDepth.get(d) ?? []) innerProd = mul(innerProd, e);

    const outIndex = linExpr(linOf(t.out, target.strides, target.base), -1);
    if (target.upperOnly) {
      const g = symmetryGuard(t, target);
      if (g.depth >= 0) {
        const gd = Math.max(...g.vars.map((v) => level.get(v)!));
        at(gd).unshift({ k: 'skipIfLess', a: linExpr(g.col, -1), b: linExpr(g.row, -1) });
      } else if ((g.col.c as { v: number }).v < (g.row.c as { v: number }).v) {
        return; // a constant entry below the diagonal: its mirror is computed
      }
    }

    const accName = `acc${localCounter++}`;
    const sumNest = (d: number): Stmt[] => {
      if (d === order.length) return [{ k: 'update', name: accName, op: '+', value: innerProd }];
      const r = t.ranges.get(order[d]!)!;
      return [{ k: 'for', v: names.get(order[d]!)!, from: num(r.lo), to: dimExpr(r.hi), body: [...pre[d]!, ...sumNest(d + 1)] }];
    };
    const build = (d: number): Stmt[] => {
      if (d === L) {
        if (sums.length === 0) return [{ k: 'store', buf: target.buf, index: outIndex, value: outerProd, accumulate: true }];
        return [
          { k: 'var', name: accName, value: num(0) },
          ...sumNest(L),
          { k: 'store', buf: target.buf, index: outIndex, value: mul(outerProd, { k: 'local', name: accName }), accumulate: true },
        ];
      }
      const r = t.ranges.get(order[d]!)!;
      return [{ k: 'for', v: names.get(order[d]!)!, from: num(r.lo), to: dimExpr(r.hi), body: [...pre[d]!, ...build(d + 1)] }];
    };
    const nest = build(0);
    body.push({ k: 'block', body: [...outer, ...nest] });
  }

  /** Diagonal blocks: the flat row and column positions inside the parameter (same shape). */
  function symmetryGuard(t: Term, target: Target): { depth: number; vars: Var[]; row: Lin; col: Lin } {
    const rr = target.rowRank!;
    const strides = target.strides.slice(rr);
    const row = linOf(t.out.slice(0, rr), strides, num(0));
    const col = linOf(t.out.slice(rr), strides, num(0));
    const vars = [...row.terms, ...col.terms].map((x) => x.v);
    return { depth: vars.length > 0 ? 1 : -1, vars, row, col };
  }

  // ---- kernels -----------------------------------------------------------------------------

  function emitFormula(name: string, comment: string, f: Formula, target: Target, fill: boolean): string {
    const body: Stmt[] = [];
    const deps: TNode[] = [];
    if (fill) body.push({ k: 'fill', buf: target.buf, value: 0 });
    for (const t0 of f.terms) {
      let t = contract(t0);
      if (target.rowRank !== undefined) t = packSides(t, target.rowRank);
      emitTerm(t, target, body, deps);
    }
    kernels.push({ name, comment, body });
    kernelDeps.set(name, deps);
    return name;
  }

  function materialize(node: TNode): void {
    if (materialized.has(node) || node.kind === 'param' || node.kind === 'data' || node.kind === 'dim') return;
    const buf = bufName(node);
    const name = `k${node.id}`;
    materialized.set(node, name);
    if (node.kind === 'poly') {
      emitFormula(name, `${buf}${shapeText(node.shape)}: ${node.formula.terms.length} term(s)`, node.formula, { buf, base: num(0), strides: stridesOf(node.shape) }, true);
      for (const d of kernelDeps.get(name)!) materialize(d);
      return;
    }
    const arg = node.arg;
    const body: Stmt[] = [];
    const shape = node.kind === 'map' ? node.shape : arg.shape;
    const vars = shape.map((_, k) => `i${k}`);
    const argIndex = linExprOfNames(vars, stridesOf(arg.shape), arg.kind === 'param' ? paramOffset.get(arg)! : 0);
    const load: Expr = arg.kind === 'dim' ? { k: 'dim', name: arg.name } : { k: 'load', buf: bufName(arg), index: argIndex };
    let inner: Stmt[];
    let prefix: Stmt[] = [];
    if (node.kind === 'map') {
      inner = [{ k: 'store', buf, index: linExprOfNames(vars, stridesOf(node.shape), 0), value: { k: 'call', fn: node.fn, arg: load }, accumulate: false }];
      body.push(...nest(vars, shape, inner));
    } else {
      // max: over all elements, or along one axis of a matrix
      const axis = node.axis;
      if (axis === null || shape.length <= 1) {
        prefix = [{ k: 'var', name: 'm', value: num(-Infinity) }];
        inner = [{ k: 'update', name: 'm', op: 'max', value: load }];
        body.push(...prefix, ...nest(vars, shape, inner), { k: 'store', buf, index: num(0), value: { k: 'local', name: 'm' }, accumulate: false });
      } else {
        const keep = axis === 0 ? 1 : 0;
        const innerLoop: Stmt = { k: 'for', v: vars[axis]!, from: num(0), to: dimExpr(shape[axis]!), body: [{ k: 'update', name: 'm', op: 'max', value: load }] };
        body.push({
          k: 'for', v: vars[keep]!, from: num(0), to: dimExpr(shape[keep]!),
          body: [{ k: 'var', name: 'm', value: num(-Infinity) }, innerLoop, { k: 'store', buf, index: int(vars[keep]!), value: { k: 'local', name: 'm' }, accumulate: false }],
        });
      }
    }
    kernels.push({ name, comment: `${buf}${shapeText(node.shape)} = ${node.kind === 'map' ? fnText(node.fn) : 'max'}(${bufName(arg)})`, body });
    kernelDeps.set(name, [arg]);
    materialize(arg);
  }

  // ---- outputs -------------------------------------------------------------------------------

  const entryKernels: Record<'value' | 'gradient' | 'hessian', string[]> = { value: [], gradient: [], hessian: [] };
  entryKernels.value.push(emitFormula('value', 'the objective', input.value, { buf: 'value', base: num(0), strides: [] }, true));
  input.gradients.forEach((g, k) => {
    const p = params[k]!;
    entryKernels.gradient.push(
      emitFormula(`grad_${p.name}`, `gradient block of ${p.name}`, g, { buf: 'gradient', base: num(offsets[k]!), strides: stridesOf(p.shape) }, false),
    );
  });
  let nonzero = 0;
  let blocks = 0;
  const mirrors: Stmt[] = [];
  params.forEach((P, i) => {
    params.forEach((Q, j) => {
      if (j < i) return;
      blocks++;
      const h = input.hessians[i]![j]!;
      if (h.terms.length === 0) return;
      nonzero++;
      const rowStrides = stridesOf(P.shape).map((s) => mul(s, num(n)));
      const target: Target = {
        buf: 'hessian', base: num(offsets[i]! * n + offsets[j]!), strides: [...rowStrides, ...stridesOf(Q.shape)],
        rowRank: P.shape.length, upperOnly: i === j,
      };
      entryKernels.hessian.push(emitFormula(`hess_${P.name}_${Q.name}`, `Hessian block (${P.name}, ${Q.name}): ${h.terms.length} term(s)`, h, target, false));
      mirrors.push(mirrorBlock(offsets[i]!, sizeOf(P), offsets[j]!, sizeOf(Q), i === j, n));
    });
  });
  kernels.push({ name: 'hess_mirror', comment: 'copy the computed triangle and blocks to their mirror images', body: mirrors });
  kernelDeps.set('hess_mirror', []);
  notes.push(`${nonzero} of ${blocks} Hessian blocks are nonzero`);

  for (const k of [...entryKernels.value, ...entryKernels.gradient, ...entryKernels.hessian]) for (const d of kernelDeps.get(k)!) materialize(d);

  // Entry point order: dependencies first (depth-first, post-order), each kernel once.
  const byName = new Map(kernels.map((k) => [k.name, k]));
  const schedule = (roots: string[]): string[] => {
    const seen = new Set<string>();
    const out: string[] = [];
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const d of kernelDeps.get(name)!) {
        const kn = materialized.get(d);
        if (kn) visit(kn);
      }
      out.push(name);
    };
    roots.forEach(visit);
    return out;
  };
  const hessRoots = [...entryKernels.hessian, 'hess_mirror'];
  const entries: Record<Entry, string[]> = {
    value: schedule(entryKernels.value),
    gradient: schedule(entryKernels.gradient),
    hessian: schedule(hessRoots),
    evaluate: schedule([...entryKernels.value, ...entryKernels.gradient, ...hessRoots]),
  };
  const used = new Set(Object.values(entries).flat());

  // Buffers: theta, data, every temp used by a scheduled kernel.
  const buffers: Buffer[] = [{ name: 'theta', kind: 'theta', shape: [n] }];
  for (const node of nodes.nodes) {
    if (node.kind === 'data') buffers.push({ name: bufName(node), kind: 'data', shape: node.shape, scalar: node.shape.length === 0 });
  }
  for (const node of nodes.nodes) {
    const kn = materialized.get(node);
    if (kn && used.has(kn)) buffers.push({ name: bufName(node), kind: 'temp', shape: node.shape });
  }
  buffers.push({ name: 'value', kind: 'value', shape: [1] }, { name: 'gradient', kind: 'gradient', shape: [n] }, { name: 'hessian', kind: 'hessian', shape: [n * n] });
  return { n, buffers, kernels: kernels.filter((k) => used.has(k.name) && byName.has(k.name)), entries, notes };
}

function sizeOf(p: TNode): number {
  return p.shape.reduce<number>((a, b) => a * (b as number), 1);
}

function shapeText(shape: readonly Dim[]): string {
  return shape.length === 0 ? '' : `[${shape.join(', ')}]`;
}

function fnText(fn: { name: string; p: number }): string {
  return fn.name === 'pow' ? `pow_${fn.p}` : fn.name;
}

function linExprOfNames(vars: readonly string[], strides: readonly Expr[], base: number): Expr {
  let e: Expr = num(base);
  vars.forEach((v, k) => (e = add(e, mul(int(v), strides[k]!))));
  return e;
}

function nest(vars: readonly string[], shape: readonly Dim[], inner: Stmt[]): Stmt[] {
  let body = inner;
  for (let k = vars.length - 1; k >= 0; k--) body = [{ k: 'for', v: vars[k]!, from: num(0), to: dimExpr(shape[k]!), body }];
  return body;
}

/** Copies block (rows r0.., cols c0..) to its transpose; for a diagonal block, the upper triangle down. */
function mirrorBlock(r0: number, rn: number, c0: number, cn: number, diagonal: boolean, n: number): Stmt {
  const i = int('i');
  const j = int('j');
  const src = add(mul(add(num(r0), i), num(n)), add(num(c0), j));
  const dst = add(mul(add(num(c0), j), num(n)), add(num(r0), i));
  return {
    k: 'for', v: 'i', from: num(0), to: num(rn),
    body: [{
      k: 'for', v: 'j', from: diagonal ? add(i, num(1)) : num(0), to: num(cn),
      body: [{ k: 'store', buf: 'hessian', index: dst, value: { k: 'load', buf: 'hessian', index: src }, accumulate: false }],
    }],
  };
}
