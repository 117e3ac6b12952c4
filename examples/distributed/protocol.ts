// What the coordinator, the shard workers and the reducer of the BullMQ recipe share
// (docs/distributed.md): queue names, job payloads, and float64 arrays as Redis strings.
import type { Redis } from 'ioredis';

/** Shard jobs: each computes one range of the batch's rows. */
export const SHARD_QUEUE = 'hessgen-shards';
/** The reduce job: the parent of a run's shard jobs, processed once all of them are done. */
export const REDUCE_QUEUE = 'hessgen-reduce';
/** Every key a run writes expires after this long, whatever happens to the run. */
export const TTL_SECONDS = 3600;

export interface ShardRange {
  readonly start: number;
  readonly end: number;
  readonly total: number;
}

export interface ShardJob {
  /** The model the job is for (a worker running another model refuses it). */
  readonly model: string;
  readonly index: number;
  readonly range: ShardRange;
  /** θ, base64 of its float64 bytes. */
  readonly theta: string;
  /** Per data array: the Redis key of this range's rows, or the value of a scalar. */
  readonly data: Readonly<Record<string, { readonly key: string } | { readonly scalar: number }>>;
  /** Where the worker writes [value, gradient, Hessian] of its range. */
  readonly out: string;
}

export interface ShardResult {
  readonly index: number;
  readonly key: string;
}

export interface ReduceJob {
  readonly n: number;
  /** Where the reducer writes the sum [value, gradient, Hessian]. */
  readonly out: string;
}

export const toBytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A copy (a Buffer's bytes need not be aligned for a Float64Array). */
export function fromBytes(b: Buffer): Float64Array {
  const out = new Float64Array(b.byteLength / 8);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** A float64 array from Redis, or an error naming the key (expired or never written). */
export async function readArray(redis: Redis, key: string): Promise<Float64Array> {
  const b = await redis.getBuffer(key);
  if (b === null) throw new Error(`hessgen distributed: no value at ${key} (expired, or never written)`);
  return fromBytes(b);
}

export async function writeArray(redis: Redis, key: string, a: Float64Array): Promise<void> {
  await redis.set(key, toBytes(a), 'EX', TTL_SECONDS);
}
