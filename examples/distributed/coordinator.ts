// The coordinator of the BullMQ recipe (docs/distributed.md): splits the batch into ranges, puts
// each range's rows into Redis, adds one flow (a reduce job whose children are the shard jobs),
// waits for the reduce job and reads the summed value, gradient and Hessian.
//
// Rows travel through Redis here so that the recipe is self-contained; where each machine already
// holds its rows (its part of a data set on its own disk), a shard job would name the range only.
import { randomUUID } from 'node:crypto';
import { FlowProducer, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { readArray, REDUCE_QUEUE, SHARD_QUEUE, toBytes, writeArray, type ReduceJob, type ShardJob, type ShardRange } from './protocol.ts';

export interface ModelLayout {
  readonly name: string;
  readonly n: number;
  readonly data: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
}

export interface DistributedResult {
  value: number;
  gradient: Float64Array;
  hessian: Float64Array;
}

/** `count` contiguous ranges over [0, total). */
export function ranges(total: number, count: number): ShardRange[] {
  return Array.from({ length: count }, (_, k) => ({ start: Math.floor((k * total) / count), end: Math.floor(((k + 1) * total) / count), total }));
}

/** Rows [start, end) of a row-major array along the axis of `dim`. */
function rowsOf(a: Float64Array, shape: readonly (number | string)[], dim: string, r: ShardRange): Float64Array {
  const axis = shape.indexOf(dim);
  const size = (from: number, to: number) => shape.slice(from, to).reduce<number>((p, d) => p * (d === dim ? r.total : (d as number)), 1);
  const inner = size(axis + 1, shape.length);
  const outer = size(0, axis);
  const rows = r.end - r.start;
  const out = new Float64Array(outer * rows * inner);
  for (let o = 0; o < outer; o++) out.set(a.subarray((o * r.total + r.start) * inner, (o * r.total + r.end) * inner), o * rows * inner);
  return out;
}

/**
 * Value, gradient and Hessian of the model over all of `data`, computed by the shard workers in
 * `shards` ranges and added up by the reducer. `connection` is BullMQ's (maxRetriesPerRequest: null),
 * `redis` one for the rows and results.
 */
export async function evaluateDistributed(
  options: { connection: Redis; redis: Redis; model: ModelLayout; dim: string; shards: number; timeoutMs?: number },
  theta: Float64Array,
  data: Readonly<Record<string, Float64Array | number>>,
): Promise<DistributedResult> {
  const { connection, redis, model, dim, shards } = options;
  const first = model.data.find((d) => d.shape.includes(dim));
  if (first === undefined) throw new RangeError(`no data array has the batch dimension ${dim}`);
  const per = first.shape.reduce<number>((p, d) => p * (d === dim ? 1 : (d as number)), 1);
  const total = (data[first.name] as Float64Array).length / per;
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`data.${first.name}: expected a whole number (≥ 1) of rows of ${per}`);
  const run = `hessgen:${randomUUID()}`;
  const children = [];
  const written: string[] = [];
  for (const [index, range] of ranges(total, shards).entries()) {
    const job: Record<string, ShardJob['data'][string]> = {};
    for (const d of model.data) {
      const a = data[d.name];
      if (typeof a === 'number') job[d.name] = { scalar: a };
      else {
        const key = `${run}:rows:${index}:${d.name}`;
        await writeArray(redis, key, d.shape.includes(dim) ? rowsOf(a!, d.shape, dim, range) : a!);
        written.push(key);
        job[d.name] = { key };
      }
    }
    const payload: ShardJob = { model: model.name, index, range, theta: toBytes(theta).toString('base64'), data: job, out: `${run}:part:${index}` };
    children.push({ name: 'shard', queueName: SHARD_QUEUE, data: payload, opts: { failParentOnFailure: true, removeOnComplete: true } });
  }
  const out = `${run}:sum`;
  const reduce: ReduceJob = { n: model.n, out };
  const flows = new FlowProducer({ connection });
  // QueueEvents blocks on its connection: one of its own, closed below (BullMQ leaves the
  // connections it is given open).
  const eventsConnection = connection.duplicate();
  const events = new QueueEvents(REDUCE_QUEUE, { connection: eventsConnection });
  try {
    await events.waitUntilReady();
    const node = await flows.add({ name: 'reduce', queueName: REDUCE_QUEUE, data: reduce, children, opts: { removeOnComplete: true } });
    await node.job.waitUntilFinished(events, options.timeoutMs ?? 600_000);
    const sum = await readArray(redis, out);
    const n = model.n;
    return { value: sum[0]!, gradient: sum.slice(1, 1 + n), hessian: sum.slice(1 + n) };
  } finally {
    await redis.del(out, ...written);
    await flows.close();
    await events.close();
    await eventsConnection.quit();
  }
}
