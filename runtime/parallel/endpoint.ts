// One code path for both kinds of worker: Web Workers (browsers, Deno, Bun: a global `Worker`)
// and Node's worker_threads. Node's module is imported only when there is no global Worker, and
// under a computed name, so that bundlers for browsers neither resolve nor warn about it.

/** Both ends of a worker speak through this. */
export interface Endpoint {
  post(message: unknown): void;
  /** Every message, and every failure of the worker itself (an uncaught error, an exit). */
  listen(onMessage: (message: unknown) => void, onFailure: (error: Error) => void): void;
  terminate(): Promise<void>;
  /** Whether the worker keeps a Node process alive (only while a call is in flight); no-op elsewhere. */
  hold(on: boolean): void;
}

/** The part of a Web Worker used here (the project's types have no DOM library). */
interface WebWorker {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', f: (e: { data: unknown }) => void): void;
  addEventListener(type: 'error', f: (e: { message?: string }) => void): void;
  terminate(): void;
}
type WebWorkerConstructor = new (url: URL | string, options: { type: 'module'; name?: string }) => WebWorker;

/** The part of node:worker_threads used here. */
interface NodeWorkerThreads {
  Worker: new (url: URL) => {
    postMessage(message: unknown): void;
    on(event: 'message', f: (m: unknown) => void): void;
    on(event: 'error', f: (e: Error) => void): void;
    on(event: 'exit', f: (code: number) => void): void;
    terminate(): Promise<number>;
    ref(): void;
    unref(): void;
  };
  parentPort: { postMessage(message: unknown): void; on(event: 'message', f: (m: unknown) => void): void } | null;
}

// A name no bundler folds into a literal (see scripts/build-dist.mjs on `webgpu`).
const NODE_WORKERS = ['node', 'worker_threads'].join(':');

function webWorkerConstructor(): WebWorkerConstructor | null {
  const W = (globalThis as { Worker?: unknown }).Worker;
  return typeof W === 'function' ? (W as WebWorkerConstructor) : null;
}

async function nodeWorkers(): Promise<NodeWorkerThreads> {
  return (await import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_WORKERS)) as NodeWorkerThreads;
}

/** Starts a worker running the module at `url`. */
export async function spawn(url: URL): Promise<Endpoint> {
  const Web = webWorkerConstructor();
  if (Web) {
    const w = new Web(url, { type: 'module' });
    return {
      post: (m) => w.postMessage(m),
      listen(onMessage, onFailure) {
        w.addEventListener('message', (e) => onMessage(e.data));
        w.addEventListener('error', (e) => onFailure(new Error(`hessgen parallel: worker failed: ${e.message ?? 'unknown error'}`)));
      },
      terminate: async () => w.terminate(),
      hold: () => {},
    };
  }
  const { Worker } = await nodeWorkers();
  const w = new Worker(url);
  let ended = false;
  return {
    post: (m) => w.postMessage(m),
    listen(onMessage, onFailure) {
      w.on('message', onMessage);
      w.on('error', (e) => onFailure(e));
      w.on('exit', (code) => {
        if (!ended) onFailure(new Error(`hessgen parallel: a worker exited (code ${code})`));
      });
    },
    async terminate() {
      ended = true;
      await w.terminate();
    },
    hold: (on) => (on ? w.ref() : w.unref()),
  };
}

/** Inside a worker: the channel to the thread that started it. */
export async function parentEndpoint(): Promise<Pick<Endpoint, 'post'> & { listen(onMessage: (message: unknown) => void): void }> {
  const scope = globalThis as { WorkerGlobalScope?: unknown; postMessage?: (m: unknown) => void; addEventListener?: (t: 'message', f: (e: { data: unknown }) => void) => void };
  if (typeof scope.WorkerGlobalScope === 'function' && scope.postMessage && scope.addEventListener) {
    const post = scope.postMessage.bind(globalThis);
    const add = scope.addEventListener.bind(globalThis);
    return { post, listen: (f) => add('message', (e) => f(e.data)) };
  }
  const { parentPort } = await nodeWorkers();
  if (!parentPort) throw new Error('hessgen parallel: the worker module runs only as a worker');
  return { post: (m) => parentPort.postMessage(m), listen: (f) => parentPort.on('message', f) };
}
