// What the pool (main thread) and its workers say to each other, and what they expect of a
// generated CPU module: its shard entry (`createShardEvaluator`, emitted for models whose samples
// only meet through sums over the batch).

/** Rows [start, end) of a batch of `total` rows (the model's batch dimension). */
export interface ShardRange {
  readonly start: number;
  readonly end: number;
  readonly total: number;
}

type Data = Readonly<Record<string, ArrayLike<number> | number>>;

/** A generated module's shard evaluator: each output's contribution of the rows it is given. */
export interface ShardEvaluator {
  value(theta: ArrayLike<number>, data: Data, range: ShardRange): number;
  gradient(theta: ArrayLike<number>, data: Data, range: ShardRange, out?: Float64Array): Float64Array;
  hessian(theta: ArrayLike<number>, data: Data, range: ShardRange, out?: Float64Array): Float64Array;
  evaluate(theta: ArrayLike<number>, data: Data, range: ShardRange): { value: number; gradient: Float64Array; hessian: Float64Array };
  hvp?(theta: ArrayLike<number>, data: Data, v: ArrayLike<number>, range: ShardRange, out?: Float64Array): Float64Array;
  hessianDiagonal?(theta: ArrayLike<number>, data: Data, range: ShardRange, out?: Float64Array): Float64Array;
  dispose(): void;
}

/** The parts of a generated CPU module that the pool uses. */
export interface ShardModule {
  readonly model: {
    readonly name: string;
    readonly n: number;
    readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  };
  /** The batch dimension that shards split (present with createShardEvaluator). */
  readonly shardDim?: string;
  readonly createShardEvaluator?: () => ShardEvaluator;
}

/** The outputs a pool computes; `evaluate` is value, gradient and Hessian in one pass. */
export type Op = 'value' | 'gradient' | 'hessian' | 'evaluate' | 'hvp' | 'hessianDiagonal';

/** A data array in shared memory: `length` float64 from `byteOffset` of `buffer`. */
export interface SharedArray {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly length: number;
}

export type ToWorker =
  | { readonly kind: 'init'; readonly module: string }
  | {
      readonly kind: 'run';
      readonly op: Op;
      readonly theta: SharedArray;
      readonly v: SharedArray | null;
      readonly data: Readonly<Record<string, SharedArray | number>>;
      readonly range: ShardRange;
      /** Where this worker writes its partial output (gradient, then Hessian, for `evaluate`). */
      readonly partial: SharedArray;
    }
  /** Adds the partials' entries [from, to) into the first partial (all `count` laid out `stride` apart). */
  | { readonly kind: 'reduce'; readonly partials: SharedArrayBuffer; readonly count: number; readonly stride: number; readonly from: number; readonly to: number };

export type FromWorker =
  | { readonly kind: 'ready'; readonly name: string; readonly n: number; readonly dim: string; readonly data: ShardModule['model']['data']; readonly ops: readonly Op[] }
  | { readonly kind: 'done'; readonly value: number }
  | { readonly kind: 'error'; readonly name: string; readonly message: string };
