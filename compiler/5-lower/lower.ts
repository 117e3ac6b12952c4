// Index form -> loops. Each term of each output (value, gradient block, Hessian block) and of
// each materialized tensor becomes one loop nest, after 4-simplify has factored out its shared
// intermediates. Factors are hoisted to the outermost loop where their indices are known and
// index arithmetic is split the same way; a term with one summed index becomes a `reduce`.
// Diagonal Hessian blocks compute their upper triangle only; every Hessian value is stored at
// its entry and at the mirror entry, so both triangles are exactly equal with no extra pass.
// This lowering is the same for every target; the late passes the target's capability record
// asks for (cpu/: unrolling, batch streaming, tanh/σ families) then rewrite its result.

import type { Dim } from '../2-ir/graph.ts';
import type { ParamNode, Formula, TNode, Term, Var } from '../2-ir/index-form.ts';
import type { NodeTable } from '../2-ir/nodes.ts';
import { contract, packSides } from '../4-simplify/contract.ts';
import { PAIR_MIN_ENTRIES, pairTerm, type PairTerm } from '../4-simplify/pair-symmetry.ts';
import { emitPairTerm, pairHasForm } from './pair-nest.ts';
import { bufName, dataBase, extentExpr, stridesOf } from './indexing.ts';
import { applyCpuPasses } from './cpu/index.ts';
import { planGram } from './gram.ts';
import { MIN_ENTRIES } from './cpu/dense-blocks.ts';
import type { TargetCapabilities } from './targets.ts';
import { emitTerms, fuseTerms, type NestContext, type Target } from './loop-nest.ts';
import { add, int, mul, num, OUTPUT_KINDS, UniqueNames, type Buffer, type LoopKind, type OutputKind, type Entry, type Expr, type Kernel, type KernelId, type Program, type Schedule, type SparsePiece, type Stmt, type Write } from './loops.ts';
import { linearForms, termLattice } from '../inspect/lattice.ts';

export interface LowerInput {
  /** The model's name and its data declarations (in order), for the program's layout. */
  readonly name: string;
  readonly data: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  readonly nodes: NodeTable;
  readonly params: readonly ParamNode[];
  readonly value: Formula;
  readonly gradients: readonly Formula[];
  /** hessians[i][j] for i <= j: d²f / dP_i dP_j. */
  readonly hessians: readonly (readonly Formula[])[];
  /** When the program has `hvp`: (H v) per parameter, and the direction's node per parameter. */
  readonly hvp?: { readonly formulas: readonly Formula[]; readonly directions: readonly TNode[] };
  /** When the program has `hessianDiagonal`: diag(H) per parameter. */
  readonly diagonal?: readonly Formula[];
  /** When the program has `gaussNewton`: its blocks gaussNewton[i][j] for i <= j, like `hessians`. */
  readonly gaussNewton?: readonly (readonly Formula[])[];
  /** The program has `hessianSparse`: its pattern comes from the Hessian blocks' terms. */
  readonly sparse?: boolean;
  readonly symbolicDims: readonly string[];
}

/** The target-neutral program, then the late passes that `target` asks for (see cpu/index.ts). */
export function lower(input: LowerInput, target: TargetCapabilities): Program {
  const pairing = target.pairSymmetry ? { min: target.pairMinEntries ?? PAIR_MIN_ENTRIES, needForm: target.pairNeedsForm === true, tile: target.pairTile ?? null } : null;
  const program = applyCpuPasses(lowerNeutral(input, pairing, target), target);
  for (const k of program.kernels) checkWrites(k);
  return program;
}

/**
 * Whether a pair term's pairs (m(m+1)/2 × m2(m2+1)/2) take no more tiles than its upper triangle
 * ((m·m2)² / 2). (A δ term's upper triangle is no matrix product: its pairs always pay.)
 */
function pairTiles(pt: PairTerm, tile: number): boolean {
  if (pt.diagonal) return true;
  const m = pt.ranges.get(pt.a)!.hi as number;
  const m2 = pt.ranges.get(pt.b)!.hi as number;
  const T = Math.ceil((m * m2) / tile);
  return Math.ceil((m * (m + 1)) / 2 / tile) * Math.ceil((m2 * (m2 + 1)) / 2 / tile) <= (T * (T + 1)) / 2;
}

/**
 * `pairing`: pair-symmetric terms of diagonal blocks at least `min` pairs large get their own nests
 * (pair-nest.ts), with `needForm` only those whose block gets its description as data, with `tile`
 * only those whose pairs take no more tiles than their upper triangle (pairTiles); null: none. From
 * `caps`, the target-neutral choices only: packProducts, gramProducts, packSmallBlocks.
 */
function lowerNeutral(input: LowerInput, pairing: { min: number; needForm: boolean; tile: number | null } | null, caps: Pick<TargetCapabilities, 'packProducts' | 'gramProducts' | 'packSmallBlocks'>): Program {
  const { packProducts, gramProducts } = caps;
  const { nodes, params } = input;
  const offsets: number[] = [];
  let n = 0;
  for (const p of params) {
    offsets.push(n);
    n += p.shape.reduce<number>((a, b) => a * (b as number), 1);
  }
  const paramOffset = new Map<TNode, number>(params.map((p, k) => [p, offsets[k]!]));
  // The direction of H·v is laid out like θ.
  input.hvp?.directions.forEach((d, k) => paramOffset.set(d, offsets[k]!));
  // Kernels by id (an id is reserved before its kernel is built when others must name it first).
  const slots: (Kernel | null)[] = [];
  const reserve = (): KernelId => slots.push(null) - 1;
  const define = (k: Kernel): void => {
    slots[k.id] = k;
  };
  const names = new UniqueNames();
  const kernelDeps = new Map<KernelId, TNode[]>();
  const materialized = new Map<TNode, KernelId>(); // node -> the kernel that completes it
  const notes: string[] = [];
  const nestContext: NestContext = { paramOffset, counter: { next: 0 } };

  // ---- kernels -----------------------------------------------------------------------------

  /**
   * One kernel for the terms of a formula; two when the output is a sum over the batch that
   * also has terms without the batch (those must run once, not once per chunk). Returns the
   * kernels in order: the last one completes the output.
   */
  /** `name` is unique already (outputs' kernels are named first, so that they keep their names). */
  function emitFormula(name: string, comment: string, f: Formula, target: Target, fill: boolean, block: string): KernelId[] {
    // A diagonal block's pair-symmetric terms keep their factors (pair-nest.ts packs them).
    const pairs = new Map<Term, PairTerm>();
    const terms = f.terms.map((t0) => {
      const t = contract(t0, nodes);
      const pair = pairing !== null && target.upperOnly ? pairTerm(t, target.rowRank!, nodes, pairing.min) : null;
      if (pair && (!pairing!.needForm || pairHasForm(pair, nestContext)) && (pairing!.tile === null || pairTiles(pair, pairing!.tile))) {
        pairs.set(t, pair);
        return t;
      }
      // A block term too small for the dense kernels may read its factors where they are (packSmallBlocks).
      if (target.rowRank !== undefined) return !caps.packSmallBlocks && outEntries(t) < MIN_ENTRIES ? t : packSides(t, target.rowRank, nodes);
      // An intermediate's sum over the batch whose factors split between leading and trailing
      // coordinates: packed the same way, for the dense kernels.
      const split = packProducts && fill ? productSplit(t, input.symbolicDims) : null;
      return split !== null ? packSides(t, split, nodes) : t;
    });
    const B = input.symbolicDims.length === 1 ? input.symbolicDims[0]! : null;
    const overBatch = (t: Term) => [...t.ranges.values()].some((r) => r.hi === B);
    const split = B !== null && !f.shape.includes(B) && terms.some(overBatch) && !terms.every(overBatch);
    const groups = split ? [terms.filter(overBatch), terms.filter((t) => !overBatch(t))] : [terms];
    const ids: KernelId[] = [];
    return groups.map((group, g) => {
      const id = reserve();
      const body: Stmt[] = [];
      const deps: TNode[] = [];
      // A first term that writes every element assigns, and nothing needs clearing first.
      const first = fill && g === 0;
      const nests = fuseTerms(group.filter((t) => !pairs.has(t)));
      const assignFirst = first && nests.length > 0 && covers(nests[0]![0]!, f.shape);
      if (first && !assignFirst) body.push({ k: 'fill', buf: target.buf, value: 0 });
      nests.forEach((parts, k) => emitTerms(parts, target, body, deps, nestContext, assignFirst && k === 0));
      for (const t of group) if (pairs.has(t)) emitPairTerm(pairs.get(t)!, target, body, deps, nestContext);
      define({ id, name: g === 0 ? name : names.get(`${name}_once`), comment: g === 0 ? comment : `${comment}, the terms without the batch`, writes: [{ buf: target.buf, block }], body });
      kernelDeps.set(id, deps);
      if (g > 0) runAfter.set(id, [ids[0]!]);
      ids.push(id);
      return id;
    });
  }

  /** Kernels that must run after others beyond what their inputs say (a split formula's parts). */
  const runAfter = new Map<KernelId, KernelId[]>();

  function materialize(node: TNode): void {
    if (materialized.has(node) || node.kind === 'param' || node.kind === 'data' || node.kind === 'dim') return;
    const buf = bufName(node);
    const name = `k${node.id}`;
    if (node.kind === 'poly') {
      const parts = emitFormula(names.get(name), `${buf}${shapeText(node.shape)}: ${node.formula.terms.length} term(s)`, node.formula, { buf, base: num(0), strides: stridesOf(node.shape) }, true, '');
      materialized.set(node, parts[parts.length - 1]!);
      for (const k of parts) for (const d of kernelDeps.get(k)!) materialize(d);
      return;
    }
    const arg = node.arg;
    if (node.kind === 'map') {
      // Maps of the same argument share one loop (and, within a family, one call).
      let group = mapGroups.get(arg);
      if (!group) {
        group = { id: reserve(), members: [] };
        mapGroups.set(arg, group);
      }
      materialized.set(node, group.id);
      group.members.push(node);
      kernelDeps.set(group.id, [arg]);
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
        ...nest(vars, shape, [{ k: 'update', name: 'm', op: 'max', value: load }], 'reduction'),
        { k: 'store', buf, index: num(0), value: { k: 'local', name: 'm' }, accumulate: false },
      );
    } else {
      const keep = axis === 0 ? 1 : 0;
      const innerLoop: Stmt = { k: 'for', kind: 'reduction', v: vars[axis]!, from: num(0), to: extentExpr(shape[axis]!), body: [{ k: 'update', name: 'm', op: 'max', value: load }] };
      body.push({
        k: 'for', kind: 'parallel', v: vars[keep]!, from: num(0), to: extentExpr(shape[keep]!),
        body: [{ k: 'var', name: 'm', value: num(-Infinity) }, innerLoop, { k: 'store', buf, index: int(vars[keep]!), value: { k: 'local', name: 'm' }, accumulate: false }],
      });
    }
    const id = reserve();
    materialized.set(node, id);
    define({ id, name: names.get(name), comment: `${buf}${shapeText(node.shape)} = max(${bufName(arg)})`, writes: [{ buf, block: '' }], body });
    kernelDeps.set(id, [arg]);
    materialize(arg);
  }

  const mapGroups = new Map<TNode, { id: KernelId; members: TNode[] }>();

  function argLoad(arg: TNode, vars: readonly string[]): Expr {
    if (arg.kind === 'dim') return arg.role ? { k: 'dim', name: arg.name, role: arg.role } : { k: 'dim', name: arg.name };
    const whole = arg.kind === 'data';
    const base = arg.kind === 'param' ? num(paramOffset.get(arg)!) : whole ? dataBase(arg.shape) : num(0);
    return { k: 'load', buf: bufName(arg), index: add(base, linExprOfNames(vars, stridesOf(arg.shape, whole), 0)) };
  }

  function emitMapGroup(arg: TNode, id: KernelId, members: TNode[]): void {
    const vars = arg.shape.map((_, k) => `i${k}`);
    const inner: Stmt[] = [{ k: 'let', name: 'x', int: false, value: argLoad(arg, vars) }];
    const fns = members.map((m) => (m as Extract<TNode, { kind: 'map' }>).fn);
    const x: Expr = { k: 'local', name: 'x' };
    const index = linExprOfNames(vars, stridesOf(arg.shape), 0);
    // (One call per function here; a CPU pass derives tanh′ and tanh″ from tanh: cpu/families.ts.)
    members.forEach((m, k) => inner.push({ k: 'store', buf: bufName(m), index, value: { k: 'call', fn: fns[k]!, arg: x }, accumulate: false }));
    const what = members.map((m, k) => `${bufName(m)} = ${fnText(fns[k]!)}`).join(', ');
    const writes: Write[] = members.map((m) => ({ buf: bufName(m), block: '' }));
    define({ id, name: names.get(`map${arg.id}`), comment: `${what} of ${bufName(arg)}${shapeText(arg.shape)}`, writes, body: nest(vars, arg.shape, inner, 'parallel') });
  }

  // ---- outputs -------------------------------------------------------------------------------

  // The outputs' kernels are named first, so that a suffix, where names meet, goes to a part or a temp.
  const valueName = names.get('value');
  const gradNames = params.map((p) => names.get(`grad_${p.name}`));
  const hessNames = params.map((P, i) => params.map((Q, j) => (j < i ? '' : names.get(`hess_${P.name}_${Q.name}`))));
  const hvpNames = input.hvp ? params.map((p) => names.get(`hvp_${p.name}`)) : [];
  const diagNames = input.diagonal ? params.map((p) => names.get(`hdiag_${p.name}`)) : [];
  const ggnNames = input.gaussNewton ? params.map((P, i) => params.map((Q, j) => (j < i ? '' : names.get(`ggn_${P.name}_${Q.name}`)))) : [];
  const entryKernels: Record<OutputKind, KernelId[]> = { value: [], gradient: [], hessian: [], hvp: [], hessianDiagonal: [], hessianSparse: [], gaussNewton: [] };
  entryKernels.value.push(...emitFormula(valueName, 'the objective', input.value, { buf: 'value', base: num(0), strides: [] }, true, ''));
  input.gradients.forEach((g, k) => {
    const p = params[k]!;
    entryKernels.gradient.push(
      ...emitFormula(gradNames[k]!, `gradient block of ${p.name}`, g, { buf: 'gradient', base: num(offsets[k]!), strides: stridesOf(p.shape) }, false, `${k}`),
    );
  });
  /** The kernels of a symmetric n × n output (Hessian, Gauss-Newton) from its upper blocks: each value stored at its entry and its mirror. */
  const symmetricBlocks = (buf: 'hessian' | 'gaussNewton', blockFormulas: readonly (readonly Formula[])[], kernelNames: readonly (readonly string[])[], what: string): number => {
    let nonzero = 0;
    params.forEach((P, i) => {
      params.forEach((Q, j) => {
        if (j < i) return;
        const h = blockFormulas[i]![j]!;
        if (h.terms.length === 0) return;
        nonzero++;
        const byN = (strides: Expr[]) => strides.map((s) => mul(s, num(n)));
        const target: Target = {
          buf, base: num(offsets[i]! * n + offsets[j]!), strides: [...byN(stridesOf(P.shape)), ...stridesOf(Q.shape)],
          rowRank: P.shape.length, upperOnly: i === j,
          mirror: { base: num(offsets[j]! * n + offsets[i]!), strides: [...stridesOf(P.shape), ...byN(stridesOf(Q.shape))], distinct: i !== j },
        };
        entryKernels[buf].push(...emitFormula(kernelNames[i]![j]!, `${what} block (${P.name}, ${Q.name}): ${h.terms.length} term(s)`, h, target, false, `${i},${j}`));
      });
    });
    return nonzero;
  };
  // A small model's product terms, of all blocks at once: the stacked sides, then one product.
  const planned = gramProducts ? planGram(params, offsets, n, input.hessians, input.symbolicDims, nodes) : null;
  // Pair symmetry halves the terms it takes: a Gram product would give that up.
  const paired = (t: Term, i: number) => pairing !== null && pairTerm(contract(t, nodes), params[i]!.shape.length, nodes, pairing.min) !== null;
  const gram = planned && !params.some((_, i) => input.hessians[i]![i]!.terms.some((t) => !planned.rest[i]![i]!.terms.includes(t) && paired(t, i))) ? planned : null;
  if (gram) {
    const id = reserve();
    const body: Stmt[] = [];
    const deps: TNode[] = [];
    for (const f of gram.fill) emitTerms([f.term], f.target, body, deps, nestContext, true);
    const bufs = [...new Set([gram.u, gram.v].map(bufName))];
    define({ id, name: names.get('gram_sides'), comment: `${bufs.join(' and ')}${shapeText(gram.u.shape)}: each parameter's side of the Hessian's product terms, in θ order`, writes: bufs.map((buf) => ({ buf, block: '' })), body });
    kernelDeps.set(id, deps);
    materialized.set(gram.u, id);
    materialized.set(gram.v, id);
    const what = 'Hessian: the product terms of every block, one Gram product over θ';
    entryKernels.hessian.push(...emitFormula(names.get('hess_gram'), what, gram.product, gram.productTarget, false, ''));
  }
  const blocks = (params.length * (params.length + 1)) / 2;
  symmetricBlocks('hessian', gram ? gram.rest : input.hessians, hessNames, 'Hessian');
  if (gram) notes.push("the Hessian blocks' product terms are one Gram product over θ");
  const nonzero = input.hessians.reduce((s, row, i) => s + row.filter((h, j) => j >= i && h.terms.length > 0).length, 0);
  notes.push(`${nonzero} of ${blocks} Hessian blocks are nonzero`);
  input.hvp?.formulas.forEach((f, k) => {
    const p = params[k]!;
    entryKernels.hvp.push(...emitFormula(hvpNames[k]!, `H·v, block of ${p.name}: ${f.terms.length} term(s)`, f, { buf: 'hvp', base: num(offsets[k]!), strides: stridesOf(p.shape) }, false, `${k}`));
  });

  input.diagonal?.forEach((f, k) => {
    const p = params[k]!;
    entryKernels.hessianDiagonal.push(...emitFormula(diagNames[k]!, `Hessian diagonal, block of ${p.name}: ${f.terms.length} term(s)`, f, { buf: 'hessianDiagonal', base: num(offsets[k]!), strides: stridesOf(p.shape) }, false, `${k}`));
  });
  if (input.gaussNewton) {
    const nz = symmetricBlocks('gaussNewton', input.gaussNewton, ggnNames, 'Gauss-Newton');
    notes.push(`${nz} of ${blocks} Gauss-Newton blocks are nonzero`);
  }
  for (const k of Object.values(entryKernels).flat()) for (const d of kernelDeps.get(k)!) materialize(d);
  for (const [arg, { id, members }] of mapGroups) emitMapGroup(arg, id, members);

  // Entry point order: dependencies first (depth-first, post-order), each kernel once.
  const schedule = (roots: KernelId[]): KernelId[] => {
    const seen = new Set<KernelId>();
    const out: KernelId[] = [];
    const visit = (id: KernelId) => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const d of kernelDeps.get(id)!) {
        const kn = materialized.get(d);
        if (kn !== undefined) visit(kn);
      }
      for (const k of runAfter.get(id) ?? []) visit(k);
      out.push(id);
    };
    roots.forEach(visit);
    return out;
  };
  const orders: Record<Entry, KernelId[]> = {
    value: schedule(entryKernels.value),
    gradient: schedule(entryKernels.gradient),
    hessian: schedule(entryKernels.hessian),
    evaluate: schedule([...entryKernels.value, ...entryKernels.gradient, ...entryKernels.hessian]),
    hvp: schedule(entryKernels.hvp),
    hessianDiagonal: schedule(entryKernels.hessianDiagonal),
    gaussNewton: schedule(entryKernels.gaussNewton),
  };
  const used = new Set(Object.values(orders).flat());

  // Temps, each with the kernel that writes it.
  const temps: { node: TNode; kernel: KernelId }[] = [];
  for (const node of nodes.nodes) {
    const kn = materialized.get(node);
    if (kn !== undefined && used.has(kn)) temps.push({ node, kernel: kn });
  }
  // Buffers: theta, data, every temp used by a scheduled kernel.
  const buffers: Buffer[] = [{ name: 'theta', kind: 'theta', shape: [n] }];
  for (const node of nodes.nodes) {
    if (node.kind === 'data') buffers.push({ name: bufName(node), kind: 'data', shape: node.shape, scalar: node.shape.length === 0 });
  }
  for (const { node } of temps) buffers.push({ name: bufName(node), kind: 'temp', shape: node.shape });
  buffers.push({ name: 'value', kind: 'value', shape: [1] }, { name: 'gradient', kind: 'gradient', shape: [n] }, { name: 'hessian', kind: 'hessian', shape: [n * n] });
  if (input.hvp) buffers.push({ name: 'v', kind: 'direction', shape: [n] }, { name: 'hvp', kind: 'hvp', shape: [n] });
  if (input.diagonal) buffers.push({ name: 'hessianDiagonal', kind: 'hessianDiagonal', shape: [n] });
  if (input.gaussNewton) buffers.push({ name: 'gaussNewton', kind: 'gaussNewton', shape: [n * n] });
  // The kernels that run, renumbered so that kernels[k].id === k.
  const kernels: Kernel[] = [];
  const newId = new Map<KernelId, KernelId>();
  for (const k of slots) {
    if (!k || !used.has(k.id)) continue;
    newId.set(k.id, kernels.length);
    kernels.push({ ...k, id: kernels.length });
  }
  const ids = (xs: readonly KernelId[]) => xs.map((x) => newId.get(x)!);
  const entries = {} as Record<Entry, Schedule>;
  // In order, all in `pre`: streaming the batch is a CPU pass (cpu/stream-batch.ts).
  for (const e of Object.keys(orders) as Entry[]) entries[e] = { pre: ids(orders[e]), clear: [], stream: [], post: [] };
  const model = {
    name: input.name,
    params: params.map((p, k) => ({ name: p.name, shape: p.shape, offset: offsets[k]!, size: p.shape.reduce((a, b) => a * b, 1) })),
    data: input.data,
    dims: input.symbolicDims,
  };
  const outputs = OUTPUT_KINDS.filter((o) => (o !== 'hvp' || input.hvp !== undefined) && (o !== 'hessianDiagonal' || input.diagonal !== undefined) && (o !== 'hessianSparse' || input.sparse === true) && (o !== 'gaussNewton' || input.gaussNewton !== undefined));
  const sparsePattern = input.sparse === true ? sparsePieces(params, offsets, input.hessians) : undefined;
  return { model, n, outputs, buffers, kernels, entries, batch: null, notes, ...(sparsePattern ? { sparsePattern } : {}) };
}

/**
 * The Hessian's structural pattern, compactly: each term of each upper block (i ≤ j) writes a
 * lattice of entries (the same lattices `hessgen inspect` counts), flattened to θ positions.
 * Duplicates are dropped; overlaps stay (the run-time build merges them), as does the mirror.
 */
function sparsePieces(params: readonly ParamNode[], offsets: readonly number[], hessians: readonly (readonly Formula[])[]): SparsePiece[] {
  const out: SparsePiece[] = [];
  const seen = new Set<string>();
  params.forEach((P, i) =>
    params.forEach((Q, j) => {
      if (j < i) return;
      for (const t of hessians[i]![j]!.terms) {
        const l = termLattice(t, [...P.shape, ...Q.shape]);
        if (!l) continue;
        const { r0, c0, alpha, beta } = linearForms(l, P.shape, Q.shape);
        const piece: SparsePiece = { r0: offsets[i]! + r0, c0: offsets[j]! + c0, alpha, beta, lo: l.ranges.map((r) => r[0]), hi: l.ranges.map((r) => r[1]) };
        const key = JSON.stringify(piece);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(piece);
      }
    }),
  );
  return out;
}

/** A kernel stores only into what its `writes` declare (the GPU scheduler relies on them). */
function checkWrites(k: Kernel): void {
  const declared = new Set(k.writes.map((w) => w.buf));
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      if ((st.k === 'store' || st.k === 'storeSym' || st.k === 'fill') && !declared.has(st.buf)) throw new Error(`internal: kernel ${k.name} stores into ${st.buf}, which it does not declare`);
      if (st.k === 'for' || st.k === 'block') visit(st.body);
      if (st.k === 'forStep') {
        visit(st.body);
        visit(st.rest);
      }
    }
  };
  visit(k.body);
}

/** How many entries a term writes (its distinct output variables' extents; a run-time one counts as large). */
function outEntries(t: Term): number {
  let e = 1;
  for (const v of new Set(t.out.map((o) => o.v).filter((v): v is Var => v !== null))) {
    const r = t.ranges.get(v)!;
    e *= typeof r.hi === 'number' ? r.hi - r.lo : 1 << 20;
  }
  return e;
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

function nest(vars: readonly string[], shape: readonly Dim[], inner: Stmt[], kind: LoopKind): Stmt[] {
  let body = inner;
  for (let k = vars.length - 1; k >= 0; k--) body = [{ k: 'for', kind, v: vars[k]!, from: num(0), to: extentExpr(shape[k]!), body }];
  return body;
}

/** Entries (rows × columns) below which an intermediate's product keeps its loops: the dense kernels' own threshold. */
const PRODUCT_MIN_ENTRIES = MIN_ENTRIES;

/**
 * Where an intermediate's term splits into the two sides of a matrix product over the batch: the
 * number k of leading output coordinates such that every factor of its one sum, over a run-time
 * dimension, reads either only the first k coordinates' variables or only the others' (and both
 * sides have such a factor); null when there is none.
 */
function productSplit(t: Term, symbolicDims: readonly string[]): number | null {
  if (t.sums.length !== 1 || t.out.length < 2 || t.out.some((o) => o.v === null)) return null;
  const s = t.sums[0]!;
  if (!symbolicDims.includes(t.ranges.get(s)!.hi as string)) return null;
  const withS = t.factors.filter((f) => f.idx.some((a) => a.v === s));
  const extent = (vs: readonly Var[]) => vs.reduce((n, v) => n * (typeof t.ranges.get(v)!.hi === 'number' ? (t.ranges.get(v)!.hi as number) - t.ranges.get(v)!.lo : 0), 1);
  for (let k = 1; k < t.out.length; k++) {
    const rows = new Set(t.out.slice(0, k).map((o) => o.v!));
    const cols = new Set(t.out.slice(k).map((o) => o.v!));
    // Small products keep their loops: the copies would cost more than the kernels save.
    if (extent([...rows]) * extent([...cols]) < PRODUCT_MIN_ENTRIES) continue;
    let row = 0;
    let col = 0;
    const ok = withS.every((f) => {
      const vs = f.idx.map((a) => a.v).filter((v): v is Var => v !== null && v !== s);
      if (vs.length > 0 && vs.every((v) => rows.has(v))) return ++row > 0;
      if (vs.length > 0 && vs.every((v) => cols.has(v))) return ++col > 0;
      return false;
    });
    if (ok && row > 0 && col > 0) return k;
  }
  return null;
}
