// The many-machines recipe (docs/distributed.md, examples/distributed/): a Redis server of its own
// (Debian's redis-server on a free port), two shard worker processes and a reducer process, and
// this process as the coordinator. The Hessian (and value and gradient) that comes back equals the
// one-process result within 1e-12, for more ranges than workers and for one range per worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { evaluateDistributed } from '../../examples/distributed/coordinator.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { assertClose } from '../helpers/numeric.ts';
import { makeRng } from '../helpers/rng.ts';

const REDIS_SERVER = '/usr/bin/redis-server';
const MODEL = `
dim N
data X[N, 4]
data Y[N, 3]
param W1[4, 5]
param b1[5]
param W2[5, 3]
param b2[3]
H = tanh(X * W1 + b1)
Z = H * W2 + b2
minimize mean(logsumexp(Z, 2) - sum(Y .* Z, 2)) + 0.01 * (sum(W1 .^ 2) + sum(W2 .^ 2))
`;

interface Module {
  model: { name: string; n: number; data: { name: string; shape: (number | string)[] }[] };
  evaluate(theta: ArrayLike<number>, data: object): { value: number; gradient: Float64Array; hessian: Float64Array };
}

let dir = '';
let port = 0;
let moduleFile = '';
let mod: Module;
const processes: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts a process and resolves once a line of its output matches `ready`. */
function start(command: string, args: string[], ready: RegExp, label: string): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start in 60 s:\n${output}`)), 60_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (code ${code}) before it was ready:\n${output}`));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run installs it)`);
  dir = mkdtempSync(join(tmpdir(), 'hessgen-bullmq-'));
  const r = compile(MODEL, 'distributed.hess', { emit: 'js' });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  moduleFile = join(dir, 'distributed.js');
  writeFileSync(moduleFile, r.outputs.find((o) => o.fileName === 'distributed.js')!.code);
  mod = (await import(/* @vite-ignore */ pathToFileURL(moduleFile).href)) as Module;
  port = await freePort();
  // No persistence: the server's state lives and dies with the test.
  await start(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/, 'redis-server');
  const url = `redis://127.0.0.1:${port}`;
  const worker = (role: string, k: number) =>
    start(process.execPath, [join(repoRoot, 'bin', 'run-ts.mjs'), join(repoRoot, 'examples', 'distributed', 'worker.ts'), `--role=${role}`, `--module=${moduleFile}`, `--redis=${url}`], /^ready$/m, `${role} worker ${k}`);
  await Promise.all([worker('shard', 1), worker('shard', 2), worker('reduce', 1)]);
}, 120_000);

afterAll(async () => {
  // Workers first (they close their connections), then the server: only the processes started here.
  const exited = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));
  for (const c of processes.slice(1).reverse()) c.kill('SIGTERM');
  await Promise.all(processes.slice(1).map(exited));
  if (processes[0]) {
    processes[0].kill('SIGTERM');
    await exited(processes[0]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('BullMQ on Redis: two shard workers and a reducer', () => {
  for (const [shards, N] of [[5, 41], [2, 16], [3, 2]] as const) {
    it(`${shards} ranges of N = ${N}: the Hessian of one process`, async () => {
      const rng = makeRng(`bullmq-${shards}-${N}`);
      const X = Float64Array.from({ length: N * 4 }, () => rng.uniform(-1, 1));
      const Y = new Float64Array(N * 3);
      for (let i = 0; i < N; i++) Y[i * 3 + rng.int(0, 2)] = 1;
      const theta = Float64Array.from({ length: mod.model.n }, () => rng.uniform(-0.8, 0.8));
      const url = `redis://127.0.0.1:${port}`;
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const redis = new Redis(url);
      try {
        const got = await evaluateDistributed({ connection, redis, model: mod.model, dim: 'N', shards, timeoutMs: 60_000 }, theta, { X, Y });
        const one = mod.evaluate(theta, { X, Y });
        assertClose('value', [got.value], [one.value], 1e-12);
        assertClose('gradient', got.gradient, one.gradient, 1e-12);
        assertClose('Hessian', got.hessian, one.hessian, 1e-12, mod.model.n);
        // The run leaves nothing behind in Redis but BullMQ's own bookkeeping.
        expect((await redis.keys('hessgen:*')).length).toBe(0);
      } finally {
        await Promise.all([connection.quit(), redis.quit()]);
      }
    }, 120_000);
  }
});
