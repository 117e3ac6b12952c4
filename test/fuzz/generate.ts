// A seeded generator of random, valid `.hess` models (docs/language.md) for the differential
// fuzz test. Every expression is built for a target shape, from shapes that some named value can
// produce, so models are shape-correct by construction. Each node also carries a rough bound on
// its magnitude: functions that grow fast (exp, cube, 2 .^ x, sinh) only see bounded arguments,
// denominators, log and sqrt arguments are bounded away from zero, and a node whose bound grows
// too large is squashed (tanh, atan, ...), so values stay moderate for finite differences.
import { makeRng } from '../helpers/rng.ts';
import type { Rng } from '../helpers/rng.ts';

/** A number is a fixed size; a string is a symbolic (run-time) dim. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface GeneratedModel {
  /** The seed string the model was drawn from. */
  readonly seed: string;
  readonly source: string;
  /** The run-time dims, each with two different sizes to evaluate at. */
  readonly symbolicDims: readonly { name: string; sizes: readonly [number, number] }[];
  /**
   * For a model with a term in a tail of σ, softplus or tanh (σ(30 + w) scaled by 1e13): the same
   * model with that term rewritten through the negative tail (σ(u) → −σ(−u), tanh(u) →
   * −2σ(−2u), softplus(u) → softplus(−u)), which has the same Hessian (and, but for softplus,
   * the same gradient) and a value whose finite differences are meaningful; the original's value
   * (1e13·(1 − 1e-13)) is not.
   */
  readonly mirror?: { readonly source: string; readonly sameGradient: boolean };
  /**
   * For a model with `output` declarations: the outputs (name and shape, run-time dims by name),
   * and the objective as a function of them: `lossSource(sizes)` is the model with every output
   * declared as a `param` of its shape in its place (the run-time dims fixed to `sizes`), so that
   * its Hessian is ∇²ℓ over θ and the outputs, independently of the Gauss-Newton code.
   */
  readonly gaussNewton?: {
    readonly outputs: readonly { readonly name: string; readonly shape: Shape }[];
    readonly lossSource: (sizes: Readonly<Record<string, number>>) => string;
  };
}

export interface GenerateOptions {
  /** Tail terms and scales that float32 represents (for the WGSL target's random test). */
  readonly float32?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Shapes

export const shapeKey = (s: Shape): string => s.join(',');

/** Broadcast shape of an element-wise operation (aligned from the last axis), or null. */
export function broadcast(a: Shape, b: Shape): Dim[] | null {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let k = 1; k <= rank; k++) {
    const x = a.length >= k ? a[a.length - k]! : 1;
    const y = b.length >= k ? b[b.length - k]! : 1;
    if (x === y) out.unshift(x);
    else if (x === 1) out.unshift(y);
    else if (y === 1) out.unshift(x);
    else return null;
  }
  return out;
}

/** The largest size of a run-time dim, by default: magnitude bounds assume it. */
export const DEFAULT_MAX_N = 5;

// ---------------------------------------------------------------------------------------------
// Expressions

/** Precedence levels of the math.js grammar the language borrows. */
const ADD = 1;
const MUL = 2;
const UNARY = 3;
const POW = 4;
const POSTFIX = 5;
const ATOM = 6;

interface Ex {
  readonly text: string;
  readonly prec: number;
  readonly shape: Shape;
  /** Rough upper bound of |value| over θ, data in [-1, 1]. */
  readonly mag: number;
}

const paren = (e: Ex, min: number): string => (e.prec >= min ? e.text : `(${e.text})`);
const atom = (text: string, shape: Shape, mag: number): Ex => ({ text, prec: ATOM, shape, mag });
const call = (f: string, args: readonly Ex[], shape: Shape, mag: number): Ex => atom(`${f}(${args.map((a) => a.text).join(', ')})`, shape, mag);

function binary(op: string, a: Ex, b: Ex, shape: Shape, mag: number): Ex {
  if (op === '+' || op === '-') return { text: `${paren(a, ADD)} ${op} ${paren(b, MUL)}`, prec: ADD, shape, mag };
  // Glued, a number before a dotted operator reads as the number: `1e0.*x` is `1e0 .* x`.
  const sp = op.startsWith('.') && glueDotted && extraRng !== null && chance(extraRng, 0.6) ? '' : ' ';
  if (op === '*' || op === '/' || op === '.*' || op === './') return { text: `${paren(a, MUL)}${sp}${op}${sp}${paren(b, UNARY)}`, prec: MUL, shape, mag };
  if (op === '^' || op === '.^') return { text: `${paren(a, POSTFIX)}${sp}${op}${sp}${paren(b, UNARY)}`, prec: POW, shape, mag };
  throw new Error(`generator: unknown operator ${op}`);
}

interface Named {
  readonly name: string;
  readonly shape: Shape;
  readonly mag: number;
  /** Relative chance of being picked as a leaf. */
  readonly weight: number;
  readonly kind: 'param' | 'data' | 'def' | 'arg';
}

interface Fn {
  readonly name: string;
  readonly args: readonly { name: string; shape: Shape }[];
  readonly result: Shape;
  readonly mag: number;
  /**
   * Element-wise in its arguments (written for scalars, from element-wise operations only), so
   * it can be called at any shape: f(x) with x [3] and again with x [2, 3].
   */
  readonly generic: boolean;
  /** Indices of the arguments a generic body uses: the result has their broadcast shape. */
  readonly used: readonly number[];
}

interface View {
  readonly owner: Named;
  readonly shape: Shape;
  make(rng: Rng): Ex;
}

/** Bound on the magnitude of a function argument at a call site. */
const ARG_MAG = 2;
/** A node whose magnitude bound exceeds this is squashed. */
const SQUASH_ABOVE = 25;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('generator: pick from an empty list');
  return xs[rng.int(0, xs.length - 1)]!;
}

function pickWeighted<T>(rng: Rng, xs: readonly T[], weight: (x: T) => number): T {
  const total = xs.reduce((s, x) => s + weight(x), 0);
  let r = rng.next() * total;
  for (const x of xs) {
    r -= weight(x);
    if (r < 0) return x;
  }
  return xs[xs.length - 1]!;
}

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const chance = (rng: Rng, p: number): boolean => rng.next() < p;

/**
 * The stream of a model's issue-11 kinds (glued operators, awkward names, centered terms, domain
 * edges, tails): separate from the main stream, so that models without them stay as they were.
 */
let extraRng: Rng | null = null;
/** Whether this model writes dotted operators without spaces (`2.*x`, `1e0./y`). */
let glueDotted = false;

/** A number literal in one of the lexical forms of the spec (and the extensions `2.`, `1.e3`). */
function numberText(rng: Rng, v: number): string {
  const forms = [String(v)];
  if (v > 0 && v < 1) forms.push(String(v).replace(/^0/, ''));
  if (v !== 0) {
    const exp = Math.floor(Math.log10(Math.abs(v)));
    const mant = Number((v / 10 ** exp).toPrecision(12));
    forms.push(`${mant}e${exp}`, `${mant}E${exp}`);
    if (extraRng !== null && Number.isInteger(mant)) forms.push(`${mant}.e${exp}`);
  }
  if (extraRng !== null && Number.isInteger(v)) forms.push(`${v}.`);
  return pick(rng, forms);
}

function num(rng: Rng, v: number): Ex {
  return atom(numberText(rng, v), [], Math.abs(v));
}

// ---------------------------------------------------------------------------------------------
// Views: what indexing, slicing and transposing a name give directly.

/** One axis selector: a scalar index (drops the axis) or an inclusive range (keeps it). */
interface Selector {
  text(rng: Rng): string;
  /** The kept axis' size, or null when the axis is dropped. */
  readonly keeps: Dim | null;
}

function indexText(rng: Rng, i: number, n: number): string {
  if (i === n && chance(rng, 0.3)) return 'end';
  if (i < n && chance(rng, 0.3)) return chance(rng, 0.5) ? `end-${n - i}` : `end - ${n - i}`;
  return String(i);
}

function selectors(d: Dim): Selector[] {
  if (typeof d === 'string') return [{ text: () => ':', keeps: d }];
  const out: Selector[] = [];
  for (let i = 1; i <= d; i++) out.push({ text: (rng) => indexText(rng, i, d), keeps: null });
  for (let a = 1; a <= d; a++) {
    for (let b = a; b <= d; b++) {
      out.push({
        text: (rng) => (a === 1 && b === d && chance(rng, 0.6) ? ':' : `${indexText(rng, a, d)}:${indexText(rng, b, d)}`),
        keeps: b - a + 1,
      });
    }
  }
  return out;
}

function viewsOf(n: Named): View[] {
  const out: View[] = [{ owner: n, shape: n.shape, make: () => atom(n.name, n.shape, n.mag) }];
  if (n.shape.length === 2) {
    const t = [n.shape[1]!, n.shape[0]!];
    out.push({ owner: n, shape: t, make: (rng) => (chance(rng, 0.7) ? { text: `${n.name}'`, prec: POSTFIX, shape: t, mag: n.mag } : atom(`transpose(${n.name})`, t, n.mag)) });
  }
  if (n.shape.length >= 1) {
    const per = n.shape.map(selectors);
    const combos: Selector[][] = n.shape.length === 1 ? per[0]!.map((s) => [s]) : per[0]!.flatMap((r) => per[1]!.map((c) => [r, c]));
    for (const combo of combos) {
      if (combo.every((s, k) => s.keeps === n.shape[k])) continue; // the whole array: already there
      const shape = combo.flatMap((s) => (s.keeps === null ? [] : [s.keeps]));
      out.push({ owner: n, shape, make: (rng) => atom(`${n.name}[${combo.map((s) => s.text(rng)).join(', ')}]`, shape, n.mag) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The generation context: names in scope, their views, functions.

class Scope {
  readonly names: Named[] = [];
  readonly fns: Fn[] = [];
  readonly scalars: { text: string; mag: number }[] = [];
  private views = new Map<string, View[]>();
  private pairCache = new Map<string, [Shape, Shape][]>();
  /** The body of a generic function: only element-wise operations on scalars. */
  generic = false;
  /** Only numbers, consts, dims, pi and e: a constant expression. */
  constant = false;

  /** A scope with everything of `parent` except the names in `hidden` (shadowed by arguments). */
  constructor(parent?: Scope, hidden: ReadonlySet<string> = new Set()) {
    if (parent) {
      for (const n of parent.names) if (!hidden.has(n.name)) this.add(n);
      this.fns.push(...parent.fns);
      this.scalars.push(...parent.scalars.filter((s) => !hidden.has(s.text)));
    }
  }

  add(n: Named): void {
    this.names.push(n);
    for (const v of viewsOf(n)) {
      const k = shapeKey(v.shape);
      const list = this.views.get(k);
      if (list) list.push(v);
      else this.views.set(k, [v]);
    }
    this.pairCache.clear();
  }

  /** Every shape some view gives, and the scalar. */
  shapes(): Shape[] {
    const out: Shape[] = [[]];
    for (const list of this.views.values()) if (list[0]!.shape.length > 0) out.push(list[0]!.shape);
    return out;
  }

  has(s: Shape): boolean {
    return s.length === 0 || this.views.has(shapeKey(s));
  }

  viewsFor(s: Shape): View[] {
    return this.views.get(shapeKey(s)) ?? [];
  }

  /** Operand shapes (a, b) with broadcast(a, b) = s. */
  pairs(s: Shape): [Shape, Shape][] {
    const k = shapeKey(s);
    let out = this.pairCache.get(k);
    if (!out) {
      out = [];
      const all = this.shapes().filter((x) => {
        const b = broadcast(x, s);
        return b !== null && shapeKey(b) === k;
      });
      for (const a of all) for (const b of all) if (shapeKey(broadcast(a, b)!) === k) out.push([a, b]);
      this.pairCache.set(k, out);
    }
    return out;
  }
}

/** Operand shapes of a product giving `s`, with the inner dim, from shapes `scope` can produce. */
function productChoices(scope: Scope, s: Shape): [Shape, Shape, Dim][] {
  const inner = [...new Set(scope.shapes().flatMap((x) => x))];
  const has = (x: Shape): boolean => scope.has(x);
  const choices: [Shape, Shape, Dim][] = [];
  for (const k of inner) {
    if (s.length === 2 && has([s[0]!, k]) && has([k, s[1]!])) choices.push([[s[0]!, k], [k, s[1]!], k]);
    if (s.length === 1 && has([s[0]!, k]) && has([k])) choices.push([[s[0]!, k], [k], k]);
    if (s.length === 1 && has([k]) && has([k, s[0]!])) choices.push([[k], [k, s[0]!], k]);
    if (s.length === 0 && has([k])) choices.push([[k], [k], k]);
  }
  if (s.length === 0) choices.push([[], [], 1]);
  return choices;
}

// ---------------------------------------------------------------------------------------------
// The expression generator

type Option = [weight: number, build: () => Ex | null];

class Gen {
  constructor(
    private readonly rng: Rng,
    /** Upper bound of every run-time dim, for magnitude bounds. */
    private readonly maxN: number,
  ) {}

  size(d: Dim): number {
    return typeof d === 'number' ? d : this.maxN;
  }

  count(s: Shape): number {
    return s.reduce<number>((p, d) => p * this.size(d), 1);
  }

  /** An expression of exactly shape `s` (which `scope` must be able to produce) and depth ≤ d. */
  expr(scope: Scope, s: Shape, d: number): Ex {
    const rng = this.rng;
    if (d <= 0 || chance(rng, 0.12)) return this.squash(this.leaf(scope, s));
    if (scope.generic) {
      // Shape-polymorphic: whatever shape the arguments have at a call, the body stays valid.
      const generic: Option[] = [
        [5, () => this.elementwise(scope, s, d)],
        [4, () => this.fn(scope, s, d)],
        [1.5, () => this.power(scope, s, d)],
        [1, () => this.unary(scope, s, d)],
        [scope.fns.some((f) => f.generic) ? 2 : 0, () => this.userCall(scope, s, d)],
        [1.5, () => this.leaf(scope, s)],
      ];
      return this.squash(pickWeighted(rng, generic, (o) => o[0])[1]() ?? this.leaf(scope, s));
    }
    if (extraRng !== null && s.some((x) => typeof x === 'string') && chance(extraRng, 0.08)) return this.squash(this.centered(scope, s, d));
    const options: Option[] = [
      [5, () => this.elementwise(scope, s, d)],
      [4, () => this.fn(scope, s, d)],
      [1.5, () => this.power(scope, s, d)],
      [1, () => this.unary(scope, s, d)],
      [3, () => this.product(scope, s, d)],
      [1.5, () => this.scaling(scope, s, d)],
      [1.5, () => this.transpose(scope, s, d)],
      [3, () => this.reduction(scope, s, d)],
      [scope.fns.some((f) => f.generic || shapeKey(f.result) === shapeKey(s)) ? 3 : 0, () => this.userCall(scope, s, d)],
      [1.5, () => this.leaf(scope, s)],
    ];
    for (let tries = 0; tries < 20; tries++) {
      const [, build] = pickWeighted(rng, options, (o) => o[0]);
      const e = build();
      if (e !== null) return this.squash(e);
    }
    return this.squash(this.leaf(scope, s));
  }

  /**
   * Shapes that no view gives but a product or a broadcast of producible shapes does: [N, N]
   * from X * X', an outer [m, n] from [m, 1] .* [n]. A definition of such a shape adds its views.
   */
  newShapes(scope: Scope): Shape[] {
    const dims = [...new Set(scope.shapes().flatMap((x) => x))];
    const out: Shape[] = [];
    for (const a of dims) {
      for (const b of dims) {
        const s = [a, b];
        if (!scope.has(s) && (productChoices(scope, s).length > 0 || scope.pairs(s).length > 0)) out.push(s);
      }
    }
    return out;
  }

  /** An expression of a shape from newShapes(): a product or a broadcast at the top. */
  constructive(scope: Scope, s: Shape, d: number): Ex {
    for (let tries = 0; tries < 20; tries++) {
      const e = chance(this.rng, 0.5) ? this.product(scope, s, Math.max(d, 1)) : this.elementwise(scope, s, Math.max(d, 1));
      if (e !== null) return this.squash(e);
    }
    throw new Error(`generator: cannot construct shape [${shapeKey(s)}]`);
  }

  /** Keeps magnitudes moderate: a node whose bound is too large goes through a bounded function. */
  squash(e: Ex): Ex {
    if (e.mag <= SQUASH_ABOVE) return e;
    return call(pick(this.rng, ['tanh', 'atan', 'sigmoid']), [e], e.shape, Math.PI / 2);
  }

  /**
   * `e` itself when |e| ≤ bound, else a bounded, monotone function of it (a periodic one would
   * turn a large argument into a high frequency, and finite differences into noise).
   */
  bounded(e: Ex, bound: number): Ex {
    if (e.mag <= bound) return e;
    return call(bound >= 2 && chance(this.rng, 0.3) ? 'atan' : 'tanh', [e], e.shape, bound >= 2 ? Math.PI / 2 : 1);
  }

  leaf(scope: Scope, s: Shape): Ex {
    const rng = this.rng;
    const views = scope.viewsFor(s);
    if (s.length === 0 && (views.length === 0 || chance(rng, 0.35))) {
      if (!scope.constant && chance(rng, 0.12)) {
        // A constant subexpression (folded at compile time, or not).
        const constants = new Scope();
        constants.constant = true;
        constants.scalars.push(...scope.scalars);
        return this.expr(constants, [], 2);
      }
      if (scope.scalars.length > 0 && chance(rng, 0.5)) {
        const c = pick(rng, scope.scalars);
        return atom(c.text, [], c.mag);
      }
      return num(rng, pick(rng, [0.5, 2, 1.5, 0.25, 3, 0.1, 1, 0.75, 0]));
    }
    if (views.length === 0) throw new Error(`generator: no leaf of shape [${shapeKey(s)}]`);
    // The owner first (by its weight), then one of its views, the whole array half of the time.
    const owner = pickWeighted(rng, [...new Set(views.map((v) => v.owner))], (o) => o.weight);
    const mine = views.filter((v) => v.owner === owner);
    const whole = mine.find((v) => v.shape === owner.shape);
    return (whole !== undefined && chance(rng, 0.5) ? whole : pick(rng, mine)).make(rng);
  }

  elementwise(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    const pairs = scope.pairs(s).filter(([a, b]) => shapeKey(a) === shapeKey(s) || shapeKey(b) === shapeKey(s) || chance(rng, 0.5));
    if (pairs.length === 0) return null;
    let [sa, sb] = pick(rng, pairs);
    if (chance(rng, 0.5)) [sa, sb] = [sb, sa];
    let a = this.expr(scope, sa, d - 1);
    const b = this.expr(scope, sb, d - 1);
    const op = pick(rng, ['+', '-', '.*', './', '+', '.*']);
    // Glued, a number on the left of a dotted operator: `2..*x`, `1e0./y`, `1.e0.*z`.
    if (glueDotted && extraRng !== null && (op === '.*' || op === './') && shapeKey(sb) === shapeKey(s) && chance(extraRng, 0.5)) a = num(extraRng, pick(extraRng, [2, 1, 0.5, 3, 1.5]));
    if (op === '+' || op === '-') return binary(op, a, b, s, a.mag + b.mag);
    if (op === '.*') return binary(op, a, b, s, a.mag * b.mag);
    const den = this.positive(b);
    return binary('./', a, den.e, s, a.mag / den.lo);
  }

  /**
   * A term centered over the batch, `a - mean(a)` (or `mean(a, 1)` for a matrix), maybe squared:
   * its Hessian meets the batch three times over, and must still cost O(N).
   */
  centered(scope: Scope, s: Shape, d: number): Ex {
    const xr = extraRng!;
    let a = this.expr(scope, s, d - 1);
    // Through a parameter, so that the Hessian does meet the batch (a centered data term has none).
    const params = scope.viewsFor([]).filter((v) => v.owner.kind === 'param');
    if (params.length > 0) a = binary(pick(xr, ['+', '+', '.*']), a, pick(xr, params).make(xr), s, a.mag + 1);
    a = this.bounded(a, 3);
    const byRow = s.length === 2 && typeof s[0] === 'string' && chance(xr, 0.5);
    const m = byRow ? atom(`mean(${a.text}, 1)`, [s[1]!], a.mag) : call('mean', [a], [], a.mag);
    const diff = binary('-', a, m, s, 2 * a.mag);
    return chance(xr, 0.5) ? call('square', [diff], s, 4 * a.mag * a.mag) : diff;
  }

  /**
   * A function at the edge of its domain, smooth in θ all the same: data with zeros (relu of
   * data in [-1, 1]) to a θ-dependent power (∂(aᵖ)/∂p = aᵖ log a → 0 at a = 0), log1p at 1e-3
   * from −1, sqrt of about 1e-6. Null when there is no data of shape `s`.
   */
  edge(scope: Scope, s: Shape, a: Ex): Ex | null {
    const xr = extraRng!;
    const form = xr.int(0, 2);
    const sig = call('sigmoid', [a], s, 1);
    if (form === 0) {
      const data = scope.generic ? [] : scope.viewsFor(s).filter((v) => v.owner.kind === 'data');
      if (data.length === 0) return null;
      const base = call('relu', [pick(xr, data).make(xr)], s, 1);
      const p = binary('+', num(xr, pick(xr, [1.5, 2, 0.75])), call('tanh', [a], s, 1), s, 3);
      return binary('.^', base, p, s, 1);
    }
    if (form === 1) return atom(`log1p(0.001 .* (1 + ${sig.text}) - 1)`, s, 7);
    return atom(`sqrt(1e-6 .* (1 + ${sig.text}))`, s, 0.0015);
  }

  /** A positive expression of `b`'s shape, with a lower bound. */
  positive(b: Ex): { e: Ex; lo: number } {
    const rng = this.rng;
    const s = b.shape;
    const sq = this.bounded(b, 5);
    const b3 = this.bounded(b, 3);
    const forms: (() => { e: Ex; lo: number })[] = [
      () => ({ e: binary('+', num(rng, 1), binary('.^', sq, num(rng, 2), s, sq.mag ** 2), s, 1 + sq.mag ** 2), lo: 1 }),
      () => ({ e: binary('+', num(rng, 2), call('sin', [b3], s, 1), s, 3), lo: 1 }),
      () => ({ e: binary('+', num(rng, 1.5), call('tanh', [b], s, 1), s, 2.5), lo: 0.5 }),
      () => ({ e: binary('+', call('cos', [b3], s, 1), num(rng, 2), s, 3), lo: 1 }),
      () => ({ e: call('sqrt', [binary('+', num(rng, 1), binary('.^', sq, num(rng, 2), s, sq.mag ** 2), s, 1 + sq.mag ** 2)], s, Math.sqrt(1 + sq.mag ** 2)), lo: 1 }),
      () => ({ e: call('exp', [call('tanh', [b], s, 1)], s, Math.E), lo: 1 / Math.E }),
      () => ({ e: binary('+', call('sigmoid', [b], s, 1), num(rng, 0.5), s, 1.5), lo: 0.5 }),
      () => ({ e: call('cosh', [call('sin', [b3], s, 1)], s, Math.cosh(1)), lo: 1 }),
    ];
    return pick(rng, forms)();
  }

  power(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    const op = s.length === 0 && !scope.generic && chance(rng, 0.6) ? '^' : '.^';
    const form = rng.int(0, 3);
    if (form === 0) {
      const a = this.bounded(this.expr(scope, s, d - 1), 3);
      const k = pick(rng, [2, 3, 2, 3, 1, 0]);
      return binary(op, a, num(rng, k), s, a.mag ** k);
    }
    if (form === 1) {
      const a = this.bounded(this.expr(scope, s, d - 1), 3);
      return binary(op, num(rng, 2), a, s, 2 ** a.mag);
    }
    if (form === 2) {
      // A positive base to a constant power, negative ones included.
      const base = this.positive(this.expr(scope, s, d - 1));
      const k = pick(rng, [0.5, 0.5, -1, -0.5, -2, 1.5]);
      const kx: Ex = k < 0 && chance(rng, 0.5) ? { text: `-${numberText(rng, -k)}`, prec: UNARY, shape: [], mag: -k } : k < 0 ? atom(`(${numberText(rng, k)})`, [], -k) : num(rng, k);
      return binary(op, base.e, kx, s, Math.max(base.e.mag ** k, base.lo ** k));
    }
    // A positive base to a bounded exponent, broadcast.
    const pairs = op === '^' ? [[[], []] as [Shape, Shape]] : scope.pairs(s);
    const [sa, sb] = pick(rng, pairs);
    const base = this.positive(this.expr(scope, sa, d - 1));
    const ex = this.bounded(this.expr(scope, sb, d - 1), 2);
    const mag = Math.max(base.e.mag ** ex.mag, base.lo ** -ex.mag);
    return binary(op, base.e, ex, s, mag);
  }

  unary(scope: Scope, s: Shape, d: number): Ex {
    const a = this.expr(scope, s, d - 1);
    const op = chance(this.rng, 0.8) ? '-' : '+';
    return { text: `${op}${paren(a, POW)}`, prec: UNARY, shape: s, mag: a.mag };
  }

  /** An element-wise built-in function, with an argument kept in its smooth, moderate region. */
  fn(scope: Scope, s: Shape, d: number): Ex {
    const rng = this.rng;
    const a = this.expr(scope, s, d - 1);
    const m = a.mag;
    if (extraRng !== null && chance(extraRng, 0.1)) {
      const e = this.edge(scope, s, a);
      if (e !== null) return e;
    }
    const sq = (x: Ex): Ex => binary('.^', x, num(rng, 2), s, x.mag ** 2);
    // Fast-growing and periodic functions get bounded arguments.
    const b3 = this.bounded(a, 3);
    const forms: (() => Ex)[] = [
      () => (m <= 2 && chance(rng, 0.5) ? call('exp', [a], s, Math.exp(m)) : call('exp', [chance(rng, 0.5) ? call('tanh', [a], s, 1) : call('sin', [b3], s, 1)], s, Math.E)),
      () => call('expm1', [this.bounded(a, 2)], s, Math.expm1(Math.min(m, 2))),
      () => call('log', [binary('+', num(rng, 1), sq(this.bounded(a, 5)), s, 26)], s, Math.log(1 + Math.min(m, 5) ** 2)),
      () => call('log', [binary('+', num(rng, 2), call('cos', [b3], s, 1), s, 3)], s, Math.log(3)),
      () => call('log', [call('sigmoid', [this.bounded(a, 10)], s, 1)], s, Math.min(m, 10) + 1),
      () => call('log1p', [sq(this.bounded(a, 5))], s, Math.log1p(Math.min(m, 5) ** 2)),
      () => call('log1p', [binary('*', num(rng, 0.5), call('tanh', [a], s, 1), s, 0.5)], s, 0.7),
      () => call('sqrt', [binary('+', num(rng, 1), sq(this.bounded(a, 5)), s, 26)], s, Math.sqrt(1 + Math.min(m, 5) ** 2)),
      () => call('sqrt', [binary('+', num(rng, 2), call('sin', [b3], s, 1), s, 3)], s, Math.sqrt(3)),
      () => call('square', [b3], s, b3.mag ** 2),
      () => call('cube', [b3], s, b3.mag ** 3),
      () => call('abs', [binary('+', num(rng, 2), call('sin', [b3], s, 1), s, 3)], s, 3),
      () => call('relu', [binary('+', num(rng, 1.5), call('tanh', [a], s, 1), s, 2.5)], s, 2.5),
      () => call('sin', [b3], s, 1),
      () => call('cos', [b3], s, 1),
      () => call('tan', [binary('*', num(rng, 0.5), call('tanh', [a], s, 1), s, 0.5)], s, 0.6),
      () => call('atan', [a], s, Math.PI / 2),
      () => call('sinh', [b3], s, Math.sinh(b3.mag)),
      () => call('cosh', [b3], s, Math.cosh(b3.mag)),
      () => call('tanh', [a], s, 1),
      () => call('sigmoid', [a], s, 1),
      () => call('softplus', [a], s, m + 1),
    ];
    return pick(rng, forms)();
  }

  /** Matrix and vector products with matching inner dims: [m,k]*[k,n], [m,k]*[k], [k]*[k,n], [k]*[k]. */
  product(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    const choices = productChoices(scope, s);
    if (choices.length === 0) return null;
    const [sa, sb, k] = pick(rng, choices);
    let a = this.expr(scope, sa, d - 1);
    const b = this.expr(scope, sb, d - 1);
    // A vector on the left may be written transposed: x' * y (a vector's transpose is itself).
    if (sa.length === 1 && sb.length === 1 && chance(rng, 0.3)) a = { text: `${paren(a, ATOM)}'`, prec: POSTFIX, shape: sa, mag: a.mag };
    return binary('*', a, b, s, this.size(k) * a.mag * b.mag);
  }

  /** Scaling by a scalar: s * A, A * s, A / s with s positive. */
  scaling(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    if (s.length === 0) return null;
    const a = this.expr(scope, s, d - 1);
    const c = this.expr(scope, [], d - 1);
    const form = rng.int(0, 2);
    if (form === 0) return binary('*', c, a, s, a.mag * c.mag);
    if (form === 1) return binary('*', a, c, s, a.mag * c.mag);
    if (chance(rng, 0.4)) {
      const k = pick(rng, [2, 3, 4, 10]);
      return binary('/', a, num(rng, k), s, a.mag / k);
    }
    const den = this.positive(c);
    return binary('/', a, den.e, s, a.mag / den.lo);
  }

  transpose(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    if (s.length === 0) return null;
    const from: Shape = s.length === 2 ? [s[1]!, s[0]!] : s;
    if (!scope.has(from)) return null;
    if (s.length === 1 && chance(rng, 0.7)) return null; // a vector's transpose is itself: rarely
    const a = this.expr(scope, from, d - 1);
    if (chance(rng, 0.75)) return { text: `${paren(a, ATOM)}'`, prec: POSTFIX, shape: s, mag: a.mag };
    return call('transpose', [a], s, a.mag);
  }

  reduction(scope: Scope, s: Shape, d: number): Ex | null {
    const rng = this.rng;
    const shapes = scope.shapes();
    if (s.length === 0) {
      const vectors = shapes.filter((x) => x.length === 1);
      if (vectors.length > 0 && chance(rng, 0.25)) {
        const v = pick(rng, vectors);
        const a = this.expr(scope, v, d - 1);
        const b = this.expr(scope, v, d - 1);
        return call('dot', [a, b], [], this.count(v) * a.mag * b.mag);
      }
      const tensors = shapes.filter((x) => x.length > 0);
      if (tensors.length === 0) return null;
      const t = pick(rng, tensors);
      const a = this.expr(scope, t, d - 1);
      const f = pick(rng, ['sum', 'sum', 'mean', 'logsumexp']);
      const mag = f === 'sum' ? this.count(t) * a.mag : f === 'mean' ? a.mag : a.mag + Math.log(this.count(t));
      return call(f, [a], [], mag);
    }
    if (s.length !== 1) return null;
    const choices: [Shape, 1 | 2][] = [];
    for (const x of shapes) {
      if (x.length !== 2) continue;
      if (x[1] === s[0]) choices.push([x, 1]);
      if (x[0] === s[0]) choices.push([x, 2]);
    }
    if (choices.length === 0) return null;
    const [t, axis] = pick(rng, choices);
    const a = this.expr(scope, t, d - 1);
    const f = pick(rng, ['sum', 'sum', 'mean', 'logsumexp']);
    const n = this.size(t[axis - 1]!);
    const mag = f === 'sum' ? n * a.mag : f === 'mean' ? a.mag : a.mag + Math.log(n);
    return atom(`${f}(${a.text}, ${axis})`, s, mag);
  }

  userCall(scope: Scope, s: Shape, d: number): Ex | null {
    // Arguments must be producible here (a function body may hide a name that gave a shape).
    const fns = scope.fns.filter((f) =>
      f.generic ? scope.has(s) : !scope.generic && shapeKey(f.result) === shapeKey(s) && f.args.every((a) => scope.has(a.shape)),
    );
    if (fns.length === 0) return null;
    const f = pick(this.rng, fns);
    return this.callOf(scope, f, d, s);
  }

  /** A call of `f`; a generic function is called at shape `s` (some scalar arguments broadcast). */
  callOf(scope: Scope, f: Fn, d: number, s: Shape = f.result): Ex {
    if (!f.generic) {
      const args = f.args.map((a) => this.bounded(this.expr(scope, a.shape, d - 1), ARG_MAG));
      return call(f.name, args, f.result, f.mag);
    }
    const full = pick(this.rng, f.used);
    const args = f.args.map((_, i) => this.bounded(this.expr(scope, i === full || chance(this.rng, 0.5) ? s : [], d - 1), ARG_MAG));
    return call(f.name, args, s, f.mag);
  }

  /** A scalar from `e`: itself, or a reduction over all its elements. */
  scalarize(e: Ex): Ex {
    if (e.shape.length === 0) return e;
    const f = pick(this.rng, ['sum', 'sum', 'mean', 'logsumexp']);
    const mag = f === 'sum' ? this.count(e.shape) * e.mag : f === 'mean' ? e.mag : e.mag + Math.log(this.count(e.shape));
    return call(f, [e], [], mag);
  }
}

/** A uniform index in [0, n). */
const rng0 = (rng: Rng, n: number): number => rng.int(0, n - 1);

// ---------------------------------------------------------------------------------------------
// Models

const PARAM_NAMES = ['w', 'v', 'W', 'U', 'b', 'z', 'beta', 'Theta', 'q'];
const DATA_NAMES = ['X', 'y', 'Z', 'c', 't', 'D'];
const DEF_NAMES = ['h', 'r', 'g', 'u', 'k', 'tmp', 'hid', 'act'];
const FN_NAMES = ['f', 'phi', 'psi'];
const ARG_NAMES = ['a', 'x', 'p', 's'];
/** Suffixes that keep names distinct across the lists above (and clear of keywords and built-ins). */
const SUFFIXES = ['1', '_2', '_', '_x', 'B7'];
const CONST_NAMES = ['lam', 'alpha', 'two', 'c0'];
/** Names that JavaScript objects already have: every role must take them (issue 11). */
export const OBJECT_NAMES = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', '__defineGetter__', '__lookupSetter__',
];

/**
 * Terms in the tails of σ, softplus and tanh, as `scale * fn(at + w)`: the scale brings the
 * derivatives (e^−30 ≈ 1e-13, e^−700 ≈ 1e-304) to order 1, where an inaccurate form (σ(1 − σ)
 * is off by 1e-3 at 30 and 0 from 37 on) is seen. float32: tails it represents.
 */
const TAILS: Record<'f64' | 'f32', Record<'sigmoid' | 'softplus' | 'tanh', [at: number, scale: string][]>> = {
  f64: {
    sigmoid: [[30, '1e13'], [36, '1e15'], [700, '1e300'], [-30, '1e13'], [-36, '1e15'], [-700, '1e300']],
    softplus: [[30, '1e13'], [36, '1e15'], [700, '1e300'], [-30, '1e13'], [-36, '1e15'], [-700, '1e300']],
    tanh: [[19, '1e16'], [30, '1e25'], [350, '1e300'], [-19, '1e16'], [-30, '1e25'], [-350, '1e300']],
  },
  f32: {
    sigmoid: [[30, '1e13'], [36, '1e15'], [-30, '1e13'], [-36, '1e15']],
    softplus: [[30, '1e13'], [36, '1e15'], [-30, '1e13'], [-36, '1e15']],
    tanh: [[10, '1e8'], [19, '1e16'], [-10, '1e8'], [-19, '1e16']],
  },
};
/**
 * Parameter names whose kernel names meet when joined with underscores (grad_a_once for a_once and
 * for a's second part, hess_x_y_z for (x, y_z) and for (x_y, z)): compiled names must stay unique.
 */
const CLASHING_PARAM_NAMES = ['a', 'a_once', 'x', 'y_z', 'x_y', 'z', 'a_a', 'once', 'grad_a'];

/**
 * Generates the model for `seed` (any string): the same seed (and maxN) always gives the same
 * model. Its run-time dims get sizes in 2..5; `maxN`, the largest size they will be given, only
 * enters the magnitude bounds (a sum over N grows with N).
 */
export function generateModel(seed: string, maxN = DEFAULT_MAX_N, options: GenerateOptions = {}): GeneratedModel {
  const rng = makeRng(seed);
  const gen = new Gen(rng, maxN);
  const xr = makeRng(`${seed}/issue-11`);
  extraRng = xr;
  glueDotted = chance(xr, 0.3);
  // Sometimes names of Object.prototype members, in any role (each at most once).
  const tricky = chance(xr, 0.3) ? shuffle(xr, OBJECT_NAMES) : [];
  const trick = (name: string): string => (tricky.length > 0 && chance(xr, 0.35) ? tricky.pop()! : name);
  // `__proto__` is the one that assignment to a plain object loses: as the batch dim, often.
  const trickDim = (name: string): string => {
    if (!tricky.includes('__proto__') || !chance(xr, 0.5)) return trick(name);
    tricky.splice(tricky.indexOf('__proto__'), 1);
    return '__proto__';
  };
  const lines: string[] = [];
  /** Where each run-time dim and each definition is declared in `lines` (for `output` marks). */
  const dimLines = new Map<number, string>();
  const defLines = new Map<number, Named>();
  // A statement continues on the next line after a binary operator or a comma, or inside ( or [.
  const breakLine = (text: string): string => {
    if (!chance(rng, 0.1)) return text;
    const spots = [...text.matchAll(/ (\+|-|\*|\/|\.\*|\.\/|\.\^|\^) |, |\(|\[/g)].map((mt) => mt.index + mt[0].length);
    if (spots.length === 0) return text;
    const at = pick(rng, spots);
    return `${text.slice(0, at).trimEnd()}\n      ${text.slice(at).trimStart()}`;
  };
  const comment = (text: string): string =>
    chance(rng, 0.15) ? `${text}${pick(rng, ['    ', ' ', '\t'])}# ${pick(rng, ['note', 'a comment', 'shape checked', 'x = 1', 'θ ∈ ℝⁿ, ∑ᵢ', '(unbalanced [ in a comment'])}` : text;
  const scope = new Scope();

  // Sizes: a small pool, so that products and broadcasts often find matching dims.
  const pool = shuffle(rng, [2, 3, 4]).slice(0, rng.int(1, 3));
  const fixedSize = (): number => pick(rng, pool);

  // Fixed named dims (`dim K = 3`), written in some shapes in place of their size.
  const fixedDims: { name: string; size: number }[] = [];
  if (chance(rng, 0.25)) fixedDims.push({ name: trick(pick(rng, ['K', 'H'])), size: fixedSize() });
  const dimText = (d: Dim): string => {
    if (typeof d === 'string') return d;
    const named = fixedDims.find((f) => f.size === d);
    return named && chance(rng, 0.6) ? named.name : String(d);
  };
  const shapeText = (s: Shape): string => {
    if (s.length === 0) return '';
    const [open, sep, close] = pick(rng, [['[', ', ', ']'], ['[', ', ', ']'], ['[', ',', ']'], ['[ ', ' , ', ' ]']]);
    return `${open}${s.map(dimText).join(sep)}${close}`;
  };

  // Data: 0-2 arrays, some with a symbolic dim.
  const symbolic: { name: string; sizes: [number, number] }[] = [];
  const symbolicFor = (): string => {
    if (symbolic.length === 0 || (symbolic.length === 1 && chance(rng, 0.15))) {
      const name = symbolic.length === 0 ? trickDim('N') : trick('M');
      const first = rng.int(2, 5);
      let second = rng.int(2, 5);
      if (second === first) second = first === 5 ? 2 : first + 1;
      symbolic.push({ name, sizes: [first, second] });
      return name;
    }
    return pick(rng, symbolic).name;
  };
  const dataDecls: Named[] = [];
  // Names: sometimes with digits and underscores (the same suffix on every name keeps them distinct).
  const suffix = chance(rng, 0.2) ? pick(rng, SUFFIXES) : '';
  const named = (xs: readonly string[]): string[] => xs.map((x) => x + suffix);
  const dataNames = shuffle(rng, named(DATA_NAMES)).map(trick);
  const nData = pick(rng, [0, 1, 1, 2, 2, 2]);
  for (let i = 0; i < nData; i++) {
    const form = rng.int(0, 7);
    let shape: Dim[];
    if (form === 0) shape = [];
    else if (form === 1) shape = [fixedSize()];
    else if (form === 2) shape = [fixedSize(), fixedSize()];
    else if (form === 3) shape = [symbolicFor()];
    else if (form === 4 || form === 5) shape = [symbolicFor(), fixedSize()];
    else if (form === 6) shape = [fixedSize(), symbolicFor()];
    else shape = [symbolicFor(), 1];
    dataDecls.push({ name: dataNames[i]!, shape, mag: 1, weight: 2, kind: 'data' });
  }

  // Params: 1-3 of them, scalar, vector [2..4] or matrix [2..3, 2..4].
  const paramDecls: Named[] = [];
  const usualNames = shuffle(rng, named(PARAM_NAMES));
  // Drawn from a stream of its own, so that every other choice of the model stays as it was.
  const nameRng = makeRng(`${seed}/param-names`);
  const paramNames = (suffix === '' && chance(nameRng, 0.25) ? shuffle(nameRng, CLASHING_PARAM_NAMES) : usualNames).map(trick);
  const nParams = rng.int(1, 3);
  for (let i = 0; i < nParams; i++) {
    const form = rng.int(0, 5);
    const rows = (): number => {
      const r = pool.filter((x) => x <= 3);
      return r.length > 0 && chance(rng, 0.8) ? pick(rng, r) : rng.int(2, 3);
    };
    const shape: Dim[] = form === 0 ? [] : form <= 2 ? [fixedSize()] : [rows(), fixedSize()];
    paramDecls.push({ name: paramNames[i]!, shape, mag: 1, weight: 4, kind: 'param' });
  }

  // Declarations, in the order the spec requires of each (a dim before its use).
  for (const s of symbolic) {
    dimLines.set(lines.length, s.name);
    lines.push(comment(`dim ${s.name}`));
  }
  for (const f of fixedDims) lines.push(comment(`dim ${f.name} = ${f.size}`));
  for (const f of fixedDims) if (chance(rng, 0.5)) scope.scalars.push({ text: f.name, mag: f.size });
  for (const s of symbolic) if (chance(rng, 0.5)) scope.scalars.push({ text: s.name, mag: maxN });

  const nConsts = pick(rng, [0, 0, 1, 2]);
  const constNames = CONST_NAMES.map(trick);
  const consts: { name: string; value: number }[] = [];
  for (let i = 0; i < nConsts; i++) {
    const name = constNames[i]!;
    const form = rng.int(0, 3);
    let text: string;
    let value: number;
    if (form === 0 || consts.length === 0) {
      value = pick(rng, [0.5, 2, 0.01, 1.5, 3]);
      text = numberText(rng, value);
    } else if (form === 1) {
      const c = pick(rng, consts);
      value = 2 * c.value + 1;
      text = `2 * ${c.name} + 1`;
    } else if (form === 2) {
      value = Math.PI / 4;
      text = 'pi / 4';
    } else {
      const c = pick(rng, consts);
      value = c.value / Math.E;
      text = `${c.name} / e`;
    }
    consts.push({ name, value });
    lines.push(comment(`const ${name} = ${text}`));
    scope.scalars.push({ text: name, mag: Math.abs(value) });
  }
  if (chance(rng, 0.2)) scope.scalars.push({ text: 'pi', mag: Math.PI });
  if (chance(rng, 0.2)) scope.scalars.push({ text: 'e', mag: Math.E });

  // Declarations come before their first use; some come after definitions that do not use them.
  const decls = shuffle(rng, [...dataDecls, ...paramDecls]);
  const nLate = decls.length > 1 && chance(rng, 0.3) ? rng.int(1, Math.min(2, decls.length - 1)) : 0;
  const declare = (n: Named): void => {
    lines.push(comment(`${n.kind} ${n.name}${shapeText(n.shape)}`));
    scope.add(n);
  };
  for (const n of decls.slice(0, decls.length - nLate)) declare(n);

  // Names whose value depends on θ: the params, then definitions and functions that use them.
  const live = new Set(paramDecls.map((p) => p.name));
  const isLive = (text: string, hidden: ReadonlySet<string> = new Set()): boolean =>
    [...live].some((name) => !hidden.has(name) && new RegExp(`\\b${name}\\b`).test(text));

  // Definitions and functions, interleaved, then the objective.
  const defs: Named[] = [];
  /** The expression of each definition that depends on θ (those may become outputs). */
  const defTexts = new Map<Named, string>();
  const fns: { fn: Fn; calls: number }[] = [];
  const nDefs = pick(rng, [0, 1, 1, 2, 2, 3]);
  const defNames = named(DEF_NAMES).map(trick);
  const fnNames = named(FN_NAMES).map(trick);
  const nFns = pick(rng, [0, 0, 1, 1, 2]);
  const late = decls.slice(decls.length - nLate);
  const steps: ('def' | 'fn' | Named)[] = shuffle(rng, [...Array<'def'>(nDefs).fill('def'), ...Array<'fn'>(nFns).fill('fn'), ...late]);
  const nonScalar = (sc: Scope): Shape[] => {
    const xs = sc.shapes().filter((x) => x.length > 0);
    return xs.length > 0 && chance(rng, 0.85) ? xs : sc.shapes();
  };
  for (const step of steps) {
    if (typeof step === 'object') {
      declare(step);
    } else if (step === 'def') {
      const name = defNames[defs.length]!;
      const fresh = gen.newShapes(scope);
      const s = fresh.length > 0 && chance(rng, 0.3) ? pick(rng, fresh) : pick(rng, nonScalar(scope));
      const e = scope.has(s) ? gen.expr(scope, s, rng.int(1, 3)) : gen.constructive(scope, s, rng.int(1, 3));
      const n: Named = { name, shape: s, mag: e.mag, weight: 6, kind: 'def' };
      if (isLive(e.text)) defTexts.set(n, e.text);
      defLines.set(lines.length, n);
      lines.push(comment(breakLine(`${name} = ${e.text}`)));
      if (isLive(e.text)) live.add(name);
      defs.push(n);
      scope.add(n);
    } else {
      const name = fnNames[fns.length]!;
      const nArgs = rng.int(1, 2);
      const generic = chance(rng, 0.35);
      const args: { name: string; shape: Shape }[] = [];
      const hidden = new Set<string>();
      const argNames = shuffle(rng, named(ARG_NAMES)).map(trick);
      for (let i = 0; i < nArgs; i++) {
        // Sometimes an argument shadows a param or data name (arguments are local names).
        const shadow = chance(rng, 0.2) ? scope.names.find((x) => (x.kind === 'param' || x.kind === 'data') && !hidden.has(x.name)) : undefined;
        const argName = shadow ? shadow.name : argNames[i]!;
        hidden.add(argName);
        args.push({ name: argName, shape: generic ? [] : pick(rng, nonScalar(scope)) });
      }
      const body = new Scope(scope, hidden);
      body.generic = generic;
      for (const a of args) body.add({ name: a.name, shape: a.shape, mag: ARG_MAG, weight: 12, kind: 'arg' });
      const results = scope.shapes().filter((x) => body.has(x));
      const s = generic ? [] : pick(rng, results);
      let e = gen.expr(body, s, rng.int(1, 3));
      const usedBy = (text: string): number[] => args.flatMap((a, i) => (new RegExp(`\\b${a.name}\\b`).test(text) ? [i] : []));
      if (generic && usedBy(e.text).length === 0) {
        // A generic body must use an argument, or its calls would not have the arguments' shape.
        const a = args[rng0(rng, args.length)]!;
        e = binary(pick(rng, ['+', '.*']), e, atom(a.name, [], ARG_MAG), [], e.mag * ARG_MAG + ARG_MAG);
      }
      lines.push(comment(breakLine(`${name}(${args.map((a) => a.name).join(', ')}) = ${e.text}`)));
      if (isLive(e.text, hidden)) live.add(name);
      const fn: Fn = { name, args, result: s, mag: e.mag, generic, used: usedBy(e.text) };
      fns.push({ fn, calls: rng.int(1, 2) });
      scope.fns.push(fn);
    }
  }

  const terms: Ex[] = [];
  const nTerms = rng.int(1, 3);
  for (let i = 0; i < nTerms; i++) {
    // A term that does not depend on θ is drawn again (a few times).
    let term: Ex;
    let tries = 0;
    do term = gen.scalarize(gen.expr(scope, pick(rng, scope.shapes()), rng.int(2, 4)));
    while (!isLive(term.text) && ++tries < 6);
    terms.push(term);
  }

  // Every definition is used at least twice and every function called as often as drawn.
  const uses = (name: string, pattern: string): number => {
    const re = new RegExp(pattern.replace('NAME', name), 'g');
    const text = [...lines.filter((l) => !l.startsWith(`${name} =`) && !l.startsWith(`${name}(`)), ...terms.map((t) => t.text)].join('\n');
    return (text.match(re) ?? []).length;
  };
  for (const def of defs) {
    for (let k = uses(def.name, '\\bNAME\\b(?!\\()'); k < 2; k++) {
      const v = atom(def.name, def.shape, def.mag);
      terms.push(gen.scalarize(rng.next() < 0.5 ? gen.squash(v) : call(pick(rng, ['tanh', 'sin', 'softplus', 'atan']), [v], def.shape, def.mag + 1)));
    }
  }
  for (const { fn, calls } of fns) {
    for (let k = uses(fn.name, '\\bNAME\\('); k < calls; k++) {
      terms.push(gen.scalarize(gen.callOf(scope, fn, 2, fn.generic ? pick(rng, scope.shapes()) : fn.result)));
    }
  }

  let objective = terms[0]!.text;
  for (const t of terms.slice(1)) {
    const op = chance(rng, 0.8) ? '+' : '-';
    // A statement continues on the next line after a binary operator.
    objective += chance(rng, 0.2) ? ` ${op}\n    ${paren(t, MUL)}` : ` ${op} ${paren(t, MUL)}`;
  }
  // A term in a tail of σ, softplus or tanh, appended whole (so that the mirror can replace it).
  let tail: { text: string; mirror: string; sameGradient: boolean } | null = null;
  if (chance(xr, 0.15)) {
    const fn = pick(xr, ['sigmoid', 'softplus', 'tanh'] as const);
    const [at, scale] = pick(xr, TAILS[options.float32 ? 'f32' : 'f64'][fn]);
    // Linear in θ inside (u″ = 0): the tail's own curvature is all the Hessian term has.
    const view = pick(xr, viewsOf(pick(xr, paramDecls)));
    const u = `${at} + ${view.make(xr).text}`;
    const wrap = (inner: string) => (view.shape.length === 0 ? `${scale} * ${inner}` : `${scale} * sum(${inner})`);
    const mirror =
      fn === 'sigmoid' ? (at > 0 ? `-sigmoid(-(${u}))` : `sigmoid(${u})`)
      : fn === 'softplus' ? (at > 0 ? `softplus(-(${u}))` : `softplus(${u})`)
      : at > 0 ? `-2 * sigmoid(-2 * (${u}))` : `2 * sigmoid(2 * (${u}))`;
    tail = { text: wrap(`${fn}(${u})`), mirror: wrap(mirror), sameGradient: !(fn === 'softplus' && at > 0) };
  }
  lines.push(breakLine(`minimize ${objective}`) + (tail ? ` + ${tail.text}` : ''));

  // Some definitions that depend on θ become outputs (`output NAME = …`), drawn from a stream of
  // their own so that the rest of the model is what it was before outputs existed. Not one whose
  // expression is written elsewhere too: that text would be the same graph node, the output
  // (docs/language.md), where lossSource keeps it a function of θ.
  const orng = makeRng(`${seed}/outputs`);
  const outputs: { name: string; shape: Shape }[] = [];
  const lossLines = new Map<number, string>();
  for (const [at, n] of defLines) {
    const text = defTexts.get(n);
    if (text === undefined || !chance(orng, 0.5)) continue;
    const elsewhere = lines.some((l, k) => k !== at && l.replace(/\n\s*/g, ' ').includes(text)) || text === n.name;
    if (elsewhere) continue;
    lines[at] = `output ${lines[at]}`;
    outputs.push({ name: n.name, shape: n.shape });
    lossLines.set(at, n.shape.length === 0 ? `param ${n.name}` : `param ${n.name}[${n.shape.join(', ')}]`);
  }

  // Blank and comment-only lines between statements; sometimes CRLF line ends.
  const out = [`# fuzz model ${seed}`];
  /** Index in `out` of each line of `lines`. */
  const outAt: number[] = [];
  for (const line of lines) {
    if (chance(rng, 0.05)) out.push('');
    if (chance(rng, 0.05)) out.push(pick(rng, ['# ---', '   # indented comment', '#']));
    outAt.push(out.length);
    out.push(line);
  }
  const eol = chance(rng, 0.05) ? '\r\n' : '\n';
  extraRng = null;
  glueDotted = false;
  const source = `${out.join('\n')}\n`.replace(/\n/g, eol);
  const gaussNewton =
    outputs.length === 0
      ? undefined
      : {
          outputs,
          lossSource: (sizes: Readonly<Record<string, number>>): string => {
            const copy = [...out];
            for (const [at, text] of lossLines) copy[outAt[at]!] = text;
            for (const [at, name] of dimLines) copy[outAt[at]!] = `dim ${name} = ${sizes[name]}`;
            return `${copy.join('\n')}\n`;
          },
        };
  const withOutputs = gaussNewton ? { gaussNewton } : {};
  if (!tail) return { seed, source, symbolicDims: symbolic, ...withOutputs };
  const at = source.lastIndexOf(tail.text);
  const mirror = source.slice(0, at) + tail.mirror + source.slice(at + tail.text.length);
  return { seed, source, symbolicDims: symbolic, mirror: { source: mirror, sameGradient: tail.sameGradient }, ...withOutputs };
}
