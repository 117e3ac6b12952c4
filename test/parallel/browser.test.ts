// hessgen/runtime/parallel in a browser: Debian's chromium (puppeteer-core) loads a cross-origin
// isolated page (shared memory needs it) that imports dist/runtime/parallel.js, whose Web Workers
// import the generated module; two workers give the page's one-thread Hessian within 1e-12.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { browserMissing, chromiumPath } from '../browser/browser.ts';

const MODEL = 'dim N\ndata X[N, 3]\ndata y[N]\nparam w[3]\nparam b\nminimize mean(softplus(X * w + b) - y .* (X * w + b)) + 0.1 * sum(w .^ 2)\n';
const PAGE = `<!doctype html><script type="module">
import { createPool } from '/dist/runtime/parallel.js';
import { evaluate } from '/gen/net.js';
const N = 57;
const X = Float64Array.from({ length: N * 3 }, (_, i) => Math.sin(i + 1));
const y = Float64Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0));
const theta = [0.3, -0.2, 0.5, 0.1];
try {
  const one = evaluate(theta, { X, y }).hessian;
  const pool = await createPool({ module: new URL('/gen/net.js', location.href), workers: 2 });
  const two = await pool.hessian(theta, { X, y });
  await pool.dispose();
  let err = 0, scale = 0;
  for (let i = 0; i < one.length; i++) { err = Math.max(err, Math.abs(one[i] - two[i])); scale = Math.max(scale, Math.abs(one[i])); }
  window.result = { isolated: crossOriginIsolated, workers: pool.workers, error: err / scale, n: one.length };
} catch (e) {
  window.result = { failure: String(e && e.stack || e) };
}
</script>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html' };
let server: Server | null = null;
let dir = '';
let url = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hessgen-parallel-browser-'));
  const r = compile(MODEL, 'net.hess', { emit: 'js' });
  if (!r.ok) throw new Error('does not compile');
  writeFileSync(join(dir, 'net.js'), r.outputs.find((o) => o.fileName === 'net.js')!.code);
  server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path === '/' ? null : path.startsWith('/dist/') ? join(repoRoot, path) : path.startsWith('/gen/') ? join(dir, path.slice(5)) : null;
    // Cross-origin isolation: the page may share memory with its workers.
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (path === '/') res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(PAGE);
    else if (file && existsSync(file)) res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    else res.writeHead(404, headers).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server!.address() as { port: number }).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it.skipIf(browserMissing() !== null)('two Web Workers in chromium give the one-thread Hessian', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'hessgen-chromium-'));
  const browser = await puppeteer.launch({ executablePath: chromiumPath, headless: true, userDataDir: profile, args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => 'result' in globalThis, { timeout: 60_000 });
    const result = (await page.evaluate(() => (globalThis as unknown as { result: unknown }).result)) as { isolated?: boolean; workers?: number; error?: number; n?: number; failure?: string };
    expect(result.failure).toBeUndefined();
    expect(result.isolated).toBe(true);
    expect(result.workers).toBe(2);
    expect(result.n).toBe(16);
    expect(result.error).toBeLessThanOrEqual(1e-12);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}, 120_000);
