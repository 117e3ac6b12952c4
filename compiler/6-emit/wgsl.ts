// Lowered program -> WGSL compute shaders (float32) and the plan that runs them.
//
// Every top-level loop nest of a kernel (one term, or terms fused into one nest) is a "unit":
// its leading loops over output coordinates become threads (each thread owns distinct outputs,
// so accumulating stores need no atomics), the rest runs per thread. A unit whose innermost
// statement is a sum of a row-side factor times a column-side factor (a dense Hessian block:
// Σ_n R[row, n]·C[col, n]) becomes a tiled matrix product through workgroup memory, a dispatch
// of its own; independent plain units share dispatches (wgsl-schedule.ts), each thread running
// the unit its index falls in. A pair-symmetric block (5-lower/pair-nest.ts) is such a product
// too, over pairs of rows and pairs of columns, each triangle of pairs folded into a rectangle
// ("pair-symmetric blocks" below). Every shader also runs over a batch of independent problems:
// each buffer is addressed per problem through offsets and strides in the uniform parameters.
//
// Buffers: θ, the data (all arrays in one buffer), the workspaces (all temps in one buffer),
// the value, the gradient and a window of the Hessian (so that Hessians larger than one
// storage binding are written in several passes).
//
// The program comes from the lowering for WGSL_TARGET (5-lower/targets.ts): target-neutral, with
// none of the CPU passes (no unrolled loops, no streamed batch: the GPU holds the whole batch).

import type { Dim } from '../2-ir/graph.ts';
import type { MapFn } from '../2-ir/index-form.ts';
import { add, int, mul, num, productFactors, UniqueNames, type Buffer, type PairBlock, type Entry, type Expr, type Kernel, type KernelId, type ModelLayout, type OutputKind, type Program, type SparsePiece, type Stmt } from '../5-lower/loops.ts';
import { WGSL_TARGET } from '../5-lower/targets.ts';
import { wgslFloat, wgslFnDefinition, wgslFnDeps, wgslFnName } from './wgsl-functions.ts';
import { scheduleWaves, type Access } from './wgsl-schedule.ts';
// The binding layout, workgroup shapes and uniform fields, shared with the engine that runs the shaders.
import {
  dataOffsetField, dataStrideField, dimField, FIRST_HESSIAN_BINDING, partField, HESSIAN_WINDOWS, STORAGE_BINDINGS, TILE, TILE_K, tempOffsetField, tempStrideField,
  THETA_STRIDE_FIELD, U32_FIELDS, uniformFields, UNIFORM_BINDING, WORKGROUP,
} from '../../runtime/gpu/layout.ts';

export { HESSIAN_WINDOWS, TILE, TILE_K, WORKGROUP };

/**
 * The outputs the GPU target implements (WGSL_TARGET's: its programs are lowered with these only).
 * H·v and the diagonal are written into the gradient's binding, and the direction v rides in θ's,
 * after θ (n floats on); the Gauss-Newton matrix, n × n like the Hessian, is written into the
 * Hessian's windows: the layout keeps its eight storage bindings.
 */
export const GPU_OUTPUTS: readonly OutputKind[] = WGSL_TARGET.outputs;
/** Its entry points. */
const GPU_ENTRIES: readonly Entry[] = ['value', 'gradient', 'hessian', 'evaluate', 'hvp', 'hessianDiagonal', 'gaussNewton'];
/** Outputs that only some programs have: their entry points exist only then. */
const OPTIONAL_ENTRIES: readonly Entry[] = ['hvp', 'hessianDiagonal', 'gaussNewton'];

/** One dispatch (one shader): plain units side by side, or a tiled product. */
export interface GpuDispatch {
  readonly name: string;
  /** Plain: the extents of each unit's thread loops; a problem's threads are the units' in turn. */
  readonly parts: readonly (readonly Dim[])[];
  /** Tiled products: extents of the row and column loops. */
  readonly tiled?: { readonly rows: readonly Dim[]; readonly cols: readonly Dim[] };
  /** Whether it writes the Hessian (and so runs once per window of it). */
  readonly hessian: boolean;
  /**
   * A twin for hessianSparse: its Hessian stores go to CSR slots of the values, seen through
   * one window fewer, the last window's binding holding the pattern (rowPtr, then colIdx).
   */
  readonly sparse?: true;
  /** The uniform fields its shader reads, in the order of its Params struct. */
  readonly fields: readonly string[];
}

export type GpuStep = { readonly clear: string } | { readonly unit: string };

export interface GpuProgram {
  /** The model's layout, from the lowered program. */
  readonly model: ModelLayout;
  /** Statistics for the reader, from the lowered program. */
  readonly notes: readonly string[];
  readonly n: number;
  readonly dims: readonly string[];
  readonly data: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  readonly temps: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  readonly units: readonly GpuDispatch[];
  /** Steps of each entry point, in order (`unit` names a dispatch). */
  readonly entries: Readonly<Record<Entry, readonly GpuStep[]>>;
  /** WGSL source of each dispatch, by name. */
  readonly shaders: Readonly<Record<string, string>>;
  /** With hessianSparse: the Hessian entry's steps with sparse twins, and the pattern's pieces. */
  readonly hessianSparse?: { readonly steps: readonly GpuStep[]; readonly pattern: readonly SparsePiece[] };
}

interface Level {
  readonly v: string;
  readonly from: Expr;
  readonly to: Expr;
  /** Statements at the start of the loop's body (or before the first loop for level 0). */
  readonly pre: readonly Stmt[];
}

/** One loop nest of a kernel, analysed. */
interface Unit {
  readonly name: string;
  readonly kernel: Kernel;
  /** The nest's comment (its terms in index notation). */
  readonly comment: string | undefined;
  readonly levels: readonly Level[];
  readonly tail: readonly Stmt[];
  readonly tiled: TiledPlan | null;
  /** A pair-symmetric block (5-lower/pair-nest.ts) run as a tiled product over its pairs. */
  readonly pair: PairBlock | null;
  readonly access: Access;
}

export function emitWgsl(program: Program): GpuProgram {
  const p = gaussNewtonInHessian(program);
  const info = { data: p.model.data, symbolicDims: p.model.dims };
  const temps = p.buffers.filter((b) => b.kind === 'temp').map((b) => ({ name: b.name, shape: b.shape }));
  const dataIndex = new Map(info.data.map((d, k) => [`d_${d.name}`, k]));
  const tempIndex = new Map(temps.map((t, k) => [t.name, k]));
  const ctx: ShaderContext = {
    n: p.n,
    buffers: p.buffers,
    dataIndex,
    tempIndex,
    fields: uniformFields(info.symbolicDims, info.data.length, temps.length),
  };
  // Unit and dispatch names: unique among themselves (they key `wgsl` and the plan), never parsed.
  const names = new UniqueNames();
  const units = new Map<string, Unit>();
  const stepsOf = new Map<KernelId, GpuStep[]>();
  for (const k of p.kernels) {
    const steps: GpuStep[] = [];
    const pieces = splitUnits(k);
    const nests = pieces.filter((x) => !('clear' in x)).length;
    pieces.forEach((g, i) => {
      if ('clear' in g) {
        steps.push(g);
        return;
      }
      const name = names.get(nests === 1 ? k.name : `${k.name}_${i}`);
      units.set(name, analyzeUnit(name, k, g.body));
      steps.push({ unit: name });
    });
    stepsOf.set(k.id, steps);
  }
  // Dispatches per entry point; one shader per distinct set of units.
  const dispatches: GpuDispatch[] = [];
  const shaders: Record<string, string> = {};
  const byMembers = new Map<string, string>();
  const dispatchOf = (members: readonly string[], sparse = false): string => {
    const key = `${sparse ? 'sparse ' : ''}${members.join(' ')}`;
    const have = byMembers.get(key);
    if (have) return have;
    const plain = members.length === 1 ? members[0]! : `group${byMembers.size}_${members[0]}`;
    const name = sparse ? names.get(`${plain}_sparse`) : members.length === 1 ? plain : names.get(plain);
    byMembers.set(key, name);
    const { dispatch, code } = emitDispatch(name, members.map((m) => units.get(m)!), ctx, sparse);
    dispatches.push(dispatch);
    shaders[name] = code;
    return name;
  };
  if (p.outputs.some((o) => !GPU_OUTPUTS.includes(o))) throw new Error(`internal: the GPU target has no ${p.outputs.filter((o) => !GPU_OUTPUTS.includes(o)).join(', ')}`);
  if (p.batch !== null) throw new Error('internal: a streamed batch reached the WGSL emitter (lower with WGSL_TARGET)');
  const entries = {} as Record<Entry, GpuStep[]>;
  const sparse = p.outputs.includes('hessianSparse') && p.sparsePattern !== undefined;
  let sparseSteps: GpuStep[] | null = null;
  for (const e of GPU_ENTRIES) {
    if (OPTIONAL_ENTRIES.includes(e) && !p.outputs.includes(e as OutputKind)) continue;
    // Unstreamed, an entry point's kernels are all in `pre`, in order.
    const steps = p.entries[e].pre.flatMap((k) => stepsOf.get(k)!);
    const waves = scheduleWaves(steps, (u) => units.get(u)!.access);
    entries[e] = waves.map((x) => ('clear' in x ? x : { unit: dispatchOf(x.units) }));
    // hessianSparse: the Hessian's steps, its dispatches that write H replaced by sparse twins.
    if (e === 'hessian' && sparse) sparseSteps = waves.map((x) => ('clear' in x ? x : { unit: dispatchOf(x.units, x.units.some((u) => units.get(u)!.access.hessian)) }));
  }
  const sparseOut = sparse && sparseSteps ? { hessianSparse: { steps: sparseSteps, pattern: p.sparsePattern! } } : {};
  return { model: p.model, notes: p.notes, n: p.n, dims: info.symbolicDims, data: info.data, temps, units: dispatches, entries, shaders, ...sparseOut };
}

/**
 * The Gauss-Newton kernels store into the Hessian's buffer (the two never run in one entry
 * point, and both are n × n): they then get the Hessian's windows, tiling and mirror passes.
 */
function gaussNewtonInHessian(p: Program): Program {
  if (!p.outputs.includes('gaussNewton')) return p;
  const buf = (b: string) => (b === 'gaussNewton' ? 'hessian' : b);
  const stmt = (st: Stmt): Stmt => {
    switch (st.k) {
      case 'store':
      case 'storeSym':
      case 'fill':
        return { ...st, buf: buf(st.buf) };
      case 'for':
        return { ...st, body: st.body.map(stmt) };
      case 'block':
        return { ...st, body: st.body.map(stmt), ...(st.pair ? { pair: { ...st.pair, out: { ...st.pair.out, buf: buf(st.pair.out.buf) } } } : {}) };
      default:
        return st;
    }
  };
  return {
    ...p,
    buffers: p.buffers.filter((b) => b.name !== 'gaussNewton'),
    kernels: p.kernels.map((k) => ({ ...k, writes: k.writes.map((w) => ({ ...w, buf: buf(w.buf) })), body: k.body.map(stmt) })),
  };
}

/** A kernel's body cut into loop nests (each block, and each run of other statements); fills become clears. */
function splitUnits(k: Kernel): ({ clear: string } | { body: Stmt[] })[] {
  const out: ({ clear: string } | { body: Stmt[] })[] = [];
  let loose: Stmt[] = [];
  const flush = () => {
    if (loose.length > 0) out.push({ body: loose });
    loose = [];
  };
  for (const st of k.body) {
    if (st.k === 'fill') {
      if (st.value !== 0) throw new Error(`internal: fill with ${st.value}`);
      flush();
      out.push({ clear: st.buf });
    } else if (st.k === 'block') {
      flush();
      out.push({ body: [st] });
    } else loose.push(st);
  }
  flush();
  return out;
}

// ---- one unit ----------------------------------------------------------------------------------

interface ShaderContext {
  readonly n: number;
  readonly buffers: readonly Buffer[];
  readonly dataIndex: ReadonlyMap<string, number>;
  readonly tempIndex: ReadonlyMap<string, number>;
  readonly fields: readonly string[];
}

function analyzeUnit(name: string, k: Kernel, body: Stmt[]): Unit {
  // A block is its own scope: its statements are the unit's.
  const block = body.length === 1 && body[0]!.k === 'block' ? body[0]! : null;
  let cur: readonly Stmt[] = block ? (block as Extract<Stmt, { k: 'block' }>).body : body;
  // Leading loops (each the last statement of its scope, after lets and skips) become threads.
  const levels: Level[] = [];
  for (;;) {
    const last = cur[cur.length - 1];
    const before = cur.slice(0, -1);
    // (The lowering says which loops run over outputs.)
    const loop = last && last.k === 'for' && last.kind === 'parallel' ? last : null;
    if (!loop || !before.every((st) => st.k === 'let' || st.k === 'skipIfLess') || !isExtent(loop.to)) break;
    levels.push({ v: loop.v, from: loop.from, to: loop.to, pre: before });
    cur = loop.body;
  }
  const pair = block ? pairPlan(block as Extract<Stmt, { k: 'block' }>) : null;
  const tiled = pair ? null : tiledPlan(levels, cur);
  const reads = new Set<string>();
  const writes = new Set<string>();
  let statements = 0;
  const visitExpr = (e: Expr): void => {
    if (e.k === 'load') {
      reads.add(e.buf);
      visitExpr(e.index);
    } else if (e.k === 'bin' || e.k === 'max') {
      visitExpr(e.a);
      visitExpr(e.b);
    } else if (e.k === 'call') visitExpr(e.arg);
  };
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      statements++;
      if (st.k === 'store' || st.k === 'storeSym') writes.add(st.buf);
      for (const [key, v] of Object.entries(st)) {
        if (key === 'body') visit(v as Stmt[]);
        else if (key === 'values') (v as Expr[]).forEach(visitExpr);
        else if (v && typeof v === 'object' && 'k' in v) visitExpr(v as Expr);
      }
    }
  };
  visit(body);
  return {
    name,
    kernel: k,
    comment: block ? (block as Extract<Stmt, { k: 'block' }>).comment : undefined,
    levels,
    tail: cur,
    tiled,
    pair,
    access: { reads, writes, blocks: new Map(k.writes.map((x) => [x.buf, x.block])), tiled: tiled !== null || pair !== null, hessian: writes.has('hessian'), statements },
  };
}

/** The shader of one dispatch: a tiled unit, or plain units one after the other in thread space. */
function emitDispatch(name: string, members: readonly Unit[], ctx: ShaderContext, sparse: boolean): { dispatch: GpuDispatch; code: string } {
  const w = new Writer(ctx, sparse);
  const header: string[] = [];
  for (const u of members) {
    header.push(`// ${u.name}: ${u.kernel.comment}`);
    if (u.comment) for (const c of u.comment.split('\n')) header.push(`//   ${c}`);
  }
  const first = members[0]!;
  const hessian = first.access.hessian;
  if (first.pair) {
    const tiled = emitPairTiled(w, first.pair);
    const { code, fields } = w.module(header);
    return { dispatch: { name, parts: [], tiled, hessian, fields, ...(sparse ? { sparse: true as const } : {}) }, code };
  }
  if (first.tiled) {
    emitTiled(w, first.levels, first.tail, first.tiled);
    const { code, fields } = w.module(header);
    const tiled = { rows: first.tiled.rows.map((l) => dimOf(l.to)), cols: first.tiled.cols.map((l) => dimOf(l.to)) };
    return { dispatch: { name, parts: [], tiled, hessian, fields, ...(sparse ? { sparse: true as const } : {}) }, code };
  }
  emitPlain(w, members);
  const { code, fields } = w.module(header);
  return { dispatch: { name, parts: members.map((u) => u.levels.map((l) => dimOf(l.to))), hessian, fields, ...(sparse ? { sparse: true as const } : {}) }, code };
}

function isExtent(e: Expr): boolean {
  return e.k === 'num' || e.k === 'extent' || e.k === 'dim';
}
function dimOf(e: Expr): Dim {
  if (e.k === 'num') return e.v;
  if (e.k === 'extent' || e.k === 'dim') return e.name;
  throw new Error('internal: loop extent is not a dimension');
}

/** Decodes a flat index into loop variables (the last one varies fastest). */
function decode(w: Writer, flat: string, ls: readonly Level[], ind: string): void {
  let q = flat;
  for (let j = ls.length - 1; j >= 0; j--) {
    const l = ls[j]!;
    const ext = w.int(l.to);
    w.line(`${ind}let ${l.v}: i32 = ${q} % ${ext};`);
    if (j > 0) {
      const next = `q_${l.v}`;
      w.line(`${ind}let ${next}: i32 = ${q} / ${ext};`);
      q = next;
    }
  }
}

/** The statements between the decoded thread indices and the per-thread work: guards and lets. */
function levelPrologue(w: Writer, levels: readonly Level[], ind: string, skip: string, onlyInts = false): void {
  for (const l of levels) {
    for (const st of l.pre) if (!onlyInts || st.k === 'skipIfLess' || (st.k === 'let' && st.int)) w.stmt(st, ind, skip);
    const from = l.from.k === 'num' && l.from.v === 0 ? null : w.int(l.from);
    if (from) w.line(`${ind}if (${l.v} < ${from}) { ${skip}; }`);
  }
}

/** Plain units: each a function of (problem, flat thread index); main picks the unit a thread falls in. */
function emitPlain(w: Writer, members: readonly Unit[]): void {
  members.forEach((u, k) => {
    w.line(`/** ${u.name}: one thread per output of its loop nest. */`);
    w.line(`fn unit${k}(prob: i32, flat: i32) {`);
    if (u.levels.length > 0) decode(w, 'flat', u.levels, '  ');
    levelPrologue(w, u.levels, '  ', 'return');
    for (const st of u.tail) w.stmt(st, '  ', 'return');
    w.line('}');
    w.line();
  });
  w.line(`@compute @workgroup_size(${WORKGROUP})`);
  w.line('fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {');
  w.line(`  let tid = (wid.x + wid.y * P.grid_x) * ${WORKGROUP}u + li;`);
  w.line('  if (tid >= P.total) { return; }');
  if (members.length === 1) {
    w.line('  unit0(P.first + i32(tid / P.threads), i32(tid % P.threads));');
  } else {
    // Unit-major: all problems' threads of unit0, then of unit1, ...: a warp almost never spans
    // two units (P.part<k> = problems × threads per problem of unit k).
    w.line('  var flat = i32(tid);');
    members.forEach((u, k) => {
      const T = u.levels.length === 0 ? '1' : u.levels.map((l) => w.int(l.to)).join(' * ');
      const call = `unit${k}(P.first + flat / (${T}), flat % (${T}));`;
      if (k === members.length - 1) w.line(`  ${call}`);
      else {
        w.line(`  if (flat < P.${partField(k)}) { ${call} return; }`);
        w.line(`  flat -= P.${partField(k)};`);
      }
    });
  }
  w.line('}');
}

// ---- tiled products ----------------------------------------------------------------------------

interface TiledPlan {
  readonly rows: readonly Level[];
  readonly cols: readonly Level[];
  readonly reduce: Extract<Stmt, { k: 'reduce' }>;
  readonly a: Expr;
  readonly b: Expr;
  /** Integer lets of the unit, in order, with the loop variables each depends on. */
  readonly lets: readonly { name: string; value: Expr; deps: ReadonlySet<string> }[];
}

/** Whether a unit is a dense matrix-product block: Σ_v A[rows, v]·B[cols, v] with rows and cols disjoint. */
function tiledPlan(levels: readonly Level[], tail: readonly Stmt[]): TiledPlan | null {
  if (levels.length < 2) return null;
  const reduces = tail.filter((st) => st.k === 'reduce');
  if (reduces.length !== 1) return null;
  if (!tail.every((st) => st.k === 'let' || st.k === 'reduce' || st.k === 'store' || st.k === 'storeSym' || st.k === 'skipIfLess')) return null;
  const reduce = reduces[0] as Extract<Stmt, { k: 'reduce' }>;
  if (!isExtent(reduce.to) || reduce.from.k !== 'num') return null;
  const factors = productFactors(reduce.value);
  if (factors.length !== 2 || factors.some((f) => f.k !== 'load')) return null;
  const vars = new Set(levels.map((l) => l.v));
  const lets: { name: string; value: Expr; deps: Set<string> }[] = [];
  const depsOf = (e: Expr, acc: Set<string>): Set<string> => {
    forEachName(e, (name) => {
      if (vars.has(name)) acc.add(name);
      const l = lets.find((x) => x.name === name);
      if (l) l.deps.forEach((d) => acc.add(d));
    });
    return acc;
  };
  for (const st of [...levels.flatMap((l) => l.pre), ...tail]) {
    if (st.k === 'let' && st.int) lets.push({ name: st.name, value: st.value, deps: depsOf(st.value, new Set()) });
  }
  const [a, b] = factors as [Expr, Expr];
  const da = depsOf(a, new Set());
  const db = depsOf(b, new Set());
  if (da.size === 0 || db.size === 0 || [...da].some((v) => db.has(v)) || da.size + db.size !== vars.size) return null;
  const rows = levels.filter((l) => da.has(l.v));
  const cols = levels.filter((l) => db.has(l.v));
  // Worth tiling only when both sides are long: a known extent below a tile's quarter is not.
  const known = (ls: readonly Level[]) => ls.reduce((s, l) => s * (l.to.k === 'num' ? l.to.v : Infinity), 1);
  if (known(rows) < TILE / 2 || known(cols) < TILE / 2) return null;
  if (reduce.to.k === 'num' && reduce.to.v - reduce.from.v < TILE_K) return null;
  return { rows, cols, reduce, a, b, lets };
}

function emitTiled(w: Writer, levels: readonly Level[], tail: readonly Stmt[], t: TiledPlan): void {
  const count = (ls: readonly Level[]) => ls.map((l) => w.int(l.to)).join(' * ');
  const R = count(t.rows);
  const C = count(t.cols);
  const K0 = w.int(t.reduce.from);
  const K1 = w.int(t.reduce.to);
  // Each side's factor is a load whose index is affine in the summed variable: a thread finds its
  // row's index at v = 0 and the step per v once, then loads along the sum without decoding.
  const sideFn = (fname: string, ls: readonly Level[], factor: Expr): string => {
    if (factor.k !== 'load') throw new Error('internal: a tiled side is not a load');
    w.line(`/** Where the ${fname === 'side_a' ? 'row' : 'column'} side's factor of flat ${fname === 'side_a' ? 'row' : 'column'} r sits, at position ${t.reduce.v} of the sum. */`);
    w.line(`fn ${fname}(prob: i32, r: i32, ${t.reduce.v}: i32) -> i32 {`);
    decode(w, 'r', ls, '  ');
    const need = new Set<string>();
    forEachName(factor, (x) => need.add(x));
    for (let j = t.lets.length - 1; j >= 0; j--) if (need.has(t.lets[j]!.name)) forEachName(t.lets[j]!.value, (x) => need.add(x));
    for (const l of t.lets) if (need.has(l.name)) w.line(`  let ${l.name}: i32 = ${w.int(l.value)};`);
    const el = w.element(factor.buf, factor.index);
    w.line(`  return ${el.index};`);
    w.line('}');
    w.line();
    return el.array;
  };
  const arrayA = sideFn('side_a', t.rows, t.a);
  const arrayB = sideFn('side_b', t.cols, t.b);
  const stores = tail.filter((st) => st.k === 'store' || st.k === 'storeSym');
  w.line('/** Whether output (r, c) is computed here: inside the block, on or above the diagonal, in the window. */');
  w.line('fn is_active(prob: i32, r: i32, c: i32) -> bool {');
  w.line(`  if (r >= ${R} || c >= ${C}) { return false; }`);
  decode(w, 'r', t.rows, '  ');
  decode(w, 'c', t.cols, '  ');
  levelPrologue(w, levels, '  ', 'return false', true);
  for (const st of tail) if (st.k === 'skipIfLess' || (st.k === 'let' && st.int)) w.stmt(st, '  ', 'return false');
  const inWindow = stores.flatMap((st) => (st.k === 'storeSym' ? [st.index, st.mirror] : st.k === 'store' && st.buf === 'hessian' ? [st.index] : []));
  if (inWindow.length > 0 && stores.every((st) => st.buf === 'hessian')) {
    w.line(`  return ${inWindow.map((e) => `in_window(${w.hessAt(e)})`).join(' || ')};`);
  } else w.line('  return true;');
  w.line('}');
  w.line();
  const symmetric = stores.some((st) => st.k === 'storeSym');
  w.line(symmetric ? '/** Stores output (r, c) given its sum: the mirror images of symmetric entries only when mirror is true, the rest when it is false. */' : '/** Stores output (r, c) given its sum. */');
  w.line(`fn finish(prob: i32, r: i32, c: i32, total: f32${symmetric ? ', mirror: bool' : ''}) {`);
  w.mirrorPass = symmetric ? 'mirror' : null;
  w.line(`  if (r >= ${R} || c >= ${C}) { return; }`);
  decode(w, 'r', t.rows, '  ');
  decode(w, 'c', t.cols, '  ');
  levelPrologue(w, levels, '  ', 'return');
  for (const st of tail) {
    if (st === t.reduce) w.line(`  let ${t.reduce.name}: f32 = total;`);
    else w.stmt(st, '  ', 'return');
  }
  w.mirrorPass = null;
  w.line('}');
  w.line();
  emitTileLoop(w, {
    R, C, K0, K1, symmetric,
    setupA: [`let at_a = side_a(prob, select(0, load_r, ok_r), 0);`, `let step_a = side_a(prob, select(0, load_r, ok_r), 1) - at_a;`],
    setupB: [`let at_b = side_b(prob, select(0, load_c, ok_c), 0);`, `let step_b = side_b(prob, select(0, load_c, ok_c), 1) - at_b;`],
    loadA: `${arrayA}[at_a + k * step_a]`,
    loadB: `${arrayB}[at_b + k * step_b]`,
  });
}

/** The body of a tiled product: tiles of both sides through workgroup memory, each thread a 4 × 4 block of sums. */
interface TileLoop {
  /** Rows, columns and the summed range (WGSL integer expressions). */
  readonly R: string;
  readonly C: string;
  readonly K0: string;
  readonly K1: string;
  /** finish() takes a mirror flag: its entries first, then their mirrors through workgroup memory. */
  readonly symmetric: boolean;
  /** Lines that prepare a thread's loads of row load_r (column load_c), valid or not (ok_r, ok_c). */
  readonly setupA: readonly string[];
  readonly setupB: readonly string[];
  /** The side's value at position k of the sum (k < K1, the row or column valid). */
  readonly loadA: string;
  readonly loadB: string;
}

function emitTileLoop(w: Writer, t: TileLoop): void {
  const { R, C, K0, K1, symmetric } = t;
  // 16 × 16 threads; thread (x, y) owns rows 4y..4y+3 and columns 4x..4x+3 of the tile. Tiles
  // hold vec4s of 4 neighbouring rows (columns) per k, so each thread reads one vec4 per side per
  // k and does 16 multiply-adds with it.
  const q = TILE / 4;
  w.line(`var<workgroup> tile_a: array<vec4<f32>, ${q * TILE_K}>; // [k][rows / 4]`);
  w.line(`var<workgroup> tile_b: array<vec4<f32>, ${q * TILE_K}>; // [k][columns / 4]`);
  if (symmetric) w.line(`var<workgroup> quarter: array<f32, ${TILE * 16}>; // [column][16 rows]: a quarter of the results, for the mirrors`);
  w.line('var<workgroup> any_active: atomic<u32>;');
  w.line('var<workgroup> go: u32;');
  w.line();
  w.line('@compute @workgroup_size(16, 16)');
  w.line('fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {');
  w.line('  let prob: i32 = P.first + i32(wid.z);');
  w.line(`  let row0 = i32(wid.y) * ${TILE} + i32(lid.y) * 4;`);
  w.line(`  let col0 = i32(wid.x) * ${TILE} + i32(lid.x) * 4;`);
  w.line('  // Tiles with nothing to compute (below the diagonal, outside the window) stop here, together.');
  w.line('  if (li == 0u) { atomicStore(&any_active, 0u); }');
  w.line('  workgroupBarrier();');
  w.line('  var mine = false;');
  w.line('  for (var i = 0; i < 4; i++) {');
  w.line('    for (var j = 0; j < 4; j++) { mine = mine || is_active(prob, row0 + i, col0 + j); }');
  w.line('  }');
  w.line('  if (mine) { atomicOr(&any_active, 1u); }');
  w.line('  workgroupBarrier();');
  w.line('  if (li == 0u) { go = atomicLoad(&any_active); }');
  w.line('  if (workgroupUniformLoad(&go) == 0u) { return; }');
  w.line('  // Each thread loads 4 consecutive k of one row and of one column per step.');
  w.line(`  let load_r = i32(wid.y) * ${TILE} + i32(li / 4u);`);
  w.line(`  let load_c = i32(wid.x) * ${TILE} + i32(li / 4u);`);
  w.line('  let load_k = i32(li % 4u) * 4;');
  w.line(`  let ok_r = load_r < ${R};`);
  w.line(`  let ok_c = load_c < ${C};`);
  for (const l of [...t.setupA, ...t.setupB]) w.line(`  ${l}`);
  w.line(`  let slot = i32(li / 16u);`);
  w.line(`  let lane = i32((li / 4u) % 4u);`);
  w.line('  var acc0 = vec4<f32>(0.0f);');
  w.line('  var acc1 = vec4<f32>(0.0f);');
  w.line('  var acc2 = vec4<f32>(0.0f);');
  w.line('  var acc3 = vec4<f32>(0.0f);');
  w.line(`  for (var k0 = ${K0}; k0 < ${K1}; k0 += ${TILE_K}) {`);
  w.line('    for (var j = 0; j < 4; j++) {');
  w.line('      let k = k0 + load_k + j;');
  w.line('      var va = 0.0f;');
  w.line('      var vb = 0.0f;');
  w.line(`      if (k < ${K1}) {`);
  w.line(`        if (ok_r) { va = ${t.loadA}; }`);
  w.line(`        if (ok_c) { vb = ${t.loadB}; }`);
  w.line('      }');
  w.line(`      tile_a[(load_k + j) * ${q} + slot][lane] = va;`);
  w.line(`      tile_b[(load_k + j) * ${q} + slot][lane] = vb;`);
  w.line('    }');
  w.line('    workgroupBarrier();');
  w.line('    // A partial sum per step, added to the running sum: blocked summation keeps f32 error low.');
  w.line('    var p0 = vec4<f32>(0.0f);');
  w.line('    var p1 = vec4<f32>(0.0f);');
  w.line('    var p2 = vec4<f32>(0.0f);');
  w.line('    var p3 = vec4<f32>(0.0f);');
  w.line(`    for (var kk = 0; kk < ${TILE_K}; kk++) {`);
  w.line(`      let a = tile_a[kk * ${q} + i32(lid.y)];`);
  w.line(`      let b = tile_b[kk * ${q} + i32(lid.x)];`);
  w.line('      p0 += a.x * b;');
  w.line('      p1 += a.y * b;');
  w.line('      p2 += a.z * b;');
  w.line('      p3 += a.w * b;');
  w.line('    }');
  w.line('    acc0 += p0;');
  w.line('    acc1 += p1;');
  w.line('    acc2 += p2;');
  w.line('    acc3 += p3;');
  w.line('    workgroupBarrier();');
  w.line('  }');
  const own = symmetric ? ', false' : '';
  w.line('  for (var j = 0; j < 4; j++) {');
  w.line(`    finish(prob, row0, col0 + j, acc0[j]${own});`);
  w.line(`    finish(prob, row0 + 1, col0 + j, acc1[j]${own});`);
  w.line(`    finish(prob, row0 + 2, col0 + j, acc2[j]${own});`);
  w.line(`    finish(prob, row0 + 3, col0 + j, acc3[j]${own});`);
  w.line('  }');
  if (symmetric) {
    // Mirror images lie along columns of the Hessian: written by threads that take consecutive
    // rows of the tile, through workgroup memory, a quarter of the tile (16 rows) at a time.
    w.line('  // Mirrors: consecutive threads take consecutive rows, so that their writes are contiguous.');
    w.line(`  let tile_r = i32(wid.y) * ${TILE};`);
    w.line(`  let tile_c = i32(wid.x) * ${TILE};`);
    w.line('  for (var h = 0; h < 4; h++) {');
    w.line('    if (i32(lid.y) / 4 == h) {');
    w.line('      let rl = (i32(lid.y) % 4) * 4;');
    w.line('      for (var j = 0; j < 4; j++) {');
    w.line(`        let cl = i32(lid.x) * 4 + j;`);
    w.line('        quarter[cl * 16 + rl] = acc0[j];');
    w.line('        quarter[cl * 16 + rl + 1] = acc1[j];');
    w.line('        quarter[cl * 16 + rl + 2] = acc2[j];');
    w.line('        quarter[cl * 16 + rl + 3] = acc3[j];');
    w.line('      }');
    w.line('    }');
    w.line('    workgroupBarrier();');
    w.line('    for (var t = 0; t < 4; t++) {');
    w.line('      let rl = i32(li % 16u);');
    w.line('      let cl = i32(li / 16u) + 16 * t;');
    w.line('      finish(prob, tile_r + h * 16 + rl, tile_c + cl, quarter[cl * 16 + rl], true);');
    w.line('    }');
    w.line('    workgroupBarrier();');
    w.line('  }');
  }
  w.line('}');
}

// ---- pair-symmetric blocks -----------------------------------------------------------------------
//
// A pair block (5-lower/pair-nest.ts, loops.ts PairBlock) is the matrix product
//   T[(a, c), (b, d)] = Σ_s (w[s]·A[a, s]·A[c, s]) · (B[b, s]·B[d, s])
// over the row pairs a ≤ c and the column pairs b ≤ d (b alone when diagonal), so it runs as a
// tiled product like the blocks above: the tile loads form each side's value from its two factors
// on the fly, and finish() stores the sum at every entry it stands for, as the pair nest does.

/**
 * The pairs (x, y), x ≤ y < m, laid out as a rectangle that tiles cover without waste. For even
 * m, rectangle row i holds triangle row i (m − i pairs) and then row m − 1 − i (i + 1 pairs):
 * m / 2 rows of m + 1. For odd m, row i holds triangle row i, then row m − i (i pairs): (m + 1) / 2
 * rows of m. Flat index r = i·width + j; m(m + 1) / 2 in all, each pair exactly once.
 */
export function pairFold(m: number): { readonly width: number; readonly count: number } {
  return { width: m % 2 === 0 ? m + 1 : m, count: (m * (m + 1)) / 2 };
}

/** The pair at flat index r of pairFold(m) (the shaders' pair_of_m, here for the tests). */
export function pairAt(m: number, r: number): [number, number] {
  const W = pairFold(m).width;
  const i = Math.floor(r / W);
  const j = r - i * W;
  if (j < m - i) return [i, i + j];
  return m % 2 === 0 ? [m - 1 - i, j - 1] : [m - i, j];
}

/** The pair form of a block of pair loops (null for other blocks). */
function pairPlan(block: Extract<Stmt, { k: 'block' }>): PairBlock | null {
  // (WGSL_TARGET.pairNeedsForm: the lowering pairs only terms whose block carries its form. A
  // block without it would run its pair loops as plain units: correct, but with a block's work
  // on one thread per row entry.)
  const p = block.pair;
  if (p && p.out.buf !== 'hessian') throw new Error(`internal: a pair block writes ${p.out.buf}, not the Hessian`);
  return p ?? null;
}

/**
 * A pair block's shader: helpers, is_active, finish and the tile loop. Every block is tiled
 * whatever its size (the tile loop's bounds checks make any size correct; the lowering pairs only
 * blocks of PAIR_MIN_ENTRIES pairs or more). Returns the dispatch's grid of rows × columns.
 */
function emitPairTiled(w: Writer, p: PairBlock): { rows: Dim[]; cols: Dim[] } {
  const rows = pairFold(p.m);
  const cols = p.diagonal ? { width: p.m2, count: p.m2 } : pairFold(p.m2);
  const R = String(rows.count);
  const C = String(cols.count);
  const pairFn = (m: number): string => {
    const name = `pair_of_${m}`;
    if (!w.once(name)) return name;
    const f = pairFold(m);
    w.line(`/** Pair (x, y), x ≤ y < ${m}, at flat index r of the folded triangle (${m % 2 === 0 ? `${m / 2} rows of ${f.width}` : `${(m + 1) / 2} rows of ${f.width}`}). */`);
    w.line(`fn ${name}(r: i32) -> vec2<i32> {`);
    w.line(`  let i = r / ${f.width};`);
    w.line(`  let j = r - i * ${f.width};`);
    w.line(`  if (j < ${m} - i) { return vec2<i32>(i, i + j); }`);
    w.line(m % 2 === 0 ? `  return vec2<i32>(${m - 1} - i, j - 1);` : `  return vec2<i32>(${m} - i, j);`);
    w.line('}');
    w.line();
    return name;
  };
  const rowPair = pairFn(p.m);
  const colPair = p.diagonal ? null : pairFn(p.m2);
  const [pa, pb, pc, pd] = (['pa', 'pb', 'pc', 'pd'] as const).map(int) as [Expr, Expr, Expr, Expr];
  /** Integer lets of the pairs' coordinates at flat row r and column c. */
  const decodePairs = (ind: string) => {
    w.line(`${ind}let rp = ${rowPair}(r);`);
    w.line(`${ind}let pa = rp.x;`);
    w.line(`${ind}let pc = rp.y;`);
    if (colPair) {
      w.line(`${ind}let cp = ${colPair}(c);`);
      w.line(`${ind}let pb = cp.x;`);
      w.line(`${ind}let pd = cp.y;`);
    } else w.line(`${ind}let pb = c;`);
  };
  const at = (pl: { base: Expr; strides: readonly Expr[] }, xs: readonly Expr[]): Expr => xs.reduce((e, x, k) => add(e, mul(x, pl.strides[k]!)), pl.base);
  const factor = (f: PairBlock['G'], x: Expr, y: Expr): Expr => (f ? { k: 'load', buf: f.buf, index: add(f.base, add(mul(x, f.rs), mul(y, f.cs))) } : num(1));
  // The entries a sum stands for: (a, b, c, d) and, when a < c and b < d, (a, d, c, b); each with its mirror.
  const first = p.diagonal ? [pa, pb, pc, pb] : [pa, pb, pc, pd];
  const second = [pa, pd, pc, pb];

  w.line('/** Whether sum (r, c) is computed here: a pair of the block, one of its entries in the window. */');
  w.line('fn is_active(prob: i32, r: i32, c: i32) -> bool {');
  w.line(`  if (r >= ${R} || c >= ${C}) { return false; }`);
  decodePairs('  ');
  // (The second entry is checked even where it is not stored: with a = c or b = d it is an entry
  // of the block's own, so at worst a tile runs for nothing.)
  const places = [at(p.out, first), at(p.mirror, first), ...(p.diagonal ? [] : [at(p.out, second), at(p.mirror, second)])];
  w.line(`  return ${places.map((e) => `in_window(${w.hessAt(e)})`).join(' || ')};`);
  w.line('}');
  w.line();
  w.line('/** Stores sum (r, c) at the entries it stands for, each with its mirror (as 5-lower/pair-nest.ts does). */');
  w.line('fn finish(prob: i32, r: i32, c: i32, total: f32) {');
  w.line(`  if (r >= ${R} || c >= ${C}) { return; }`);
  decodePairs('  ');
  const local = (name: string): Expr => ({ k: 'local', name });
  w.stmt({ k: 'let', name: 'pair_scale', int: false, value: p.scale }, '  ', 'return');
  w.stmt({ k: 'let', name: 'part', int: false, value: mul(mul(local('pair_scale'), factor(p.K, pa, pc)), local('total')) }, '  ', 'return');
  w.stmt({ k: 'storeSym', buf: 'hessian', index: at(p.out, first), mirror: at(p.mirror, first), value: mul(local('part'), factor(p.G, pb, p.diagonal ? pb : pd)) }, '  ', 'return');
  if (!p.diagonal) {
    w.line('  if (pa < pc && pb < pd) {');
    w.stmt({ k: 'storeSym', buf: 'hessian', index: at(p.out, second), mirror: at(p.mirror, second), value: mul(local('part'), factor(p.G, pd, pb)) }, '    ', 'return');
    w.line('  }');
  }
  w.line('}');
  w.line();

  // Each side's value at s: its factors' rows found once per thread, the sum contiguous in each.
  const el = (f: { buf: string; base: Expr }, x: Expr | null, ld: Expr | null) => w.element(f.buf, x && ld ? add(f.base, mul(x, ld)) : f.base);
  const ea = el(p.A, int('ra'), p.A.ld);
  const ec = el(p.A, int('rc'), p.A.ld);
  const eb = el(p.B, int('cb'), p.B.ld);
  const ed = colPair ? el(p.B, int('cd'), p.B.ld) : null;
  const ew = p.w ? el(p.w, null, null) : null;
  const setupA = [`let row_pair = ${rowPair}(select(0, load_r, ok_r));`, 'let ra = row_pair.x;', 'let rc = row_pair.y;', `let at_a = ${ea.index};`, `let at_c = ${ec.index};`, ...(ew ? [`let at_w = ${ew.index};`] : [])];
  const setupB = colPair
    ? [`let col_pair = ${colPair}(select(0, load_c, ok_c));`, 'let cb = col_pair.x;', 'let cd = col_pair.y;', `let at_b = ${eb.index};`, `let at_d = ${ed!.index};`]
    : ['let cb = select(0, load_c, ok_c);', `let at_b = ${eb.index};`];
  emitTileLoop(w, {
    R, C, K0: '0', K1: w.int(p.depth), symmetric: false,
    setupA,
    setupB,
    loadA: `${ea.array}[at_a + k] * ${ec.array}[at_c + k]${ew ? ` * ${ew.array}[at_w + k]` : ''}`,
    loadB: ed ? `${eb.array}[at_b + k] * ${ed.array}[at_d + k]` : `${eb.array}[at_b + k]`,
  });
  return { rows: [rows.count], cols: [cols.count] };
}

// ---- statements and expressions ------------------------------------------------------------------

function forEachName(e: Expr, f: (name: string) => void): void {
  switch (e.k) {
    case 'int': case 'local': f(e.name); break;
    case 'load': forEachName(e.index, f); break;
    case 'bin': case 'max': forEachName(e.a, f); forEachName(e.b, f); break;
    case 'call': forEachName(e.arg, f); break;
    default: break;
  }
}

/** Expressions deeper than this are split into lets (Tint limits expression depth). */
const MAX_DEPTH = 24;

class Writer {
  private readonly lines: string[] = [];
  private readonly fns = new Map<string, MapFn>();
  private readonly used = new Set<string>();
  private readonly helpers = new Set<string>();
  private hoisted: string[] | null = null;
  /** In a tiled unit's finish(): the name of its flag saying whether this call writes mirrors only. */
  mirrorPass: string | null = null;
  private counter = 0;
  readonly nn: string;

  /** `sparse`: a hessianSparse twin (Hessian stores go to CSR slots, see hessAt). */
  constructor(private readonly ctx: ShaderContext, private readonly sparse = false) {
    this.nn = String(ctx.n * ctx.n);
  }

  /** Where a Hessian entry of the current problem goes: its dense index, or its CSR slot. */
  hessAt(index: Expr): string {
    if (!this.sparse) return `prob * ${this.nn} + ${this.int(index)}`;
    this.used.add('pattern');
    return `hess_slot(prob, ${this.int(index)})`;
  }

  line(s = ''): void {
    this.lines.push(s);
  }

  /** True the first time a helper's name is asked for (so that it is written once per shader). */
  once(name: string): boolean {
    if (this.helpers.has(name)) return false;
    this.helpers.add(name);
    return true;
  }

  /** A statement; `skip` is what skipIfLess does outside loops (return from the thread). */
  stmt(st: Stmt, ind: string, skip: string): void {
    // Expressions too deep for one statement leave lets just before it.
    const emit = (text: () => string, at = ind) => {
      this.hoisted = [];
      const t = text();
      for (const h of this.hoisted) this.line(`${at}${h}`);
      this.hoisted = null;
      this.line(`${at}${t}`);
    };
    switch (st.k) {
      case 'let':
        emit(() => `let ${st.name}: ${st.int ? 'i32' : 'f32'} = ${st.int ? this.int(st.value) : this.float(st.value)};`);
        break;
      case 'var':
        emit(() => `var ${st.name}: f32 = ${this.float(st.value)};`);
        break;
      case 'update':
        emit(() => (st.op === '+' ? `${st.name} += ${this.float(st.value)};` : `${st.name} = max(${st.name}, ${this.float(st.value)});`));
        break;
      case 'store':
        if (this.mirrorPass) {
          // Written in the pass over entries; the mirror pass only writes mirrors.
          emit(() => `if (!${this.mirrorPass}) { ${this.store(st.buf, st.index, this.float(st.value), st.accumulate)} }`);
          break;
        }
        emit(() => this.store(st.buf, st.index, this.float(st.value), st.accumulate));
        break;
      case 'storeSym': {
        const k = this.counter++;
        this.line(`${ind}{`);
        const inner = ind + '  ';
        this.stmt({ k: 'let', name: `sv${k}`, int: false, value: st.value }, inner, skip);
        this.stmt({ k: 'let', name: `si${k}`, int: true, value: st.index }, inner, skip);
        this.stmt({ k: 'let', name: `sm${k}`, int: true, value: st.mirror }, inner, skip);
        const atIndex = this.store(st.buf, { k: 'int', name: `si${k}` }, `sv${k}`, true);
        const atMirror = this.store(st.buf, { k: 'int', name: `sm${k}` }, `sv${k}`, true);
        // (On the diagonal an entry is its own mirror: stored once.)
        if (this.mirrorPass) {
          this.line(`${inner}if (!${this.mirrorPass}) { ${atIndex} } else if (sm${k} != si${k}) { ${atMirror} }`);
        } else {
          this.line(`${inner}${atIndex}`);
          this.line(`${inner}if (sm${k} != si${k}) { ${atMirror} }`);
        }
        this.line(`${ind}}`);
        break;
      }
      case 'for': {
        emit(() => `for (var ${st.v}: i32 = ${this.int(st.from)}; ${st.v} < ${this.int(st.to)}; ${st.v}++) {`);
        for (const x of st.body) this.stmt(x, ind + '  ', 'continue');
        this.line(`${ind}}`);
        break;
      }
      case 'reduce':
      case 'reduceN': {
        // Blocked summation: partial sums of 64 terms added to the total, so that the f32
        // rounding error grows with 64 + length/64 terms rather than with the length.
        const names = st.k === 'reduce' ? [st.name] : st.names;
        const values = st.k === 'reduce' ? [st.value] : st.values;
        const k = this.counter++;
        for (const nm of names) this.line(`${ind}var ${nm}: f32 = 0.0f;`);
        this.line(`${ind}{`);
        emit(() => `var ${st.v}: i32 = ${this.int(st.from)};`, ind + '  ');
        emit(() => `let end${k}: i32 = ${this.int(st.to)};`, ind + '  ');
        this.line(`${ind}  while (${st.v} < end${k}) {`);
        this.line(`${ind}    let stop${k} = min(${st.v} + 64, end${k});`);
        this.line(`${ind}    ${names.map((_, j) => `var part${k}_${j}: f32 = 0.0f;`).join(' ')}`);
        this.line(`${ind}    for (; ${st.v} < stop${k}; ${st.v}++) {`);
        values.forEach((v, j) => emit(() => `part${k}_${j} += ${this.float(v)};`, ind + '      '));
        this.line(`${ind}    }`);
        this.line(`${ind}    ${names.map((nm, j) => `${nm} += part${k}_${j};`).join(' ')}`);
        this.line(`${ind}  }`);
        this.line(`${ind}}`);
        break;
      }
      case 'skipIfLess':
        emit(() => `if (${this.int(st.a)} < ${this.int(st.b)}) { ${skip}; }`);
        break;
      case 'block':
        if (st.comment) for (const c of st.comment.split('\n')) this.line(`${ind}// ${c}`);
        this.line(`${ind}{`);
        for (const x of st.body) this.stmt(x, ind + '  ', skip);
        this.line(`${ind}}`);
        break;
      case 'fill':
        throw new Error('internal: fill inside a unit');
      default:
        // (What only a CPU pass produces: the WGSL target's lowering runs none.)
        throw new Error(`internal: a ${st.k} statement reached the WGSL emitter`);
    }
  }

  private store(buf: string, index: Expr, value: string, accumulate: boolean): string {
    const op = accumulate ? '+=' : '=';
    if (buf === 'hessian') {
      // Hessian kernels always add to the cleared output (several terms meet in an entry).
      if (!accumulate) throw new Error('internal: a Hessian store that assigns');
      this.used.add('hessian');
      return `hess_add(${this.hessAt(index)}, ${value});`;
    }
    return `${this.ref(buf, index)} ${op} ${value};`;
  }

  /** A buffer element of the current problem. */
  private ref(buf: string, index: Expr): string {
    const { array, index: i } = this.element(buf, index);
    return `${array}[${i}]`;
  }

  /** Which bound array holds a buffer element of the current problem, and where. */
  element(buf: string, index: Expr): { array: string; index: string } {
    const i = this.int(index);
    const plus = i === '0' ? '' : ` + ${i}`;
    if (buf === 'theta') {
      this.used.add('theta');
      return { array: 'theta', index: `prob * P.${THETA_STRIDE_FIELD}${plus}` };
    }
    if (buf === 'value') {
      this.used.add('value');
      return { array: 'value', index: `prob${plus}` };
    }
    if (buf === 'gradient' || buf === 'hvp' || buf === 'hessianDiagonal') {
      this.used.add('gradient');
      return { array: 'gradient', index: `prob * ${this.ctx.n}${plus}` };
    }
    if (buf === 'v') {
      // The direction of H·v: in θ's binding, after θ.
      this.used.add('theta');
      return { array: 'theta', index: `prob * P.${THETA_STRIDE_FIELD} + ${this.ctx.n}${plus}` };
    }
    const d = this.ctx.dataIndex.get(buf);
    if (d !== undefined) {
      this.used.add('data');
      const scalar = this.ctx.buffers.find((b) => b.name === buf)?.scalar;
      return { array: 'data', index: `P.${dataOffsetField(d)} + prob * P.${dataStrideField(d)}${scalar ? '' : plus}` };
    }
    const t = this.ctx.tempIndex.get(buf);
    if (t === undefined) throw new Error(`internal: unknown buffer ${buf}`);
    this.used.add('temp');
    return { array: 'temp', index: `P.${tempOffsetField(t)} + prob * P.${tempStrideField(t)}${plus}` };
  }

  int(e: Expr): string {
    return this.expr(e, 'i').text;
  }

  float(e: Expr): string {
    return this.expr(e, 'f').text;
  }

  private type(e: Expr): 'i' | 'f' | 'n' {
    switch (e.k) {
      // A fraction makes the arithmetic around it float.
      case 'num': return Number.isInteger(e.v) ? 'n' : 'f';
      case 'int': case 'dim': case 'extent': case 'offset': case 'max': return 'i';
      case 'local': case 'load': case 'call': return 'f';
      case 'bin': {
        const a = this.type(e.a);
        const b = this.type(e.b);
        return a === 'f' || b === 'f' ? 'f' : a === 'i' || b === 'i' ? 'i' : 'n';
      }
    }
  }

  private expr(e: Expr, want: 'i' | 'f'): { text: string; depth: number; atom: boolean } {
    const own = this.type(e);
    if (want === 'f' && own === 'i') {
      const inner = this.expr(e, 'i');
      return { text: `f32(${inner.text})`, depth: inner.depth + 1, atom: true };
    }
    switch (e.k) {
      case 'num': {
        if (want === 'f') return { text: wgslFloat(e.v), depth: 0, atom: true };
        if (!Number.isInteger(e.v)) throw new Error(`internal: integer context for ${e.v}`);
        return { text: e.v < 0 ? `(${e.v})` : String(e.v), depth: 0, atom: true };
      }
      case 'int': case 'local': return { text: e.name, depth: 0, atom: true };
      case 'dim': case 'extent': return { text: `P.${dimField(e.name)}`, depth: 0, atom: true };
      // Unstreamed (the GPU holds the whole batch), a chunk starts at 0 and `extent` is the dim.
      case 'offset': return { text: '0', depth: 0, atom: true };
      case 'load': {
        const buf = this.ctx.buffers.find((b) => b.name === e.buf);
        const text = buf?.scalar ? this.ref(e.buf, { k: 'num', v: 0 }) : this.ref(e.buf, e.index);
        return { text, depth: 1, atom: true };
      }
      case 'max': {
        const a = this.expr(e.a, 'i');
        const b = this.expr(e.b, 'i');
        return this.deep(`max(${a.text}, ${b.text})`, Math.max(a.depth, b.depth) + 1, want);
      }
      case 'call': {
        this.addFn(e.fn);
        const a = this.expr(e.arg, 'f');
        return this.deep(`${wgslFnName(e.fn)}(${a.text})`, a.depth + 1, want);
      }
      case 'bin': {
        const t = own === 'f' ? 'f' : want;
        const a = this.expr(e.a, t);
        const b = this.expr(e.b, t);
        if (e.op === '*' && e.a.k === 'num' && e.a.v === -1) return this.deep(`-${paren(b)}`, b.depth + 1, want);
        const left = a.text;
        const right = e.op === '+' ? b.text : paren(b);
        const lt = e.op === '*' ? paren(a) : left;
        return this.deep(`${lt} ${e.op} ${right}`, Math.max(a.depth, b.depth) + 1, want, false);
      }
    }
  }

  /** Splits an expression into a let once it is deep (only possible inside a statement). */
  private deep(text: string, depth: number, want: 'i' | 'f', atom = true): { text: string; depth: number; atom: boolean } {
    if (depth < MAX_DEPTH || this.hoisted === null) return { text, depth, atom };
    const name = `e${this.counter++}`;
    this.hoisted.push(`let ${name}: ${want === 'i' ? 'i32' : 'f32'} = ${text};`);
    return { text: name, depth: 0, atom: true };
  }

  private addFn(fn: MapFn): void {
    const key = wgslFnName(fn);
    if (this.fns.has(key)) return;
    this.fns.set(key, fn);
    for (const d of wgslFnDeps(fn)) this.addFn(d);
  }

  /** The whole shader: parameters, bindings, helpers, functions, then the body written so far. */
  module(header: readonly string[]): { code: string; fields: string[] } {
    const out: string[] = [];
    for (const b of STORAGE_BINDINGS) {
      if (this.used.has(b.role)) out.push(`@group(0) @binding(${b.binding}) var<storage, ${b.access}> ${b.role}: array<f32>;`);
    }
    // A sparse twin sees the values through one window fewer: the last binding holds the pattern.
    const windows = this.sparse ? HESSIAN_WINDOWS - 1 : HESSIAN_WINDOWS;
    if (this.used.has('hessian')) {
      for (let k = 0; k < windows; k++) out.push(`@group(0) @binding(${FIRST_HESSIAN_BINDING + k}) var<storage, read_write> hess${k}: array<f32>;`);
    }
    if (this.used.has('pattern')) {
      out.push(`@group(0) @binding(${FIRST_HESSIAN_BINDING + HESSIAN_WINDOWS - 1}) var<storage, read_write> pattern: array<i32>; // rowPtr (n + 1), then colIdx`);
    }
    out.push('');
    if (this.used.has('pattern')) {
      const n = this.ctx.n;
      out.push('// The CSR slot of dense entry i (row-major n × n) in the values of problem prob: a binary search');
      out.push('// in its row; -1 (no store) outside the pattern, which the compiler rules out.');
      out.push('fn hess_slot(prob: i32, i: i32) -> i32 {');
      out.push(`  let r = i / ${n};`);
      out.push(`  let c = i - r * ${n};`);
      out.push('  var lo = pattern[r];');
      out.push('  let end = pattern[r + 1];');
      out.push('  var hi = end;');
      out.push('  while (lo < hi) {');
      out.push('    let m = (lo + hi) / 2;');
      out.push(`    if (pattern[${n + 1} + m] < c) { lo = m + 1; } else { hi = m; }`);
      out.push('  }');
      out.push(`  if (lo >= end || pattern[${n + 1} + lo] != c) { return -1; }`);
      out.push(`  return prob * pattern[${n}] + lo;`);
      out.push('}');
      out.push('');
    }
    if (this.used.has('hessian')) {
      out.push(`// The ${this.sparse ? 'sparse values are' : 'Hessian is'} bound as ${windows} windows of P.win_len elements from P.win_start (P.win_span in all).`);
      out.push('fn in_window(i: i32) -> bool {');
      out.push('  let j = i - P.win_start;');
      out.push('  return j >= 0 && j < P.win_span;');
      out.push('}');
      // (Comparisons, not a division: this runs for every entry written.)
      out.push('fn hess_add(i: i32, v: f32) {');
      out.push('  let j = i - P.win_start;');
      out.push('  if (j < 0 || j >= P.win_span) { return; }');
      for (let k = 0; k < windows; k++) {
        const at = k === 0 ? 'j' : `j - ${k} * P.win_len`;
        if (k < windows - 1) out.push(`  ${k === 0 ? '' : 'else '}if (j < ${k + 1} * P.win_len) { hess${k}[${at}] += v; }`);
        else out.push(`  ${k === 0 ? '' : 'else '}{ hess${k}[${at}] += v; }`);
      }
      out.push('}');
      out.push('');
    }
    for (const fn of [...this.fns.values()].sort((a, b) => wgslFnName(a).localeCompare(wgslFnName(b)))) {
      out.push(wgslFnDefinition(fn));
      out.push('');
    }
    for (const l of this.lines) out.push(l); // (no spread: a shader can have very many lines)
    // The parameters this shader reads, in the engine's canonical order.
    const text = out.join('\n');
    const used = new Set([...text.matchAll(/\bP\.(\w+)/g)].map((m) => m[1]!));
    const fields = this.ctx.fields.filter((f) => used.has(f));
    const head = [...header, '', 'struct Params {', ...fields.map((f) => `  ${f}: ${U32_FIELDS.has(f) ? 'u32' : 'i32'},`), '}', `@group(0) @binding(${UNIFORM_BINDING}) var<uniform> P: Params;`];
    return { code: [...head, text].join('\n') + '\n', fields };
  }
}

function paren(x: { text: string; atom: boolean }): string {
  return x.atom ? x.text : `(${x.text})`;
}
