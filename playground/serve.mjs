#!/usr/bin/env node
// `npm run playground [-- --port P] [--host H] [--dir D] [--no-build]`: builds the playground into
// playground/dist (or D) and serves it on localhost with node:http. Any static file server works as well; this one
// exists so that the page can be opened with one command and no extra dependency.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlayground } from './build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};
const USAGE = 'usage: npm run playground [-- --port P] [--host H] [--dir D] [--no-build]';

function parseArgs(argv) {
  const opts = { port: 8787, host: '127.0.0.1', build: true, dir: join(here, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a.split('=')[0]} needs a value`);
      return v;
    };
    if (a === '--port' || a.startsWith('--port=')) {
      const v = value();
      const p = Number(v);
      if (!/^\d+$/.test(v) || p > 65535) fail(`--port must be a number from 0 to 65535, got '${v}'`);
      opts.port = p;
    } else if (a === '--host' || a.startsWith('--host=')) opts.host = value();
    else if (a === '--dir' || a.startsWith('--dir=')) opts.dir = resolve(value());
    else if (a === '--no-build') opts.build = false;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${a}'`);
  }
  return opts;
}

function fail(message) {
  console.error(`playground: ${message}\n${USAGE}`);
  process.exit(2);
}

/** Serves `dir`; resolves with the server once it listens. */
export function serve(dir, { port, host }) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let path = normalize(decodeURIComponent(url.pathname));
      if (path.endsWith(sep) || path === '.') path = join(path, 'index.html');
      const file = join(dir, path);
      // No way out of the folder (normalize already removed `..`, this double-checks).
      if (file !== dir && !file.startsWith(dir + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
      if (!(await stat(file)).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      const missing = e && (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e instanceof URIError);
      res.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(missing ? 'not found\n' : `error: ${e.message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const opts = parseArgs(process.argv.slice(2));
const dist = opts.dir;
if (opts.build) await buildPlayground({ outDir: dist });
let server;
try {
  server = await serve(dist, opts);
} catch (e) {
  console.error(`playground: cannot listen on ${opts.host}:${opts.port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (pick another with --port P)' : ''}`);
  process.exit(1);
}
const { port } = server.address();
const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
console.log(`hessgen playground: http://${shownHost}:${port}/`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
