// The tensor graph: what the front end builds from a checked model. Every node is a tensor of
// rank 0-2 with a known shape (symbolic run-time dimensions are names). Nodes are hash-consed:
// building the same operation on the same inputs twice returns the same node, so a
// subexpression written twice is one node from here on.

import { LANGUAGE_FUNCTIONS, foldLanguage, type LanguageFn } from './functions.ts';

export type Dim = number | string; // a string is a symbolic dimension (`dim N`), known at run time
export type Shape = readonly Dim[];
/** What a run-time scalar of a dimension is, besides its size (see the `dim` node). */
export type DimRole = 'rows' | 'once';

/** The language's element-wise functions (their entries: `2-ir/functions.ts`). */
export const UNARY_FUNCTIONS: readonly LanguageFn[] = LANGUAGE_FUNCTIONS;
export type UnaryFn = LanguageFn | 'neg';

/** An element-wise function on one number (compile-time folding of constants). */
export function applyUnary(fn: UnaryFn, x: number): number {
  return fn === 'neg' ? -x : foldLanguage(fn, x);
}
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow';

/**
 * One index of a `slice`: a single position (removes the axis) or a half-open range (keeps it),
 * 0-based. A symbolic stop is allowed only for the whole axis (start 0, `:` on a `dim N` axis).
 */
export type SliceIndex = { readonly at: number } | { readonly start: number; readonly stop: Dim };

export type Node =
  | { readonly kind: 'param'; readonly id: number; readonly shape: Shape; readonly name: string }
  | { readonly kind: 'data'; readonly id: number; readonly shape: Shape; readonly name: string }
  | { readonly kind: 'const'; readonly id: number; readonly shape: Shape; readonly value: number }
  /**
   * The run-time size of a symbolic dimension, as a scalar. With a `role` (only in shard plans,
   * 2-ir/shards.ts): `rows`, how many of its rows a call holds (the size itself, except in a
   * shard); `once`, 1 when the call holds row 0 (always, except in a shard), else 0.
   */
  | { readonly kind: 'dim'; readonly id: number; readonly shape: Shape; readonly name: string; readonly role?: DimRole }
  | { readonly kind: 'unary'; readonly id: number; readonly shape: Shape; readonly fn: UnaryFn; readonly arg: Node }
  /** Element-wise with broadcasting from the last axis. */
  | { readonly kind: 'binary'; readonly id: number; readonly shape: Shape; readonly op: BinaryOp; readonly a: Node; readonly b: Node }
  /** The `*` of the language between two tensors of rank >= 1 (matrix/vector products, dot). */
  | { readonly kind: 'matmul'; readonly id: number; readonly shape: Shape; readonly a: Node; readonly b: Node }
  /** axis null: all elements; 0: over the first axis; 1: over the second axis. */
  | { readonly kind: 'sum'; readonly id: number; readonly shape: Shape; readonly arg: Node; readonly axis: 0 | 1 | null }
  | { readonly kind: 'logsumexp'; readonly id: number; readonly shape: Shape; readonly arg: Node; readonly axis: 0 | 1 | null }
  | { readonly kind: 'transpose'; readonly id: number; readonly shape: Shape; readonly arg: Node }
  | { readonly kind: 'slice'; readonly id: number; readonly shape: Shape; readonly arg: Node; readonly index: readonly SliceIndex[] };

export interface ParamDecl { readonly name: string; readonly shape: readonly number[] }
export interface DataDecl { readonly name: string; readonly shape: Shape }

/** A checked model: the declarations in order and the objective node. */
export interface Model {
  readonly name: string;
  /** Symbolic dimensions (`dim N` without a size), in declaration order. */
  readonly symbolicDims: readonly string[];
  readonly params: readonly ParamDecl[];
  readonly data: readonly DataDecl[];
  readonly objective: Node;
  /** Definitions (`name = expr`) and their nodes, in order: names for readers of formulas (inspect). */
  readonly definitions?: readonly { readonly name: string; readonly node: Node; readonly line?: number }[];
  /**
   * The definitions marked `output NAME = …`, in order: the model's outputs, through which the
   * generalized Gauss-Newton matrix linearizes (absent or empty: the model has no gaussNewton).
   */
  readonly outputs?: readonly { readonly name: string; readonly node: Node }[];
  /** Where `minimize` is written (1-based), for notes about the model as a whole. */
  readonly objectiveAt?: { readonly line: number; readonly column: number; readonly length: number };
}

/** Whether a node's value depends on a parameter. */
export function dependsOnParam(node: Node, seen: Map<number, boolean> = new Map()): boolean {
  const known = seen.get(node.id);
  if (known !== undefined) return known;
  let r: boolean;
  switch (node.kind) {
    case 'param':
      r = true;
      break;
    case 'data':
    case 'const':
    case 'dim':
      r = false;
      break;
    case 'binary':
    case 'matmul':
      r = dependsOnParam(node.a, seen) || dependsOnParam(node.b, seen);
      break;
    default:
      r = dependsOnParam(node.arg, seen);
  }
  seen.set(node.id, r);
  return r;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Shape of broadcasting a and b (aligned from the last axis; size 1 repeats), or null. */
export function broadcastShape(a: Shape, b: Shape): Shape | null {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k];
    const db = b[b.length - rank + k];
    if (da === undefined) out.push(db!);
    else if (db === undefined) out.push(da);
    else if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else return null;
  }
  return out;
}

/** Shape of `a * b` for tensors of rank >= 1, or null when the inner dimensions differ. */
export function matmulShape(a: Shape, b: Shape): Shape | null {
  if (a.length === 0 || b.length === 0) return null;
  const inner = a[a.length - 1];
  if (inner !== b[0]) return null;
  return [...a.slice(0, -1), ...b.slice(1)];
}

export function shapeText(shape: Shape): string {
  return shape.length === 0 ? 'scalar' : `[${shape.join(', ')}]`;
}

type NodeInit = Node extends infer T ? (T extends Node ? Omit<T, 'id'> : never) : never;

/**
 * Builds hash-consed nodes. Shapes must already be valid (the front end checks them and
 * reports located errors); the builder asserts them only as an internal consistency check.
 */
export class GraphBuilder {
  private readonly table = new Map<string, Node>();
  private nextId = 0;

  private intern(init: NodeInit, key: string): Node {
    const found = this.table.get(key);
    if (found) return found;
    const node = { ...init, id: this.nextId++ } as Node;
    this.table.set(key, node);
    return node;
  }

  param(name: string, shape: readonly number[]): Node {
    return this.intern({ kind: 'param', name, shape }, `param:${name}`);
  }
  data(name: string, shape: Shape): Node {
    return this.intern({ kind: 'data', name, shape }, `data:${name}`);
  }
  constant(value: number): Node {
    // Object.is keeps -0 and 0 apart; the key must too.
    return this.intern({ kind: 'const', value, shape: [] }, `const:${Object.is(value, -0) ? '-0' : String(value)}`);
  }
  dim(name: string): Node {
    return this.intern({ kind: 'dim', name, shape: [] }, `dim:${name}`);
  }
  unary(fn: UnaryFn, arg: Node): Node {
    return this.intern({ kind: 'unary', fn, arg, shape: arg.shape }, `unary:${fn}:${arg.id}`);
  }
  binary(op: BinaryOp, a: Node, b: Node): Node {
    const shape = broadcastShape(a.shape, b.shape);
    if (!shape) throw new Error(`internal: cannot broadcast ${shapeText(a.shape)} and ${shapeText(b.shape)}`);
    return this.intern({ kind: 'binary', op, a, b, shape }, `binary:${op}:${a.id}:${b.id}`);
  }
  matmul(a: Node, b: Node): Node {
    const shape = matmulShape(a.shape, b.shape);
    if (!shape) throw new Error(`internal: cannot multiply ${shapeText(a.shape)} by ${shapeText(b.shape)}`);
    return this.intern({ kind: 'matmul', a, b, shape }, `matmul:${a.id}:${b.id}`);
  }
  sum(arg: Node, axis: 0 | 1 | null): Node {
    return this.intern({ kind: 'sum', arg, axis, shape: reducedShape(arg.shape, axis) }, `sum:${axis}:${arg.id}`);
  }
  logsumexp(arg: Node, axis: 0 | 1 | null): Node {
    return this.intern({ kind: 'logsumexp', arg, axis, shape: reducedShape(arg.shape, axis) }, `lse:${axis}:${arg.id}`);
  }
  transpose(arg: Node): Node {
    if (arg.shape.length < 2) return arg;
    return this.intern({ kind: 'transpose', arg, shape: [arg.shape[1]!, arg.shape[0]!] }, `transpose:${arg.id}`);
  }
  slice(arg: Node, index: readonly SliceIndex[]): Node {
    if (index.length !== arg.shape.length) throw new Error('internal: slice needs one index per axis');
    const shape: Dim[] = [];
    index.forEach((ix) => {
      if ('start' in ix) shape.push(typeof ix.stop === 'number' ? ix.stop - ix.start : ix.stop);
    });
    const key = index.map((ix) => ('at' in ix ? `@${ix.at}` : `${ix.start}:${ix.stop}`)).join(',');
    return this.intern({ kind: 'slice', arg, index, shape }, `slice:${arg.id}:${key}`);
  }
}

function reducedShape(shape: Shape, axis: 0 | 1 | null): Shape {
  if (axis === null) return [];
  if (shape.length === 1) return [];
  return shape.filter((_, k) => k !== axis);
}
