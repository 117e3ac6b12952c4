// Index form -> loops. Each term of each output (value, gradient block, Hessian block) and of
// each materialized tensor becomes one loop nest, after 4-simplify has factored out its shared
// intermediates. Factors are hoisted to the outermost loop where their indices are known and
// index arithmetic is split the same way; a term with one summed index becomes a `reduce`.
// Diagonal Hessian blocks compute their upper triangle only; every Hessian value is stored at
// its entry and at the mirror entry, so both triangles are exactly equal with no extra pass.

import type { Dim } from '../2-ir/graph.ts';
import { aff, type ParamNode, type Affine, type Formula, type Range, type TNode, type Term, type Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';
import { contract, orderVars, packSides } from '../4-simplify/contract.ts';
import { add, int, mul, num, type Buffer, type Entry, type Expr, type Kernel, type Program, type Schedule, type Stmt } from './loops.ts';

/** Where a term's output coordinates land: a buffer, a base offset and one stride per coordinate. */
interface Target {
  readonly buf: string;
  readonly base: Expr;
  readonly strides: readonly Expr[];
  /** For Hessian blocks: how many leading coordinates belong to the row parameter. */
  readonly rowRank?: number;
  /** Diagonal blocks: only entries with column ≥ row are computed. */
  readonly upperOnly?: boolean;
  /** Hessian blocks: where the transposed entry lands (each value is stored at both places). */
  readonly mirror?: { readonly base: Expr; readonly strides: readonly Expr[] };
}

export interface LowerInput {
  readonly nodes: NodeTable;
  readonly params: readonly ParamNode[];
  readonly value: Formula;
  readonly gradients: readonly Formula[];
  /** hessians[i][j] for i <= j: d²f / dP_i dP_j. */
  readonly hessians: readonly (readonly Formula[])[];
  readonly symbolicDims: readonly string[];
}

function dimExpr(d: Dim): Expr {
  return typeof d === 'number' ? num(d) : { k: 'dim', name: d };
}

/** Loop bound along a dimension: a symbolic one is the current chunk's length. */
function extentExpr(d: Dim): Expr {
  return typeof d === 'number' ? num(d) : { k: 'extent', name: d };
}

/**
 * Row-major strides. Workspaces hold one chunk of a symbolic dimension (`extent`); the user's
 * data arrays hold all of it (`dim`).
 */
function stridesOf(shape: readonly Dim[], whole = false): Expr[] {
  const strides: Expr[] = [];
  let s: Expr = num(1);
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s = mul(s, whole ? dimExpr(shape[k]!) : extentExpr(shape[k]!));
  }
  return strides;
}

/** Where the current chunk starts inside a data array. */
function dataBase(shape: readonly Dim[]): Expr {
  const strides = stridesOf(shape, true);
  let base: Expr = num(0);
  shape.forEach((d, k) => {
    if (typeof d === 'string') base = add(base, mul({ k: 'offset', name: d }, strides[k]!));
  });
  return base;
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
    if (node.kind === 'data') return linOf(idx, stridesOf(node.shape, true), dataBase(node.shape));
    const base = node.kind === 'param' ? num(paramOffset.get(node)!) : num(0);
    return linOf(idx, stridesOf(node.shape), base);
  }

  /** Emits one term as a loop nest that accumulates into the target. */
  function emitTerm(t: Term, target: Target, body: Stmt[], deps: TNode[], assign = false): void {
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
          lowerBound.set(gd, linExpr(neg, -1));
        } else at(gd).unshift({ k: 'skipIfLess', a: linExpr(g.col, -1), b: linExpr(g.row, -1) });
      }
    }
    const from = (d: number, lo: number): Expr => {
      const b = lowerBound.get(d);
      if (!b) return num(lo);
      return b.k === 'num' ? num(Math.max(lo, b.v)) : { k: 'max', a: num(lo), b };
    };
    const store = (value: Expr): Stmt =>
      target.mirror
        ? { k: 'storeSym', buf: target.buf, index: outIndex, mirror: linExpr(linOf(t.out, target.mirror.strides, target.mirror.base), -1), value }
        : { k: 'store', buf: target.buf, index: outIndex, value, accumulate: !assign };

    const accName = `acc${localCounter++}`;
    const sumNest = (d: number): Stmt[] => {
      if (d === order.length) return [{ k: 'update', name: accName, op: '+', value: innerProd }];
      const r = t.ranges.get(order[d]!)!;
      return [{ k: 'for', v: names.get(order[d]!)!, from: num(r.lo), to: extentExpr(r.hi), body: [...pre[d]!, ...sumNest(d + 1)] }];
    };
    const build = (d: number): Stmt[] => {
      if (d === L) {
        if (sums.length === 0) return [store(outerProd)];
        const acc: Expr = { k: 'local', name: accName };
        if (sums.length === 1) {
          const r = t.ranges.get(sums[0]!)!;
          return [
            { k: 'reduce', name: accName, v: names.get(sums[0]!)!, from: num(r.lo), to: extentExpr(r.hi), value: innerProd },
            store(mul(outerProd, acc)),
          ];
        }
        return [{ k: 'var', name: accName, value: num(0) }, ...sumNest(L), store(mul(outerProd, acc))];
      }
      const r = t.ranges.get(order[d]!)!;
      return [{ k: 'for', v: names.get(order[d]!)!, from: from(d, r.lo), to: extentExpr(r.hi), body: [...pre[d]!, ...build(d + 1)] }];
    };
    const nest = build(0);
    body.push({ k: 'block', body: [...outer, ...nest], comment: termText(t, target.buf, names) });
  }

  /** Diagonal blocks: the flat row and column positions inside the parameter (same shape). */
  function symmetryGuard(t: Term, target: Target): { row: Lin; col: Lin } {
    const rr = target.rowRank!;
    const strides = target.strides.slice(rr);
    return { row: linOf(t.out.slice(0, rr), strides, num(0)), col: linOf(t.out.slice(rr), strides, num(0)) };
  }

  /** a − b for linear indices with constant strides (the symmetry guard's strides are numbers). */
  function subtractLin(a: Lin, b: Lin): Lin {
    const terms = a.terms.map((x) => ({ ...x }));
    for (const y of b.terms) {
      const found = terms.find((x) => x.v === y.v);
      if (found) found.stride = num((found.stride as { v: number }).v - (y.stride as { v: number }).v);
      else terms.push({ v: y.v, stride: num(-(y.stride as { v: number }).v) });
    }
    return { c: num((a.c as { v: number }).v - (b.c as { v: number }).v), terms: terms.filter((x) => (x.stride as { v: number }).v !== 0) };
  }

  // ---- kernels -----------------------------------------------------------------------------

  /**
   * One kernel for the terms of a formula; two when the output is a sum over the batch that
   * also has terms without the batch (those must run once, not once per chunk). Returns the
   * kernels in order: the last one completes the output.
   */
  function emitFormula(name: string, comment: string, f: Formula, target: Target, fill: boolean): string[] {
    const terms = f.terms.map((t0) => {
      const t = contract(t0, nodes);
      return target.rowRank !== undefined ? packSides(t, target.rowRank, nodes) : t;
    });
    const B = input.symbolicDims.length === 1 ? input.symbolicDims[0]! : null;
    const overBatch = (t: Term) => [...t.ranges.values()].some((r) => r.hi === B);
    const split = B !== null && !f.shape.includes(B) && terms.some(overBatch) && !terms.every(overBatch);
    const groups = split ? [terms.filter(overBatch), terms.filter((t) => !overBatch(t))] : [terms];
    return groups.map((group, g) => {
      const kname = g === 0 ? name : `${name}_once`;
      const body: Stmt[] = [];
      const deps: TNode[] = [];
      // A first term that writes every element assigns, and nothing needs clearing first.
      const first = fill && g === 0;
      const assignFirst = first && group.length > 0 && covers(group[0]!, f.shape);
      if (first && !assignFirst) body.push({ k: 'fill', buf: target.buf, value: 0 });
      group.forEach((t, k) => emitTerm(t, target, body, deps, assignFirst && k === 0));
      kernels.push({ name: kname, comment: g === 0 ? comment : `${comment}, the terms without the batch`, body });
      kernelDeps.set(kname, deps);
      if (g > 0) runAfter.set(kname, [name]);
      kernelOut.set(kname, target.buf);
      return kname;
    });
  }

  /** Kernels that must run after others beyond what their inputs say (a split formula's parts). */
  const runAfter = new Map<string, string[]>();
  /** The buffer each formula kernel writes. */
  const kernelOut = new Map<string, string>();

  function materialize(node: TNode): void {
    if (materialized.has(node) || node.kind === 'param' || node.kind === 'data' || node.kind === 'dim') return;
    const buf = bufName(node);
    const name = `k${node.id}`;
    materialized.set(node, name);
    if (node.kind === 'poly') {
      const parts = emitFormula(name, `${buf}${shapeText(node.shape)}: ${node.formula.terms.length} term(s)`, node.formula, { buf, base: num(0), strides: stridesOf(node.shape) }, true);
      materialized.set(node, parts[parts.length - 1]!);
      for (const k of parts) for (const d of kernelDeps.get(k)!) materialize(d);
      return;
    }
    const arg = node.arg;
    if (node.kind === 'map') {
      // Maps of the same argument share one loop (and, within a family, one call).
      const group = `map${arg.id}`;
      materialized.set(node, group);
      const members = mapGroups.get(arg) ?? [];
      members.push(node);
      mapGroups.set(arg, members);
      kernelDeps.set(group, [arg]);
      materialize(arg);
      return;
    }
    const body: Stmt[] = [];
    const shape = arg.shape;
    const vars = shape.map((_, k) => `i${k}`);
    const load = argLoad(arg, vars);
    // max: over all elements, or along one axis of a matrix
    const axis = node.kind === 'max' ? node.axis : null;
    if (axis === null || shape.length <= 1) {
      body.push(
        { k: 'var', name: 'm', value: num(-Infinity) },
        ...nest(vars, shape, [{ k: 'update', name: 'm', op: 'max', value: load }]),
        { k: 'store', buf, index: num(0), value: { k: 'local', name: 'm' }, accumulate: false },
      );
    } else {
      const keep = axis === 0 ? 1 : 0;
      const innerLoop: Stmt = { k: 'for', v: vars[axis]!, from: num(0), to: extentExpr(shape[axis]!), body: [{ k: 'update', name: 'm', op: 'max', value: load }] };
      body.push({
        k: 'for', v: vars[keep]!, from: num(0), to: extentExpr(shape[keep]!),
        body: [{ k: 'var', name: 'm', value: num(-Infinity) }, innerLoop, { k: 'store', buf, index: int(vars[keep]!), value: { k: 'local', name: 'm' }, accumulate: false }],
      });
    }
    kernels.push({ name, comment: `${buf}${shapeText(node.shape)} = max(${bufName(arg)})`, body });
    kernelDeps.set(name, [arg]);
    materialize(arg);
  }

  const mapGroups = new Map<TNode, TNode[]>();

  function argLoad(arg: TNode, vars: readonly string[]): Expr {
    if (arg.kind === 'dim') return { k: 'dim', name: arg.name };
    const whole = arg.kind === 'data';
    const base = arg.kind === 'param' ? num(paramOffset.get(arg)!) : whole ? dataBase(arg.shape) : num(0);
    return { k: 'load', buf: bufName(arg), index: add(base, linExprOfNames(vars, stridesOf(arg.shape, whole), 0)) };
  }

  function emitMapGroup(arg: TNode, members: TNode[]): void {
    const vars = arg.shape.map((_, k) => `i${k}`);
    const inner: Stmt[] = [{ k: 'let', name: 'x', int: false, value: argLoad(arg, vars) }];
    const fns = members.map((m) => (m as Extract<TNode, { kind: 'map' }>).fn);
    const family = FAMILIES.find((f) => fns.every((fn) => f.members.includes(fn.name)) && fns.length > 1);
    const x: Expr = { k: 'local', name: 'x' };
    const y: Expr = { k: 'local', name: 'y' };
    if (family) inner.push({ k: 'let', name: 'y', int: false, value: { k: 'call', fn: { name: family.members[0]!, p: 0 }, arg: x } });
    const index = linExprOfNames(vars, stridesOf(arg.shape), 0);
    members.forEach((m, k) => {
      const fn = fns[k]!;
      const value = family ? family.of(fn.name, y) : ({ k: 'call', fn, arg: x } as Expr);
      inner.push({ k: 'store', buf: bufName(m), index, value, accumulate: false });
    });
    const what = members.map((m, k) => `${bufName(m)} = ${fnText(fns[k]!)}`).join(', ');
    kernels.push({ name: `map${arg.id}`, comment: `${what} of ${bufName(arg)}${shapeText(arg.shape)}`, body: nest(vars, arg.shape, inner) });
  }

  // ---- outputs -------------------------------------------------------------------------------

  const entryKernels: Record<'value' | 'gradient' | 'hessian', string[]> = { value: [], gradient: [], hessian: [] };
  entryKernels.value.push(...emitFormula('value', 'the objective', input.value, { buf: 'value', base: num(0), strides: [] }, true));
  input.gradients.forEach((g, k) => {
    const p = params[k]!;
    entryKernels.gradient.push(
      ...emitFormula(`grad_${p.name}`, `gradient block of ${p.name}`, g, { buf: 'gradient', base: num(offsets[k]!), strides: stridesOf(p.shape) }, false),
    );
  });
  let nonzero = 0;
  let blocks = 0;
  params.forEach((P, i) => {
    params.forEach((Q, j) => {
      if (j < i) return;
      blocks++;
      const h = input.hessians[i]![j]!;
      if (h.terms.length === 0) return;
      nonzero++;
      const byN = (strides: Expr[]) => strides.map((s) => mul(s, num(n)));
      const target: Target = {
        buf: 'hessian', base: num(offsets[i]! * n + offsets[j]!), strides: [...byN(stridesOf(P.shape)), ...stridesOf(Q.shape)],
        rowRank: P.shape.length, upperOnly: i === j,
        mirror: { base: num(offsets[j]! * n + offsets[i]!), strides: [...stridesOf(P.shape), ...byN(stridesOf(Q.shape))] },
      };
      entryKernels.hessian.push(...emitFormula(`hess_${P.name}_${Q.name}`, `Hessian block (${P.name}, ${Q.name}): ${h.terms.length} term(s)`, h, target, false));
    });
  });
  notes.push(`${nonzero} of ${blocks} Hessian blocks are nonzero`);

  for (const k of [...entryKernels.value, ...entryKernels.gradient, ...entryKernels.hessian]) for (const d of kernelDeps.get(k)!) materialize(d);
  for (const [arg, members] of mapGroups) emitMapGroup(arg, members);

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
      for (const k of runAfter.get(name) ?? []) visit(k);
      out.push(name);
    };
    roots.forEach(visit);
    return out;
  };
  const orders: Record<Entry, string[]> = {
    value: schedule(entryKernels.value),
    gradient: schedule(entryKernels.gradient),
    hessian: schedule(entryKernels.hessian),
    evaluate: schedule([...entryKernels.value, ...entryKernels.gradient, ...entryKernels.hessian]),
  };
  const used = new Set(Object.values(orders).flat());

  // Temps, each with the kernel that writes it.
  const temps: { node: TNode; kernel: string }[] = [];
  for (const node of nodes.nodes) {
    const kn = materialized.get(node);
    if (kn && used.has(kn)) temps.push({ node, kernel: kn });
  }
  const streamed = streamBatch(input.symbolicDims, orders, temps, n);
  const entries = {} as Record<Entry, Schedule>;
  for (const e of Object.keys(orders) as Entry[]) {
    entries[e] = streamed ? streamed.schedules[e] : { pre: orders[e], clear: [], stream: [], post: [] };
  }
  if (streamed) {
    // Kernels that sum over the batch accumulate across chunks: their buffers are cleared once
    // before the chunks, so they neither clear nor assign themselves.
    for (const k of kernels) if (streamed.accumulating.has(k.name)) k.body.splice(0, k.body.length, ...k.body.filter((st) => st.k !== 'fill').map(accumulateStore));
    notes.push(`the batch dimension ${streamed.batch.dim} is streamed in chunks of ${streamed.batch.chunk}`);
  }

  /**
   * Decides whether the single symbolic dimension can be streamed: every kernel that loops over
   * it must depend only on kernels that do not, or that loop over it too (never on a completed
   * sum over it), and sums over it must be plain sums.
   */
  function streamBatch(dims: readonly string[], ords: Record<Entry, string[]>, ts: { node: TNode; kernel: string }[], size: number) {
    if (dims.length !== 1) return null;
    const B = dims[0]!;
    /** How deeply loops over the batch nest in a body (2: elements of the batch meet each other). */
    const batchDepth = (body: readonly Stmt[]): number =>
      Math.max(
        0,
        ...body.map((st) => {
          const own = (st.k === 'for' || st.k === 'reduce') && st.to.k === 'extent' && st.to.name === B ? 1 : 0;
          return own + (st.k === 'for' || st.k === 'block' ? batchDepth(st.body) : 0);
        }),
      );
    const loopsOver = (body: readonly Stmt[]): boolean => {
      const d = batchDepth(body);
      if (d > 1) crossed = true;
      return d > 0;
    };
    let crossed = false;
    const bufShape = new Map<string, readonly Dim[]>(ts.map(({ node }) => [bufName(node), node.shape]));
    const isMax = new Set<string>(ts.filter(({ node }) => node.kind === 'max').map(({ kernel }) => kernel));
    const outShape = (k: string): readonly Dim[] => bufShape.get(kernelOut.get(k) ?? '') ?? ts.find((t) => t.kernel === k)?.node.shape ?? [];
    const accumulating = new Set<string>();
    const schedules = {} as Record<Entry, Schedule>;
    for (const e of Object.keys(ords) as Entry[]) {
      const pre: string[] = [];
      const stream: string[] = [];
      const post: string[] = [];
      const after = new Set<string>(); // kernels whose result needs the whole batch
      for (const k of ords[e]) {
        const deps = [...kernelDeps.get(k)!.map((d) => materialized.get(d)).filter((x): x is string => x !== undefined), ...(runAfter.get(k) ?? [])];
        const needsWhole = deps.some((d) => after.has(d));
        if (loopsOver(byName.get(k)!.body)) {
          if (needsWhole) return null;
          stream.push(k);
          const shape = outShape(k);
          if (!(shape as readonly Dim[]).includes(B)) {
            if (isMax.has(k)) return null;
            accumulating.add(k);
            after.add(k);
          }
        } else if (needsWhole) {
          post.push(k);
          after.add(k);
        } else if (deps.some((d) => stream.includes(d))) {
          return null;
        } else pre.push(k);
      }
      // Outputs the entry point clears itself (gradient, Hessian) are not listed.
      const clear = stream
        .filter((k) => accumulating.has(k))
        .map((k) => kernelOut.get(k))
        .filter((b): b is string => b !== undefined && b !== 'gradient' && b !== 'hessian');
      schedules[e] = { pre, clear, stream, post };
    }
    if (crossed) return null;
    // The largest workspace, per element of the batch, bounds the chunk: no buffer may exceed half
    // the Hessian.
    let perElement = 1;
    for (const { node } of ts) {
      const shape = node.shape as readonly Dim[];
      if (!shape.includes(B)) continue;
      perElement = Math.max(perElement, shape.reduce<number>((a, d) => a * (d === B ? 1 : (d as number)), 1));
    }
    const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.floor((size * size) / 2 / perElement)));
    return { batch: { dim: B, chunk }, schedules, accumulating };
  }

  // Buffers: theta, data, every temp used by a scheduled kernel.
  const buffers: Buffer[] = [{ name: 'theta', kind: 'theta', shape: [n] }];
  for (const node of nodes.nodes) {
    if (node.kind === 'data') buffers.push({ name: bufName(node), kind: 'data', shape: node.shape, scalar: node.shape.length === 0 });
  }
  for (const { node } of temps) buffers.push({ name: bufName(node), kind: 'temp', shape: node.shape });
  buffers.push({ name: 'value', kind: 'value', shape: [1] }, { name: 'gradient', kind: 'gradient', shape: [n] }, { name: 'hessian', kind: 'hessian', shape: [n * n] });
  return { n, buffers, kernels: kernels.filter((k) => used.has(k.name)), entries, batch: streamed?.batch ?? null, notes };
}

/** A term in index notation, with the loop variables' names: `t5[i0, i1] += 2 · Σ_i2 X[i0, i2]·W[i2, i1]`. */
function termText(t: Term, buf: string, names: ReadonlyMap<Var, string>): string {
  const a = (x: Affine) => (x.v === null ? String(x.c) : x.c === 0 ? names.get(x.v)! : `${names.get(x.v)!}${x.c > 0 ? '+' : ''}${x.c}`);
  const nodeName = (f: Term['factors'][number]) => (f.node.kind === 'param' || f.node.kind === 'data' || f.node.kind === 'dim' ? f.node.name : bufName(f.node));
  const factors = t.factors.map((f) => (f.idx.length ? `${nodeName(f)}[${f.idx.map(a).join(', ')}]` : nodeName(f)));
  const ranges = [...t.ranges.entries()]
    .filter(([, r]) => r.lo !== 0)
    .map(([v, r]) => `${names.get(v)} ≥ ${r.lo}`);
  const sum = t.sums.length ? `Σ_${t.sums.map((v) => names.get(v)!).join(',')} ` : '';
  const prod = [...(t.coef !== 1 || factors.length === 0 ? [String(t.coef)] : []), ...factors].join('·');
  const out = t.out.length ? `${buf}[${t.out.map(a).join(', ')}]` : buf;
  return `${out} += ${sum}${prod}${ranges.length ? `  (${ranges.join(', ')})` : ''}`;
}

/** Largest chunk of the batch streamed at once: big enough to amortize a pass, small enough for cache. */
const MAX_CHUNK = 2048;

function accumulateStore(st: Stmt): Stmt {
  if (st.k === 'store') return { ...st, accumulate: true };
  if (st.k === 'block') return { ...st, body: st.body.map(accumulateStore) };
  if (st.k === 'for') return { ...st, body: st.body.map(accumulateStore) };
  return st;
}

/** Whether a term writes every element of an output of this shape (so it may assign). */
function covers(t: Term, shape: readonly Dim[]): boolean {
  const seen = new Set<Var>();
  return t.out.every((o, k) => {
    if (o.v === null || o.c !== 0 || seen.has(o.v)) return false;
    seen.add(o.v);
    const r = t.ranges.get(o.v)!;
    return r.lo === 0 && r.hi === shape[k];
  });
}

const sub = (a: Expr, b: Expr): Expr => ({ k: 'bin', op: '-', a, b });

/** Functions whose derivatives are cheap in terms of the function's value y. */
const FAMILIES: readonly { members: readonly string[]; of: (fn: string, y: Expr) => Expr }[] = [
  {
    members: ['tanh', 'tanh_d1', 'tanh_d2'],
    of: (fn, y) => {
      const d1 = sub(num(1), mul(y, y));
      return fn === 'tanh' ? y : fn === 'tanh_d1' ? d1 : mul(mul(num(-2), y), d1);
    },
  },
  {
    members: ['sigmoid', 'sigmoid_d1', 'sigmoid_d2'],
    of: (fn, y) => {
      const d1 = mul(y, sub(num(1), y));
      return fn === 'sigmoid' ? y : fn === 'sigmoid_d1' ? d1 : mul(d1, sub(num(1), mul(num(2), y)));
    },
  },
];

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
  for (let k = vars.length - 1; k >= 0; k--) body = [{ k: 'for', v: vars[k]!, from: num(0), to: extentExpr(shape[k]!), body }];
  return body;
}

