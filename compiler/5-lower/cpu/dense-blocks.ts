// CPU pass: loop nests that are dense matrix products become calls of the dense kernels.
//
// A dense Hessian block's term, after 4-simplify packs its row and column sides, lowers to
//   for rows… for cols… { acc = Σ_k R[row, k]·C[col, k]; out[row, col] (+)= scale·acc }
// with R and C workspaces whose summed index k is innermost (contiguous). This pass recognizes
// exactly that form on the lowered loops (the GPU emitter's tiled-product detection looks for the
// same one) and replaces the nest by a `denseBlock` statement: T = R·Cᵀ through the register- and
// cache-blocked kernels of runtime/wasm, then scale·T stored at the same positions, mirrors
// included. It proves, on linear forms of the indices, that every position the loops address
// equals base + r·stride + c·stride over the flattened row r and column c (and that a diagonal
// block's skip is exactly c ≥ r); anything else keeps its loops. The original nest stays in the
// statement for emitters that need the loops (the sparse Hessian's slot stores). A block of pair
// loops (../pair-nest.ts) says what it is (`pair`) and becomes a `pairBlock` call as it stands.

import type { Buffer, DenseSplit, Expr, PairBlock, Program, Stmt } from '../loops.ts';
import { add, mul, num } from '../loops.ts';
import { polyAdd, polyConst, polyEq, polyMul, type Poly } from './poly.ts';

/** Products smaller than this (rows × columns) keep their loops: the call and the tile store cost more. */
export const MIN_ENTRIES = 256;

// ---- linear forms with polynomial coefficients -------------------------------------------------

/** A linear form in the loop variables: variable ('' for the constant part) -> coefficient. */
type Lin = Map<string, Poly>;

const isConstLin = (l: Lin): boolean => [...l.keys()].every((k) => k === '');
const constPart = (l: Lin): Poly => l.get('') ?? new Map();

function linAdd(a: Lin, b: Lin, sign = 1): Lin {
  const r = new Map(a);
  for (const [k, p] of b) {
    const s = polyAdd(r.get(k) ?? new Map(), p, sign);
    if (s.size === 0) r.delete(k);
    else r.set(k, s);
  }
  return r;
}
function linScale(a: Lin, p: Poly): Lin {
  const r: Lin = new Map();
  for (const [k, q] of a) {
    const s = polyMul(q, p);
    if (s.size > 0) r.set(k, s);
  }
  return r;
}
const linEq = (a: Lin, b: Lin): boolean => linAdd(a, b, -1).size === 0;

/** Symbols of the polynomials and the expressions they stand for. */
type Symbols = Map<string, Expr>;

/**
 * The linear form of an integer expression in the loop variables `vars`; `lets` gives integer
 * locals by their forms. Null when it is not linear (a product of two loop-dependent parts, a max).
 */
function linearize(e: Expr, vars: ReadonlySet<string>, lets: ReadonlyMap<string, Lin>, syms: Symbols, fixed: ReadonlySet<string> = new Set()): Lin | null {
  switch (e.k) {
    case 'num':
      return new Map(e.v === 0 ? [] : [['', polyConst(e.v)]]);
    case 'int': {
      if (vars.has(e.name)) return new Map([[e.name, polyConst(1)]]);
      // A loop kept around the product: constant for it, a symbol like a dimension.
      if (fixed.has(e.name)) {
        const key = `int:${e.name}`;
        syms.set(key, e);
        return new Map([['', new Map([[key, 1]])]]);
      }
      return lets.get(e.name) ?? null;
    }
    case 'dim':
    case 'extent':
    case 'offset': {
      const key = `${e.k}:${e.name}`;
      syms.set(key, e);
      return new Map([['', new Map([[key, 1]])]]);
    }
    case 'bin': {
      const a = linearize(e.a, vars, lets, syms, fixed);
      const b = linearize(e.b, vars, lets, syms, fixed);
      if (!a || !b) return null;
      if (e.op === '+') return linAdd(a, b);
      if (e.op === '-') return linAdd(a, b, -1);
      if (isConstLin(a)) return linScale(b, constPart(a));
      if (isConstLin(b)) return linScale(a, constPart(b));
      return null;
    }
    default:
      return null;
  }
}

/** A polynomial as an expression (monomials in a fixed order, so output is deterministic). */
function polyExpr(p: Poly, syms: Symbols): Expr {
  let e: Expr = num(0);
  for (const key of [...p.keys()].sort()) {
    let m: Expr = num(p.get(key)!);
    for (const s of key.split('*').filter((x) => x !== '')) m = mul(m, syms.get(s)!);
    e = add(e, m);
  }
  return e;
}

// ---- the pass ----------------------------------------------------------------------------------

interface Level {
  readonly v: string;
  readonly from: Expr;
  readonly to: Expr;
  readonly pre: readonly Stmt[];
}

export type DenseBlockStmt = Extract<Stmt, { k: 'denseBlock' }>;

/** The program with each dense matrix-product nest replaced by a denseBlock statement. */
/** `minEntries`: products with fewer rows × columns keep their loops (tests lower it to 1). */
export function denseBlocks(p: Program, options: { minEntries?: number } = {}): Program {
  const temps = tempsOf(p);
  const min = options.minEntries ?? MIN_ENTRIES;
  const added: Buffer[] = [];
  // (Numbered after those of an earlier run of the pass.)
  const taken = p.buffers.filter((b) => b.name.startsWith('pu')).length;
  const rewrite = (sts: readonly Stmt[]): Stmt[] =>
    sts.map((st) => (st.k === 'block' ? (st.pair ? pairBlock(st, st.pair, min, added, taken) : matchBlock(st, temps, min)) ?? st : st));
  const kernels = p.kernels.map((k) => ({ ...k, body: rewrite(k.body) }));
  return { ...p, buffers: [...p.buffers, ...added], kernels };
}

const tempsOf = (p: Program): Set<string> => new Set(p.buffers.filter((b: Buffer) => b.kind === 'temp').map((b) => b.name));

/** Whether this pass would make the block a call of the dense kernels (earlier passes then leave it as it is). */
export function isDenseProduct(p: Program, block: Extract<Stmt, { k: 'block' }>): boolean {
  return block.pair === undefined && matchBlock(block, tempsOf(p), MIN_ENTRIES) !== null;
}

/**
 * A block of pair loops (5-lower/pair-nest.ts) as the kernels' call, with the two workspaces
 * the kernels pack its rows and columns into; null when it is too small to pay.
 */
function pairBlock(block: Extract<Stmt, { k: 'block' }>, pair: PairBlock, minEntries: number, added: Buffer[], taken: number): Stmt | null {
  const P = (pair.m * (pair.m + 1)) / 2;
  const Q = pair.diagonal ? pair.m2 : (pair.m2 * (pair.m2 + 1)) / 2;
  if (P * Q < minEntries) return null;
  const u = `pu${taken + added.length / 2}`;
  const v = `pv${taken + added.length / 2}`;
  added.push({ name: u, kind: 'temp', shape: [P, pair.depthDim] }, { name: v, kind: 'temp', shape: [Q, pair.depthDim] });
  return { k: 'pairBlock', pair, u, v, loops: block };
}

/** Whether a dense block stores into the Hessian (the emitter may then keep it in the kernels' memory). */
export function denseWritesHessian(p: Program): boolean {
  const visit = (sts: readonly Stmt[]): boolean => sts.some((st) => (st.k === 'denseBlock' && st.out.buf === 'hessian') || (st.k === 'block' && visit(st.body)));
  return p.kernels.some((k) => visit(k.body));
}

/** The buffers that dense blocks read (the workspaces that must live in the kernels' memory). */
export function denseOperands(p: Program): Set<string> {
  const out = new Set<string>();
  const visit = (sts: readonly Stmt[]): void => {
    for (const st of sts) {
      if (st.k === 'denseBlock') out.add(st.a.buf).add(st.b.buf);
      else if (st.k === 'pairBlock') out.add(st.u).add(st.v);
      else if (st.k === 'block') visit(st.body);
    }
  };
  for (const k of p.kernels) visit(k.body);
  return out;
}

function matchBlock(block: Extract<Stmt, { k: 'block' }>, temps: ReadonlySet<string>, minEntries: number): Stmt | null {
  const sts = block.body;
  const nest = sts[sts.length - 1];
  const outer = sts.slice(0, -1);
  if (!nest || !outer.every((st) => st.k === 'let')) return null;
  // The levels: each loop is the last statement of its scope, after integer lets and skips.
  const levels: Level[] = [];
  let cur: readonly Stmt[] = [nest];
  for (;;) {
    const last = cur[cur.length - 1];
    const before = cur.slice(0, -1);
    const loop = last && ((last.k === 'for' && last.kind === 'parallel') || last.k === 'forStep') ? last : null;
    if (!loop) break;
    if (!before.every((st) => st.k === 'let' || st.k === 'skipIfLess')) return null;
    levels.push({ v: loop.v, from: loop.from, to: loop.to, pre: before });
    cur = loop.k === 'for' ? loop.body : loop.rest;
  }
  // The whole nest as one product; else, where its entries share an index between row and column
  // (the (W1, W2) block of an MLP: H[(i, h), (h, o)]), the outermost loops kept around a product
  // per iteration, as few as will do.
  for (let kept = 0; levels.length - kept >= 2; kept++) {
    const dense = matchLevels(block, outer, levels.slice(0, kept), levels.slice(kept), cur, temps, minEntries);
    if (dense) return dense;
  }
  return null;
}

/** matchBlock with the loops `kept` staying loops around the product of the loops `levels`. */
function matchLevels(block: Extract<Stmt, { k: 'block' }>, outer: readonly Stmt[], kept: readonly Level[], levels: readonly Level[], cur: readonly Stmt[], temps: ReadonlySet<string>, minEntries: number): Stmt | null {
  // The kept loops' own statements are index arithmetic, folded into the product's bases.
  if (!kept.every((l) => l.pre.every((st) => st.k === 'let' && st.int))) return null;
  const fixed = new Set(kept.map((l) => l.v));
  const vars = new Set(levels.map((l) => l.v));
  const reduces = cur.filter((st) => st.k === 'reduce');
  const stores = cur.filter((st) => st.k === 'store' || st.k === 'storeSym');
  if (reduces.length !== 1 || stores.length !== 1) return null;
  if (!cur.every((st) => st.k === 'let' || st.k === 'reduce' || st.k === 'store' || st.k === 'storeSym')) return null;
  const reduce = reduces[0] as Extract<Stmt, { k: 'reduce' }>;
  const store = stores[0] as Extract<Stmt, { k: 'store' | 'storeSym' }>;
  const factors = productOf(reduce.value);
  if (factors.length !== 2 || factors.some((f) => f.k !== 'load' || !temps.has(f.buf))) return null;

  // Integer lets of the levels and the innermost body, by their linear forms.
  const syms: Symbols = new Map();
  const lets = new Map<string, Lin>();
  const allVars = new Set([...vars, reduce.v]);
  const lin = (e: Expr) => linearize(e, allVars, lets, syms, fixed);
  const scan = (list: readonly Stmt[]): boolean => {
    for (const st of list) {
      if (st.k !== 'let' || !st.int) continue;
      const l = lin(st.value);
      if (!l) return false;
      lets.set(st.name, l);
    }
    return true;
  };
  if (!scan(outer) || !kept.every((l) => scan(l.pre)) || !levels.every((l) => scan(l.pre)) || !scan(cur)) return null;

  // Loop extents independent of the loop variables; loops start at 0 (a lower bound is the
  // diagonal's, checked below).
  const extents: Poly[] = [];
  for (const l of levels) {
    const t = lin(l.to);
    if (!t || !isConstLin(t)) return null;
    extents.push(constPart(t));
  }
  const loads = factors as Extract<Expr, { k: 'load' }>[];
  const sideVars = loads.map((f) => {
    const l = lin(f.index);
    return l ? new Set([...l.keys()].filter((k) => vars.has(k))) : null;
  });
  if (!sideVars[0] || !sideVars[1]) return null;
  // The row side holds the outermost loop.
  const rowFirst = sideVars[0].has(levels[0]!.v);
  const [aLoad, bLoad] = rowFirst ? [loads[0]!, loads[1]!] : [loads[1]!, loads[0]!];
  const [aVars, bVars] = rowFirst ? [sideVars[0], sideVars[1]] : [sideVars[1], sideVars[0]];
  if ([...aVars].some((v) => bVars.has(v)) || aVars.size + bVars.size !== vars.size) return null;
  const rowLevels = levels.map((l, k) => ({ v: l.v, ext: extents[k]! })).filter((l) => aVars.has(l.v));
  const colLevels = levels.map((l, k) => ({ v: l.v, ext: extents[k]! })).filter((l) => bVars.has(l.v));
  // Flat strides: r = Σ v_j · Π_{l > j} ext_l over the row loops (likewise c).
  const flat = (ls: typeof rowLevels): Map<string, Poly> => {
    const m = new Map<string, Poly>();
    let s = polyConst(1);
    for (let j = ls.length - 1; j >= 0; j--) {
      m.set(ls[j]!.v, s);
      s = polyMul(s, ls[j]!.ext);
    }
    return m;
  };
  const rowStride = flat(rowLevels);
  const colStride = flat(colLevels);
  const count = (ls: typeof rowLevels) => ls.reduce((s, l) => polyMul(s, l.ext), polyConst(1));
  const R = count(rowLevels);
  const C = count(colLevels);
  const known = (pp: Poly) => (pp.size === 1 && pp.has('') ? pp.get('')! : Infinity);
  if (known(R) * known(C) < minEntries) return null;

  /**
   * A position as base + r·rs + c·cs (+ k·ks): checks each loop's coefficient against the flat
   * strides and returns the base and the strides, or null.
   */
  const affine = (e: Expr, withK: boolean): { base: Poly; rs: Poly; cs: Poly } | null => {
    const l = lin(e);
    if (!l) return null;
    const kCoef = l.get(reduce.v) ?? new Map();
    if (withK ? !polyEq(kCoef, polyConst(1)) : kCoef.size > 0) return null;
    const strideOf = (ls: typeof rowLevels, st: Map<string, Poly>): Poly | null => {
      const last = ls[ls.length - 1];
      if (!last) return polyConst(0);
      const s = l.get(last.v) ?? new Map();
      return ls.every((x) => polyEq(l.get(x.v) ?? new Map(), polyMul(s, st.get(x.v)!))) ? s : null;
    };
    const rs = strideOf(rowLevels, rowStride);
    const cs = strideOf(colLevels, colStride);
    if (!rs || !cs) return null;
    return { base: constPart(l), rs, cs };
  };
  const a = affine(aLoad.index, true);
  const b = affine(bLoad.index, true);
  if (!a || !b || !polyEq(a.cs, new Map()) || !polyEq(b.rs, new Map())) return null;
  const o = affine(store.index, false);
  const m = store.k === 'storeSym' ? affine(store.mirror, false) : null;
  if (!o || (store.k === 'storeSym' && !m)) return null;

  // The stored value: scale · acc, or scale · F[entry] · acc, the scale known outside the loops
  // (float locals of the loops are expanded into their factors).
  const floatLets = new Map<string, Expr>();
  for (const st of [...levels.flatMap((l) => l.pre), ...cur]) if (st.k === 'let' && !st.int) floatLets.set(st.name, st.value);
  const expand = (e: Expr): Expr[] => productOf(e).flatMap((f) => (f.k === 'local' && floatLets.has(f.name) ? expand(floatLets.get(f.name)!) : [f]));
  const valueFactors = expand(store.value);
  const accAt = valueFactors.findIndex((f) => f.k === 'local' && f.name === reduce.name);
  if (accAt < 0 || valueFactors.filter((f) => f.k === 'local' && f.name === reduce.name).length !== 1) return null;
  const innerLocals = new Set([...lets.keys(), ...floatLets.keys(), reduce.name, ...vars, ...fixed]);
  const rest = valueFactors.filter((_, k) => k !== accAt);
  const entryFactors = rest.filter((f) => mentions(f, innerLocals));
  const scale = rest.filter((f) => !mentions(f, innerLocals)).reduce<Expr>((x, y) => mul(x, y), num(1));
  let factor: DenseBlockStmt['factor'] = null;
  if (entryFactors.length > 1) return null;
  if (entryFactors.length === 1) {
    const f = entryFactors[0]!;
    if (f.k !== 'load' || mentions(f.index, new Set([reduce.name, reduce.v, ...floatLets.keys()]))) return null;
    const l = lin(f.index);
    if (!l || (l.get(reduce.v)?.size ?? 0) > 0) return null;
    const split = (ls: typeof rowLevels, total: Poly): DenseSplit | null => {
      if (ls.length > 2) return null;
      const coef = (v: string) => polyExpr(l.get(v) ?? new Map(), syms);
      if (ls.length === 2) return { radix: polyExpr(ls[1]!.ext, syms), outer: coef(ls[0]!.v), inner: coef(ls[1]!.v) };
      return { radix: polyExpr(total, syms), outer: num(0), inner: coef(ls[0]!.v) };
    };
    const row = split(rowLevels, R);
    const col = split(colLevels, C);
    if (!row || !col) return null;
    factor = { buf: f.buf, base: polyExpr(constPart(l), syms), row, col };
  }

  // Lower bounds and skips: only the diagonal block's c ≥ r.
  const cMinusR = new Map<string, Poly>();
  for (const l of colLevels) cMinusR.set(l.v, colStride.get(l.v)!);
  for (const l of rowLevels) cMinusR.set(l.v, polyAdd(new Map(), rowStride.get(l.v)!, -1));
  let upper = false;
  for (const l of levels) {
    if (l.from.k === 'max') {
      if (!(l.from.a.k === 'num' && l.from.a.v === 0)) return null;
      const bound = lin(l.from.b);
      if (!bound || !linEq(linAdd(new Map([[l.v, polyConst(1)]]), bound, -1), cMinusR)) return null;
      upper = true;
    } else if (!(l.from.k === 'num' && l.from.v === 0)) return null;
    for (const st of l.pre) {
      if (st.k !== 'skipIfLess') continue;
      const x = lin(st.a);
      const y = lin(st.b);
      if (!x || !y || !linEq(linAdd(x, y, -1), cMinusR)) return null;
      upper = true;
    }
  }
  if (reduce.from.k !== 'num') return null;
  const kFrom = reduce.from.v;

  // Outer statements the scale needs (the other lets were index arithmetic, now folded in).
  const needed = new Set<string>();
  forEachName(scale, (x) => needed.add(x));
  const keep: Stmt[] = [];
  for (let j = outer.length - 1; j >= 0; j--) {
    const st = outer[j]!;
    if (st.k === 'let' && needed.has(st.name)) {
      keep.unshift(st);
      forEachName(st.value, (x) => needed.add(x));
    }
  }
  const P = (pp: Poly) => polyExpr(pp, syms);
  const dense: Stmt = {
    k: 'denseBlock',
    a: { buf: aLoad.buf, base: P(polyAdd(a.base, polyConst(kFrom))), ld: P(a.rs) },
    b: { buf: bLoad.buf, base: P(polyAdd(b.base, polyConst(kFrom))), ld: P(b.cs) },
    rows: P(R),
    cols: P(C),
    depth: add(reduce.to, num(-kFrom)),
    out: { buf: store.buf, base: P(o.base), rs: P(o.rs), cs: P(o.cs) },
    mirror: m ? { base: P(m.base), rs: P(m.rs), cs: P(m.cs) } : null,
    scale,
    factor,
    mode: store.k === 'storeSym' ? 'addMirror' : store.accumulate ? 'add' : 'assign',
    upper,
    outer: kept.map((l) => ({ v: l.v, from: l.from, to: l.to })),
    loops: block,
  };
  return { k: 'block', body: [...keep, dense], ...(block.comment !== undefined ? { comment: block.comment } : {}) };
}

function productOf(e: Expr): Expr[] {
  return e.k === 'bin' && e.op === '*' ? [...productOf(e.a), ...productOf(e.b)] : [e];
}

function forEachName(e: Expr, f: (name: string) => void): void {
  switch (e.k) {
    case 'int':
    case 'local':
      f(e.name);
      break;
    case 'load':
      forEachName(e.index, f);
      break;
    case 'bin':
    case 'max':
      forEachName(e.a, f);
      forEachName(e.b, f);
      break;
    case 'call':
      forEachName(e.arg, f);
      break;
    default:
      break;
  }
}

function mentions(e: Expr, names: ReadonlySet<string>): boolean {
  let hit = false;
  forEachName(e, (x) => {
    if (names.has(x)) hit = true;
  });
  return hit;
}
