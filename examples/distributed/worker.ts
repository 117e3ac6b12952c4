// A worker process of the BullMQ recipe (docs/distributed.md), one of two roles:
//   shard:   takes shard jobs, reads its range's rows from Redis, computes the range's value,
//            gradient and Hessian with the generated module's shard entry, writes them to Redis
//   reduce:  takes the reduce job of a run once all its shard jobs are done, and adds up their
//            results (in the order of the ranges, so that the sum does not depend on timing)
//
//   node bin/run-ts.mjs examples/distributed/worker.ts --role=shard --module=generated/net.js --redis=redis://host:6379
//   node bin/run-ts.mjs examples/distributed/worker.ts --role=reduce --redis=redis://host:6379
//
// It prints `ready` once it listens, and closes cleanly on SIGTERM or SIGINT.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { readArray, REDUCE_QUEUE, SHARD_QUEUE, writeArray, fromBytes, type ReduceJob, type ShardJob, type ShardRange, type ShardResult } from './protocol.ts';

interface ShardModule {
  readonly model: { readonly name: string; readonly n: number };
  readonly createShardEvaluator?: () => {
    evaluate(theta: ArrayLike<number>, data: Record<string, ArrayLike<number> | number>, range: ShardRange): { value: number; gradient: Float64Array; hessian: Float64Array };
  };
}

const option = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const role = option('role');
const redisUrl = option('redis') ?? 'redis://127.0.0.1:6379';
if (role !== 'shard' && role !== 'reduce') {
  console.error('usage: worker.ts --role=shard --module=FILE.js [--redis=URL] | --role=reduce [--redis=URL]');
  process.exit(2);
}

// BullMQ needs a connection that retries blocking commands forever; the data use their own.
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const redis = new Redis(redisUrl);

async function shardProcessor(): Promise<(job: Job<ShardJob>) => Promise<ShardResult>> {
  const file = option('module');
  if (file === undefined) throw new Error('--module=FILE.js: the generated CPU module (hessgen build --emit js)');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as ShardModule;
  if (typeof mod.createShardEvaluator !== 'function') throw new Error(`${file} has no shard entry (see the notes in its header)`);
  const evaluator = mod.createShardEvaluator();
  const n = mod.model.n;
  return async (job) => {
    const j = job.data;
    if (j.model !== mod.model.name) throw new Error(`job for model ${j.model}, but this worker runs ${mod.model.name}`);
    const theta = fromBytes(Buffer.from(j.theta, 'base64'));
    const data: Record<string, Float64Array | number> = {};
    for (const [name, ref] of Object.entries(j.data)) data[name] = 'scalar' in ref ? ref.scalar : await readArray(redis, ref.key);
    const r = evaluator.evaluate(theta, data, j.range);
    const out = new Float64Array(1 + n + n * n);
    out[0] = r.value;
    out.set(r.gradient, 1);
    out.set(r.hessian, 1 + n);
    await writeArray(redis, j.out, out);
    return { index: j.index, key: j.out };
  };
}

async function reduceProcessor(job: Job<ReduceJob>): Promise<{ key: string }> {
  const children = Object.values(await job.getChildrenValues<ShardResult>()).sort((a, b) => a.index - b.index);
  const sum = new Float64Array(1 + job.data.n + job.data.n * job.data.n);
  for (const c of children) {
    const part = await readArray(redis, c.key);
    if (part.length !== sum.length) throw new Error(`shard ${c.index}: ${part.length} numbers, expected ${sum.length}`);
    for (let i = 0; i < sum.length; i++) sum[i] += part[i]!;
    await redis.del(c.key);
  }
  await writeArray(redis, job.data.out, sum);
  return { key: job.data.out };
}

const worker =
  role === 'shard'
    ? new Worker<ShardJob, ShardResult>(SHARD_QUEUE, await shardProcessor(), { connection, concurrency: 1 })
    : new Worker<ReduceJob, { key: string }>(REDUCE_QUEUE, reduceProcessor, { connection, concurrency: 1 });
worker.on('failed', (job, err) => console.error(`${role} job ${job?.id ?? '?'} failed: ${err.message}`));
await worker.waitUntilReady();
console.log('ready');

const stop = async () => {
  await worker.close();
  await Promise.all([connection.quit(), redis.quit()]);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
