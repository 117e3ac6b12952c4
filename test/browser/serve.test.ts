// `npm run playground` (playground/serve.mjs): arguments, the static files it serves, and the
// built page's independence from Node and from other hosts. No browser needed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/fixtures.ts';
import { servePlayground, type Served } from './browser.ts';

const serveScript = join(repoRoot, 'playground', 'serve.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [serveScript, '--no-build', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });

describe('playground server', () => {
  let served: Served;
  beforeAll(async () => {
    served = await servePlayground(); // builds first, as npm run playground does
  }, 180_000);
  afterAll(async () => {
    await served?.close();
  }, 60_000);

  it('prints a localhost URL and serves the page, the bundles and the styles with their types', { timeout: 30_000 }, async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(served.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    // The import map that gives generated GPU modules their `hessgen/runtime`.
    expect(html).toContain('"hessgen/runtime": "./runtime.js"');
    for (const [file, type] of [['app.js', 'text/javascript'], ['runtime.js', 'text/javascript'], ['style.css', 'text/css']] as const) {
      const r = await fetch(new URL(file, served.url));
      expect(r.status, file).toBe(200);
      expect(r.headers.get('content-type'), file).toMatch(new RegExp(`^${type}`));
    }
  });

  it('answers 404 for missing files and for paths outside its folder', async () => {
    expect((await fetch(new URL('nope.js', served.url))).status).toBe(404);
    expect((await fetch(new URL('/%2e%2e/package.json', served.url))).status).toBe(404);
    expect((await fetch(new URL('/..%2fserve.mjs', served.url))).status).toBe(404);
  });

  it('builds a page that needs neither Node nor other hosts', () => {
    for (const f of ['app.js', 'runtime.js', 'index.html']) {
      const text = readFileSync(join(served.dir, f), 'utf8');
      expect(text, f).not.toMatch(/["']node:[a-z]/);
      // The only absolute URL allowed is the SVG namespace (a name, never fetched).
      const urls = (text.match(/https?:\/\/[^\s"'`)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
      expect(urls, f).toEqual([]);
    }
  });
});

describe('playground server arguments', () => {
  it('rejects a bad port or an unknown argument with exit status 2 and the usage', () => {
    for (const args of [['--port', 'abc'], ['--port', '70000'], ['--port'], ['--bogus']]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^playground: /);
      expect(r.stderr).toContain('usage: npm run playground [-- --port P]');
    }
  }, 60_000);

  it('says which port is taken (exit status 1)', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run('--port', String(port));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(r.stderr).toContain('pick another with --port P');
    } finally {
      blocker.close();
    }
  }, 60_000);
});
