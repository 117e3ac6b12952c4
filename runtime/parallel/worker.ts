// A pool worker: imports the generated CPU module once, then computes shards of the batch into
// its slot of shared memory, and adds up slices of the partial results when asked.

import { parentEndpoint } from './endpoint.ts';
import type { FromWorker, Op, ShardEvaluator, ShardModule, SharedArray, ToWorker } from './protocol.ts';
import { rowsOf } from './split.ts';

const view = (a: SharedArray): Float64Array => new Float64Array(a.buffer, a.byteOffset, a.length);

const port = await parentEndpoint();
let evaluator: ShardEvaluator | null = null;
let layout: ShardModule['model']['data'] = [];
let dim = '';

const reply = (m: FromWorker) => port.post(m);

async function init(url: string): Promise<FromWorker> {
  const mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ url)) as ShardModule;
  if (typeof mod.createShardEvaluator !== 'function' || typeof mod.shardDim !== 'string') {
    throw new TypeError(`${url} has no shard entry (createShardEvaluator): its model is not a sum over the batch, or it is not a hessgen CPU module (see the notes in its header)`);
  }
  evaluator = mod.createShardEvaluator();
  layout = mod.model.data;
  dim = mod.shardDim;
  const ops: Op[] = ['value', 'gradient', 'hessian', 'evaluate'];
  if (typeof evaluator.hvp === 'function') ops.push('hvp');
  if (typeof evaluator.hessianDiagonal === 'function') ops.push('hessianDiagonal');
  return { kind: 'ready', name: mod.model.name, n: mod.model.n, dim, data: layout, ops };
}

function run(m: Extract<ToWorker, { kind: 'run' }>): number {
  const e = evaluator!;
  const data: Record<string, ArrayLike<number> | number> = {};
  for (const d of layout) {
    const a = m.data[d.name]!;
    data[d.name] = typeof a === 'number' ? a : rowsOf(view(a), d.shape, dim, m.range);
  }
  const theta = view(m.theta);
  const out = view(m.partial);
  switch (m.op) {
    case 'value':
      return e.value(theta, data, m.range);
    case 'gradient':
      e.gradient(theta, data, m.range, out);
      return 0;
    case 'hessian':
      e.hessian(theta, data, m.range, out);
      return 0;
    case 'evaluate': {
      const r = e.evaluate(theta, data, m.range);
      out.set(r.gradient, 0);
      out.set(r.hessian, r.gradient.length);
      return r.value;
    }
    case 'hvp':
      e.hvp!(theta, data, view(m.v!), m.range, out);
      return 0;
    case 'hessianDiagonal':
      e.hessianDiagonal!(theta, data, m.range, out);
      return 0;
  }
}

/** partials[0][i] += partials[k][i] for i in [from, to): each worker adds its own slice. */
function reduce(m: Extract<ToWorker, { kind: 'reduce' }>): void {
  const all = new Float64Array(m.partials);
  const sum = all.subarray(m.from, m.to);
  for (let k = 1; k < m.count; k++) {
    const part = all.subarray(k * m.stride + m.from, k * m.stride + m.to);
    for (let i = 0; i < sum.length; i++) sum[i] += part[i]!;
  }
}

port.listen((message) => {
  const m = message as ToWorker;
  const fail = (err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    reply({ kind: 'error', name: error.name, message: error.message });
  };
  try {
    if (m.kind === 'init') init(m.module).then(reply, fail);
    else if (m.kind === 'run') reply({ kind: 'done', value: run(m) });
    else {
      reduce(m);
      reply({ kind: 'done', value: 0 });
    }
  } catch (err) {
    fail(err);
  }
});
