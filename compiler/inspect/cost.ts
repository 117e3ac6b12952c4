// The cost model: work of each entry point of the lowered program at given run-time dimensions,
// counted over the loops' trip counts (not by running anything). A floating-point
// multiplication or addition counts one multiply-add, except that an addition of a product fuses
// with it (`s += a·b` is one); element-wise function calls are counted apart; index arithmetic,
// comparisons and zero fills are not counted.

import type { Expr, Program, Stmt } from '../5-lower/loops.ts';

export interface Work {
  madds: number;
  calls: number;
}

interface Env {
  readonly dims: ReadonlyMap<string, number>;
  /** Elements of each run-time dimension in the current chunk, and where the chunk starts. */
  readonly extent: ReadonlyMap<string, number>;
  readonly offset: ReadonlyMap<string, number>;
  readonly ints: Map<string, number>;
  /** Loop pieces up to this many iterations are summed one iteration at a time. */
  readonly exactTrips: number;
}

/** Pieces of a loop this short are summed one iteration at a time. */
const EXACT_TRIPS = 16;

function evalInt(e: Expr, env: Env): number {
  switch (e.k) {
    case 'num': return e.v;
    case 'int': {
      const v = env.ints.get(e.name);
      if (v === undefined) throw new Error(`internal: unknown integer ${e.name} in a loop bound`);
      return v;
    }
    case 'dim': return env.dims.get(e.name) ?? 0;
    case 'extent': return env.extent.get(e.name) ?? env.dims.get(e.name) ?? 0;
    case 'offset': return env.offset.get(e.name) ?? 0;
    case 'bin': {
      const a = evalInt(e.a, env);
      const b = evalInt(e.b, env);
      return e.op === '+' ? a + b : e.op === '-' ? a - b : a * b;
    }
    case 'max': return Math.max(evalInt(e.a, env), evalInt(e.b, env));
    default: throw new Error(`internal: ${e.k} in a loop bound`);
  }
}

const isProduct = (e: Expr) => e.k === 'bin' && e.op === '*';

/** Work of evaluating a float expression once. */
function exprWork(e: Expr, w: Work): void {
  switch (e.k) {
    case 'bin':
      exprWork(e.a, w);
      exprWork(e.b, w);
      // An addition of a product is the second half of a multiply-add.
      if (e.op === '*' || !(isProduct(e.a) || isProduct(e.b))) w.madds += 1;
      return;
    case 'call':
      w.calls += 1;
      exprWork(e.arg, w);
      return;
    default:
      return;
  }
}

/** An accumulation of `value` into something: its work plus the addition (fused with a product). */
function accumulate(value: Expr, w: Work, adds = 1): void {
  exprWork(value, w);
  w.madds += isProduct(value) ? adds - 1 : adds;
}

/** Whether a variable occurs in loop bounds, skips or integer locals of a body. */
function boundsUse(body: readonly Stmt[], v: string): boolean {
  const uses = (e: Expr): boolean => {
    switch (e.k) {
      case 'int': return e.name === v;
      case 'bin': return uses(e.a) || uses(e.b);
      case 'max': return uses(e.a) || uses(e.b);
      case 'load': return false;
      case 'call': return false;
      default: return false;
    }
  };
  return body.some((st) => {
    switch (st.k) {
      case 'for': return uses(st.from) || uses(st.to) || boundsUse(st.body, v);
      case 'forStep': return uses(st.from) || uses(st.to) || boundsUse(st.body, v) || boundsUse(st.rest, v);
      case 'reduce':
      case 'reduceN': return uses(st.from) || uses(st.to);
      case 'skipIfLess': return uses(st.a) || uses(st.b);
      case 'let': return st.int && uses(st.value);
      case 'block': return boundsUse(st.body, v);
      default: return false;
    }
  });
}

function add(a: Work, b: Work, times = 1): void {
  a.madds += b.madds * times;
  a.calls += b.calls * times;
}

/** Work of a statement list run once in `env`. */
function bodyWork(body: readonly Stmt[], env: Env): Work {
  const w: Work = { madds: 0, calls: 0 };
  for (const st of body) {
    switch (st.k) {
      case 'let':
        if (st.int) {
          try {
            env.ints.set(st.name, evalInt(st.value, env));
          } catch {
            // An index computed from a load or a float: never a loop bound.
          }
        } else exprWork(st.value, w);
        break;
      case 'var': exprWork(st.value, w); break;
      case 'update': if (st.op === '+') accumulate(st.value, w); else exprWork(st.value, w); break;
      case 'store': if (st.accumulate) accumulate(st.value, w); else exprWork(st.value, w); break;
      case 'storeSym': accumulate(st.value, w, 2); break;
      case 'reduce': {
        const trips = Math.max(0, evalInt(st.to, env) - evalInt(st.from, env));
        const one: Work = { madds: 0, calls: 0 };
        accumulate(st.value, one);
        add(w, one, trips);
        break;
      }
      case 'reduceN': {
        const trips = Math.max(0, evalInt(st.to, env) - evalInt(st.from, env));
        const one: Work = { madds: 0, calls: 0 };
        for (const v of st.values) accumulate(v, one);
        add(w, one, trips);
        break;
      }
      case 'for': add(w, loopWork(st.v, evalInt(st.from, env), evalInt(st.to, env), st.body, env)); break;
      case 'forStep': {
        const from = evalInt(st.from, env);
        const to = evalInt(st.to, env);
        const steps = Math.max(0, Math.floor((to - from) / st.step));
        // The stepped body handles v .. v+step−1 at once; the rest runs one v at a time.
        add(w, loopWork(st.v, 0, steps, st.body, env, (k) => from + k * st.step));
        add(w, loopWork(st.v, from + steps * st.step, to, st.rest, env));
        break;
      }
      case 'skipIfLess':
        // It opens a loop body: the rest of this iteration does not run.
        if (evalInt(st.a, env) < evalInt(st.b, env)) return w;
        break;
      case 'fill': break;
      case 'block': add(w, bodyWork(st.body, { ...env, ints: new Map(env.ints) })); break;
      // A dense block does the multiply-adds of the loops it replaced (kept in it).
      case 'denseBlock': add(w, bodyWork([st.loops], { ...env, ints: new Map(env.ints) })); break;
      // A pair block: the product of its row and column pairs, and their packing.
      case 'pairBlock': {
        const P = (st.pair.m * (st.pair.m + 1)) / 2;
        const Q = st.pair.diagonal ? st.pair.m2 : (st.pair.m2 * (st.pair.m2 + 1)) / 2;
        w.madds += (P * Q + P + Q) * evalInt(st.pair.depth, env);
        break;
      }
    }
  }
  return w;
}

/** Work of `for v in [from, to)`; `at` maps the iteration number to v (stepped loops). */
function loopWork(v: string, from: number, to: number, body: readonly Stmt[], env: Env, at: (k: number) => number = (k) => k): Work {
  const trips = Math.max(0, to - from);
  const total: Work = { madds: 0, calls: 0 };
  if (trips === 0) return total;
  const once = (k: number): Work => {
    const ints = new Map(env.ints);
    ints.set(v, at(k));
    return bodyWork(body, { ...env, ints });
  };
  if (!boundsUse(body, v)) {
    add(total, once(from), trips);
    return total;
  }
  // Inner bounds affine in v (triangular loops) make the work a polynomial of low degree in v
  // on each piece: summed in closed form over pieces where it is a quadratic.
  sumSmooth(from, to, once, total, env.exactTrips);
  return total;
}

function sumSmooth(lo: number, hi: number, f: (k: number) => Work, total: Work, exactTrips: number): void {
  const n = hi - lo;
  if (n <= exactTrips) {
    for (let k = lo; k < hi; k++) add(total, f(k));
    return;
  }
  // The quadratic through x = 0, 1, 2 (from integer differences, so exact), accepted when it
  // also gives the work at the points below; otherwise the range is halved.
  const w0 = f(lo);
  const w1 = f(lo + 1);
  const w2 = f(lo + 2);
  const coefs = (g: (w: Work) => number) => {
    const c0 = g(w0);
    const c2 = (g(w2) - 2 * g(w1) + c0) / 2;
    return { c0, c1: g(w1) - c0 - c2, c2 };
  };
  const m = coefs((w) => w.madds);
  const c = coefs((w) => w.calls);
  const at = (q: { c0: number; c1: number; c2: number }, x: number) => q.c0 + q.c1 * x + q.c2 * x * x;
  // Consecutive points catch the period of stepped loops (floor division), the spread ones kinks.
  const checks = [3, 4, 5, 6, 7, Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4), n - 2, n - 1];
  const fits = checks.every((x) => {
    const w = f(lo + x);
    return at(m, x) === w.madds && at(c, x) === w.calls;
  });
  if (!fits) {
    const mid = lo + Math.floor(n / 2);
    sumSmooth(lo, mid, f, total, exactTrips);
    sumSmooth(mid, hi, f, total, exactTrips);
    return;
  }
  // Σ_{x=0}^{n−1} (c0 + c1·x + c2·x²) by the power sums.
  const s1 = (n * (n - 1)) / 2;
  const s2 = ((n - 1) * n * (2 * n - 1)) / 6;
  total.madds += m.c0 * n + m.c1 * s1 + m.c2 * s2;
  total.calls += c.c0 * n + c.c1 * s1 + c.c2 * s2;
}

export interface ProgramCost {
  readonly entries: { entry: string; madds: number; calls: number }[];
  readonly workspaceBytes: number;
  readonly chunk: { dim: string; size: number } | null;
}

/**
 * Work of every entry point of `program` at run-time dimensions `dims`, and its workspace.
 * `exactTrips` (for tests): sum loops of up to that many iterations one iteration at a time.
 */
export function programCost(program: Program, dims: ReadonlyMap<string, number>, options: { exactTrips?: number } = {}): ProgramCost {
  const exactTrips = options.exactTrips ?? EXACT_TRIPS;
  const kernelBody = (k: string | number): readonly Stmt[] => {
    const kernel = typeof k === 'number' ? program.kernels[k] : program.kernels.find((x) => x.name === k);
    if (!kernel) throw new Error(`internal: no kernel ${String(k)}`);
    return kernel.body;
  };
  const batch = program.batch;
  const run = (ks: readonly (string | number)[], extent: ReadonlyMap<string, number>, offset: ReadonlyMap<string, number>): Work => {
    const w: Work = { madds: 0, calls: 0 };
    for (const k of ks) add(w, bodyWork(kernelBody(k), { dims, extent, offset, ints: new Map(), exactTrips }));
    return w;
  };
  const none = new Map<string, number>();
  // Entry points of outputs the program does not provide (when it says which it does) are left out.
  const provided = (program as { readonly outputs?: readonly string[] }).outputs;
  const present = (Object.keys(program.entries) as (keyof Program['entries'])[]).filter((e) => provided === undefined || e === 'evaluate' || provided.includes(e));
  const entries = present.map((entry) => {
    const sch = program.entries[entry];
    const w: Work = { madds: 0, calls: 0 };
    add(w, run(sch.pre, none, none));
    if (batch && sch.stream.length > 0) {
      // Full chunks cost the same wherever they start; the last one may be shorter.
      const N = dims.get(batch.dim) ?? 0;
      const full = Math.floor(N / batch.chunk);
      const last = N - full * batch.chunk;
      if (full > 0) add(w, run(sch.stream, new Map([[batch.dim, batch.chunk]]), none), full);
      if (last > 0) add(w, run(sch.stream, new Map([[batch.dim, last]]), new Map([[batch.dim, full * batch.chunk]])));
    } else add(w, run(sch.stream, none, none));
    add(w, run(sch.post, none, none));
    return { entry, madds: w.madds, calls: w.calls };
  });
  let workspace = 0;
  for (const b of program.buffers) {
    if (b.kind !== 'temp') continue;
    let size = 1;
    for (const d of b.shape) {
      if (typeof d === 'number') size *= d;
      else if (batch && d === batch.dim) size *= Math.min(batch.chunk, Math.max(1, dims.get(d) ?? 0));
      else size *= dims.get(d) ?? 0;
    }
    workspace += 8 * size;
  }
  return { entries, workspaceBytes: workspace, chunk: batch ? { dim: batch.dim, size: Math.min(batch.chunk, Math.max(1, dims.get(batch.dim) ?? 0)) } : null };
}
