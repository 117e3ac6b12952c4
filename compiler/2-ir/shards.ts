// Shards of the batch: whether the objective is a sum over the samples of the batch dimension
// (each sample's part reading only its own rows of the data) plus terms without the batch, and
// if so the objective rewritten so that the terms without the batch carry the factor `once`.
//
// Then any range of rows computes its contribution alone: sums over the batch run over the rows
// it holds, a count of the batch (Σ_n c = rows·c) is its rows, the model's own `N` (the 1/N of a
// mean) stays the total, and `once` is 1 only for the range that holds row 0, so that the terms
// without the batch are counted once in any partition. The contributions of a partition sum to
// the full objective, and so do their gradients and Hessians, term by term.
//
// Checked on the tensor graph, bottom-up: every node is `free` (no batch), `row` (a tensor with
// the batch along one axis whose row n depends only on row n of the data), `sum` (linear in sums
// over the batch, plus free terms) or `meet` (samples meet: a sum over the batch used
// nonlinearly, `a - mean(a)`, a slice along the batch, data with the batch twice, …).

import type { Model, Node, Shape } from './graph.ts';

type Cls = { readonly k: 'free' } | { readonly k: 'row' } | { readonly k: 'sum' } | { readonly k: 'meet'; readonly why: string; readonly at: Node };

const FREE: Cls = { k: 'free' };
const ROW: Cls = { k: 'row' };
const SUM: Cls = { k: 'sum' };

export type ShardPlan =
  | { readonly ok: true; readonly dim: string; readonly objective: Node }
  /** Why not, for the generated module's header (null: the model has no batch at all). */
  | { readonly ok: false; readonly note: string | null };

/** Plans the shards of a model's batch dimension (its one run-time dimension). */
export function planShards(model: Model): ShardPlan {
  if (model.symbolicDims.length === 0) return { ok: false, note: null };
  if (model.symbolicDims.length > 1) {
    return { ok: false, note: `no shard entry: the model has ${model.symbolicDims.length} run-time dimensions (${model.symbolicDims.join(', ')}); shards split one batch dimension` };
  }
  const B = model.symbolicDims[0]!;
  const classes = new Map<Node, Cls>();
  const batchAxes = (shape: Shape) => shape.filter((d) => d === B).length;
  const meet = (why: string, at: Node): Cls => ({ k: 'meet', why, at });

  const classify = (n: Node): Cls => {
    const known = classes.get(n);
    if (known) return known;
    const c = classOf(n);
    classes.set(n, c);
    return c;
  };
  const classOf = (n: Node): Cls => {
    if (n.kind !== 'data' && batchAxes(n.shape) > 1) return meet(`a tensor with ${B} along two axes`, n);
    switch (n.kind) {
      case 'param':
      case 'const':
      case 'dim':
        return FREE;
      case 'data': {
        const k = batchAxes(n.shape);
        return k === 0 ? FREE : k === 1 ? ROW : meet(`data ${n.name} pairs the samples ([${n.shape.join(', ')}])`, n);
      }
      case 'unary': {
        const a = classify(n.arg);
        if (a.k === 'sum' && n.fn !== 'neg') return meet(`${n.fn} of a sum over ${B}`, n);
        return a;
      }
      case 'binary': {
        const a = classify(n.a);
        const b = classify(n.b);
        if (a.k === 'meet') return a;
        if (b.k === 'meet') return b;
        const kinds = new Set([a.k, b.k]);
        if (kinds.has('row') && kinds.has('sum')) return meet(`a sum over ${B} meets the rows of ${B} (as in a - mean(a))`, n);
        if (n.op === 'add' || n.op === 'sub') return kinds.has('sum') ? SUM : kinds.has('row') ? ROW : FREE;
        if (kinds.has('sum')) {
          // Linear in the sum: multiplied by, or divided by, something without the batch.
          if (n.op === 'mul' && !(a.k === 'sum' && b.k === 'sum')) return SUM;
          if (n.op === 'div' && a.k === 'sum' && b.k === 'free') return SUM;
          return meet(`a sum over ${B} used nonlinearly (${n.op === 'pow' ? 'a power' : n.op === 'div' ? 'a division by it' : 'a product of two'})`, n);
        }
        return kinds.has('row') ? ROW : FREE;
      }
      case 'matmul': {
        const a = classify(n.a);
        const b = classify(n.b);
        if (a.k === 'meet') return a;
        if (b.k === 'meet') return b;
        if (n.a.shape[n.a.shape.length - 1] === B) return a.k === 'row' && b.k === 'row' ? SUM : meet(`a product over ${B} of a sum over ${B}`, n);
        const kinds = new Set([a.k, b.k]);
        if (kinds.has('sum')) return kinds.has('row') || (a.k === 'sum' && b.k === 'sum') ? meet(`a product of a sum over ${B}`, n) : SUM;
        return kinds.has('row') ? ROW : FREE;
      }
      case 'sum': {
        const a = classify(n.arg);
        if (a.k !== 'row') return a;
        // Over the batch axis (or over everything): a sum over the batch; along another axis: rows still.
        return batchAxes(n.shape) === 0 ? SUM : ROW;
      }
      case 'logsumexp': {
        const a = classify(n.arg);
        if (a.k === 'sum') return meet(`logsumexp of a sum over ${B}`, n);
        if (a.k === 'row' && batchAxes(n.shape) === 0) return meet(`logsumexp over ${B}`, n);
        return a;
      }
      case 'transpose':
        return classify(n.arg);
      case 'slice': {
        const a = classify(n.arg);
        if (a.k !== 'row') return a;
        const axis = n.arg.shape.indexOf(B);
        const ix = n.index[axis]!;
        return 'start' in ix && ix.start === 0 && ix.stop === B ? ROW : meet(`a slice along ${B}`, n);
      }
    }
  };

  const top = classify(model.objective);
  if (top.k === 'meet') return { ok: false, note: `no shard entry: the samples of ${B} meet in ${where(model, top.at)}: ${top.why}` };

  // The objective with every free term that is added to the batch's sums multiplied by `once`.
  let nextId = 1 + maxId(model);
  const once: Node = { kind: 'dim', id: nextId++, shape: [], name: B, role: 'once' };
  const make = (init: Record<string, unknown>): Node => ({ ...init, id: nextId++ }) as unknown as Node;
  const rewritten = new Map<Node, Node>();
  const withOnce = (n: Node): Node => {
    const c = classify(n);
    if (c.k === 'free') return make({ kind: 'binary', op: 'mul', a: once, b: n, shape: n.shape });
    let r = rewritten.get(n);
    if (r) return r;
    r = rewrite(n);
    rewritten.set(n, r);
    return r;
  };
  /** A `sum` node with its free parts multiplied by once (unchanged when it has none). */
  const rewrite = (n: Node): Node => {
    switch (n.kind) {
      case 'unary':
        return rebuilt(n, { arg: withOnce(n.arg) });
      case 'binary':
        if (n.op === 'add' || n.op === 'sub') return rebuilt(n, { a: withOnce(n.a), b: withOnce(n.b) });
        // mul or div: only the `sum` operand carries free terms; the other scales them.
        return classify(n.a).k === 'sum' ? rebuilt(n, { a: withOnce(n.a) }) : rebuilt(n, { b: withOnce(n.b) });
      case 'matmul':
        if (classify(n.a).k === 'row') return n; // a sum over the batch itself
        return classify(n.a).k === 'sum' ? rebuilt(n, { a: withOnce(n.a) }) : rebuilt(n, { b: withOnce(n.b) });
      case 'sum':
      case 'transpose':
      case 'slice':
        return classify(n.arg).k === 'row' ? n : rebuilt(n, { arg: withOnce(n.arg) });
      default:
        throw new Error(`internal: ${n.kind} node classified as a sum over the batch`);
    }
  };
  const rebuilt = (n: Node, parts: Record<string, Node>): Node => {
    const same = Object.entries(parts).every(([k, v]) => (n as unknown as Record<string, Node>)[k] === v);
    return same ? n : make({ ...n, ...parts });
  };
  return { ok: true, dim: B, objective: withOnce(model.objective) };
}

/** The largest node id in the model (new nodes must not share an id: index forms are memoized by it). */
function maxId(model: Model): number {
  let max = 0;
  const seen = new Set<Node>();
  const visit = (n: Node): void => {
    if (seen.has(n)) return;
    seen.add(n);
    max = Math.max(max, n.id);
    for (const k of ['a', 'b', 'arg'] as const) {
      const child = (n as unknown as Record<string, Node | undefined>)[k];
      if (child) visit(child);
    }
  };
  visit(model.objective);
  for (const d of model.definitions ?? []) visit(d.node);
  return max;
}

/** The innermost definition whose expression is, or contains, the node; else the objective. */
function where(model: Model, at: Node): string {
  const contains = (root: Node): boolean => {
    const seen = new Set<Node>();
    const visit = (n: Node): boolean => {
      if (n === at) return true;
      if (seen.has(n)) return false;
      seen.add(n);
      return (['a', 'b', 'arg'] as const).some((k) => {
        const child = (n as unknown as Record<string, Node | undefined>)[k];
        return child !== undefined && visit(child);
      });
    };
    return visit(root);
  };
  // Definitions come in source order: the first that contains the node is where it is written.
  for (const d of model.definitions ?? []) {
    if (contains(d.node)) return `\`${d.name}\`${d.line !== undefined ? ` (line ${d.line})` : ''}`;
  }
  return `the objective${model.objectiveAt !== undefined ? ` (line ${model.objectiveAt.line})` : ''}`;
}
