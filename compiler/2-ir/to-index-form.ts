// Tensor graph -> index form. Linear operations (sums, slices, transposes, broadcasting,
// products, matrix products) become index formulas; nonlinear functions become `map` nodes over
// materialized arguments; logsumexp becomes max-shifted exp/sum/log so that it never overflows.

import type { Dim, Model, Node, Shape } from './graph.ts';
import {
  accessFormula, aff, constIdx, constantFormula, identityTerm, scaleFormula, substitute, freshVar, fullRange,
  type Affine, type ParamNode, type Formula, type MapFn, type Term, type Var,
} from './index-form.ts';
import { NodeTable, viewedNode, simplifyFormula } from './nodes.ts';
import { evaluateMap } from '../3-differentiate/functions.ts';
import { languageMap } from './functions.ts';

export interface IndexModel {
  readonly nodes: NodeTable;
  readonly params: readonly ParamNode[];
  readonly objective: Formula;
  /** The formula of any graph node of the model (memoized; built after the objective, so the objective's nodes keep their ids). */
  readonly formulaOf: (n: Node) => Formula;
}

export function toIndexForm(model: Model): IndexModel {
  const nodes = new NodeTable();
  const params = model.params.map((p, k) => nodes.param(p.name, p.shape, k) as ParamNode);
  const memo = new Map<number, Formula>();
  const build = (n: Node): Formula => {
    let f = memo.get(n.id);
    if (!f) {
      f = simplifyFormula(convert(n, build, nodes));
      memo.set(n.id, f);
    }
    return f;
  };
  const objective = build(model.objective);
  return { nodes, params, objective, formulaOf: build };
}

/** A model output: its value's formula over θ, and the node that stands for it in `objective`. */
export interface OutputSplit {
  readonly name: string;
  readonly formula: Formula;
  readonly placeholder: ParamNode;
}

/** The name of an output's placeholder: not an identifier, so no user name can meet it. */
export const outputPlaceholderName = (output: string): string => `out[${output}]`;

/**
 * The objective as ℓ(out₁, …, out_K, θ): the same formula built again with every use of an
 * output's value replaced by a placeholder node shaped like it (a `param` node, so that the
 * differentiator can differentiate by it), plus each output's own formula over θ. Outputs
 * used inside other outputs are absorbed by them (ℓ sees the outer one only); outputs written
 * identically are one output. Null when the model has no outputs.
 */
export function splitAtOutputs(model: Model, im: IndexModel): { objective: Formula; outputs: OutputSplit[] } | null {
  if (!model.outputs || model.outputs.length === 0) return null;
  const placeholders = new Map<number, ParamNode>();
  const outputs: OutputSplit[] = [];
  for (const o of model.outputs) {
    if (placeholders.has(o.node.id)) continue;
    // Output shapes may hold run-time dims: the placeholder never reaches the lowering (it is
    // replaced by the output's value before), so its shape only sizes index ranges.
    const placeholder = im.nodes.param(outputPlaceholderName(o.name), o.node.shape as readonly number[], -1) as ParamNode;
    placeholders.set(o.node.id, placeholder);
    outputs.push({ name: o.name, formula: im.formulaOf(o.node), placeholder });
  }
  const memo = new Map<number, Formula>();
  const build = (n: Node): Formula => {
    const p = placeholders.get(n.id);
    if (p) return accessFormula(p);
    let f = memo.get(n.id);
    if (!f) {
      f = simplifyFormula(convert(n, build, im.nodes));
      memo.set(n.id, f);
    }
    return f;
  };
  return { objective: build(model.objective), outputs };
}

/** The constant value of a formula that has no factors, or null. */
function constantOf(f: Formula): number | null {
  if (f.shape.length > 0) return null;
  if (f.terms.length === 0) return 0;
  if (f.terms.length === 1 && f.terms[0]!.factors.length === 0 && f.terms[0]!.sums.length === 0) return f.terms[0]!.coef;
  return null;
}

/** A formula over fresh output variables `vars`, built by multiplying formulas evaluated at given indices. */
function product(shape: Shape, parts: readonly { f: Formula; idx: (vars: Var[]) => Affine[] }[], sums: Dim[] = []): Formula {
  const { term, vars } = identityTerm(shape);
  const ranges = new Map(term.ranges);
  const sumVars = sums.map((d) => {
    const v = freshVar();
    ranges.set(v, fullRange(d));
    return v;
  });
  let terms: Term[] = [{ ...term, sums: sumVars, ranges }];
  const all = [...vars, ...sumVars];
  for (const p of parts) terms = terms.flatMap((t) => substitute(t, p.f, p.idx(all)));
  return { shape, terms };
}

/** Indices into a tensor of shape `from` broadcast to the output variables of shape `to`. */
function broadcastIdx(from: Shape, to: Shape) {
  return (vars: Var[]): Affine[] =>
    from.map((d, k) => {
      const k2 = k + to.length - from.length;
      return d === 1 && to[k2] !== 1 ? constIdx(0) : aff(vars[k2]!);
    });
}

function convert(n: Node, build: (n: Node) => Formula, nodes: NodeTable): Formula {
  // A product operand: kept inline when it is a single term with no sums (its factors join the
  // product), otherwise materialized as a node so that products never expand sums of terms.
  const operand = (x: Node): Formula => {
    const f = build(x);
    if (f.terms.length <= 1 && (f.terms.length === 0 || f.terms[0]!.sums.length === 0)) return f;
    return accessFormula(nodes.poly(f));
  };
  const mapOf = (fn: MapFn, x: Node): Formula => {
    const f = build(x);
    const c = constantOf(f);
    if (c !== null) return constantFormula(evaluateMap(fn, c));
    // A map commutes with a view (slice, transpose, broadcast) of a node: apply it to the node.
    if (f.terms.length === 1 && f.terms[0]!.coef === 1 && f.terms[0]!.factors.length === 1 && f.terms[0]!.sums.length === 0) {
      const t = f.terms[0]!;
      const fac = t.factors[0]!;
      return { shape: f.shape, terms: [{ ...t, factors: [{ node: nodes.map(fn, fac.node), idx: fac.idx }] }] };
    }
    return accessFormula(nodes.map(fn, nodes.poly(f)));
  };
  const pow = (p: number): MapFn => ({ name: 'pow', p });

  switch (n.kind) {
    case 'param':
      return accessFormula(nodes.param(n.name, n.shape as readonly number[], -1));
    case 'data':
      return accessFormula(nodes.data(n.name, n.shape));
    case 'const':
      return constantFormula(n.value);
    case 'dim':
      return accessFormula(nodes.dim(n.name, n.role));
    case 'unary':
      // sqrt, square and cube are powers (their table entries say which).
      return n.fn === 'neg' ? scaleFormula(build(n.arg), -1) : mapOf(languageMap(n.fn), n.arg);
    case 'binary': {
      const { a, b, shape } = n;
      switch (n.op) {
        case 'add':
        case 'sub': {
          const fa = product(shape, [{ f: build(a), idx: broadcastIdx(a.shape, shape) }]);
          const fb = product(shape, [{ f: build(b), idx: broadcastIdx(b.shape, shape) }]);
          return { shape, terms: [...fa.terms, ...scaleFormula(fb, n.op === 'sub' ? -1 : 1).terms] };
        }
        case 'mul':
          return product(shape, [
            { f: operand(a), idx: broadcastIdx(a.shape, shape) },
            { f: operand(b), idx: broadcastIdx(b.shape, shape) },
          ]);
        case 'div': {
          const cb = constantOf(build(b));
          if (cb !== null) return product(shape, [{ f: scaleFormula(build(a), 1 / cb), idx: broadcastIdx(a.shape, shape) }]);
          return product(shape, [
            { f: operand(a), idx: broadcastIdx(a.shape, shape) },
            { f: mapOf(pow(-1), b), idx: broadcastIdx(b.shape, shape) },
          ]);
        }
        case 'pow': {
          const cb = constantOf(build(b));
          if (cb !== null) {
            if (cb === 0) return product(shape, [{ f: constantFormula(1), idx: () => [] }]);
            if (cb === 1) return product(shape, [{ f: build(a), idx: broadcastIdx(a.shape, shape) }]);
            const m = mapOf(pow(cb), a);
            return product(shape, [{ f: m, idx: broadcastIdx(a.shape, shape) }]);
          }
          // a .^ b = exp(b .* log0(a)), with log0(a) folded when a is a constant. log0 is log
          // with a large finite negative value at 0: aᵇ·log a → 0 as a → 0 (b > 0), and so must
          // ∂(aᵇ)/∂b = exp(b·log0 a)·log0 a be, where −∞ would give 0·(−∞) = NaN.
          const ca = constantOf(build(a));
          const log0: MapFn = { name: 'log0', p: 0 };
          const logA = ca !== null ? constantFormula(evaluateMap(log0, ca)) : mapOf(log0, a);
          const exponent = product(shape, [
            { f: operand(b), idx: broadcastIdx(b.shape, shape) },
            { f: logA, idx: broadcastIdx(a.shape, shape) },
          ]);
          const node = nodes.map({ name: 'exp', p: 0 }, nodes.poly(exponent));
          return accessFormula(node);
        }
      }
      break;
    }
    case 'matmul': {
      const { a, b, shape } = n;
      const inner = a.shape[a.shape.length - 1]!;
      // Output variables first, the contracted index last.
      const ra = a.shape.length;
      const rb = b.shape.length;
      return product(
        shape,
        [
          { f: operand(a), idx: (v) => (ra === 2 ? [aff(v[0]!), aff(v[v.length - 1]!)] : [aff(v[v.length - 1]!)]) },
          { f: operand(b), idx: (v) => (rb === 2 ? [aff(v[v.length - 1]!), aff(v[ra === 2 ? 1 : 0]!)] : [aff(v[v.length - 1]!)]) },
        ],
        [inner],
      );
    }
    case 'sum': {
      const { arg, axis, shape } = n;
      const f = build(arg);
      if (axis === null || arg.shape.length <= 1) return product(shape, [{ f, idx: (v) => v.map(aff) }], [...arg.shape]);
      // v = [kept axis, summed axis]
      return product(shape, [{ f, idx: (v) => (axis === 0 ? [aff(v[1]!), aff(v[0]!)] : [aff(v[0]!), aff(v[1]!)]) }], [arg.shape[axis]!]);
    }
    case 'transpose': {
      const f = build(n.arg);
      return product(n.shape, [{ f, idx: (v) => [aff(v[1]!), aff(v[0]!)] }]);
    }
    case 'slice': {
      const f = build(n.arg);
      return product(n.shape, [
        {
          f,
          idx: (v) => {
            let k = 0;
            return n.index.map((ix) => ('at' in ix ? constIdx(ix.at) : { v: v[k++]!, c: ix.start }));
          },
        },
      ]);
    }
    case 'logsumexp':
      return logsumexp(n, build(n.arg), nodes);
  }
  throw new Error(`internal: cannot convert ${(n as Node).kind}`);
}

/** lse = log(Σ exp(A − m)) + m with m the maximum along the axis (held constant: the result does not depend on it). */
function logsumexp(n: Extract<Node, { kind: 'logsumexp' }>, fa: Formula, nodes: NodeTable): Formula {
  const A = viewedNode(fa) ?? nodes.poly(fa);
  const axis = A.shape.length <= 1 ? null : n.axis;
  const m = nodes.max(A, axis);
  const keep = (v: Var[]): Affine[] => {
    // indices of m for a full index v of A
    if (axis === null) return [];
    return [aff(v[axis === 0 ? 1 : 0]!)];
  };
  const shifted = product(A.shape, [
    { f: accessFormula(A), idx: (v) => v.map(aff) },
  ]);
  const minusM = product(A.shape, [{ f: scaleFormula(accessFormula(m), -1), idx: keep }]);
  const E = nodes.map({ name: 'exp', p: 0 }, nodes.poly({ shape: A.shape, terms: [...shifted.terms, ...minusM.terms] }));
  // S over the output variables (the kept axis first), summing the reduced axis / all axes.
  const rank = A.shape.length;
  let S: Formula;
  if (axis === null) {
    S = product([], [{ f: accessFormula(E), idx: (v) => v.slice(0, rank).map(aff) }], [...A.shape]);
  } else {
    S = product(n.shape, [{ f: accessFormula(E), idx: (v) => (axis === 0 ? [aff(v[1]!), aff(v[0]!)] : [aff(v[0]!), aff(v[1]!)]) }], [A.shape[axis]!]);
  }
  const logS = nodes.map({ name: 'log', p: 0 }, nodes.poly(S));
  return { shape: n.shape, terms: [...accessFormula(logS).terms, ...accessFormula(m).terms] };
}
