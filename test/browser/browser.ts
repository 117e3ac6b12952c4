// Running the playground in a real browser: Debian's chromium driven by puppeteer-core (which
// never downloads a browser), WebGPU through SwiftShader (`--enable-unsafe-webgpu`), and the
// page served by `playground/serve.mjs`, the command behind `npm run playground`.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { repoRoot } from '../helpers/fixtures.ts';

/** Debian's chromium binary (`/usr/bin/chromium` is a shell wrapper); HESSGEN_CHROMIUM overrides it. */
export const chromiumPath = process.env.HESSGEN_CHROMIUM ?? '/usr/lib/chromium/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  try {
    accessSync(chromiumPath, constants.X_OK);
    return null;
  } catch {
    return `no chromium at ${chromiumPath} (apt-get install chromium, or set HESSGEN_CHROMIUM)`;
  }
}

export interface Served {
  readonly url: string;
  /** The folder it built and serves (its own: test files running at once do not share one). */
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * `node playground/serve.mjs --port 0` (builds, then serves: the command behind npm run playground)
 * into a fresh folder; resolves with the URL it prints.
 */
export function servePlayground(): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'hessgen-playground-'));
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'playground', 'serve.mjs'), '--port', '0', '--dir', dir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`playground server did not start in 120 s:\n${output}`));
    }, 120_000);
    const onData = (d: Buffer): void => {
      output += String(d);
      const m = /hessgen playground: (http:\/\/\S+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        dir,
        close: () =>
          new Promise<void>((done) => {
            const finish = (): void => {
              rmSync(dir, { recursive: true, force: true });
              done();
            };
            if (child.exitCode !== null) return finish();
            child.once('exit', finish);
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += String(d)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`playground server exited with ${code}:\n${output}`));
    });
  });
}

export interface BrowserSession {
  readonly browser: Browser;
  readonly page: Page;
  /** Console errors, page errors, failed requests and requests to other hosts, as they happened. */
  readonly problems: string[];
  close(): Promise<void>;
}

/** A fresh chromium (own profile folder) with one page at `url`, every problem recorded. */
export async function openPage(url: string, viewport = { width: 1440, height: 900 }): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'hessgen-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    userDataDir: profile,
    // SwiftShader compiles pipelines on the CPU: calls into the page can take long.
    protocolTimeout: 600_000,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const problems: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('request', (r) => {
    const u = r.url();
    // The page may load from its own server, from Blob URLs it made, and data: URLs; nothing else.
    if (!u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`request to another host: ${u}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => 'hessgenPlayground' in globalThis, { timeout: 60_000 });
  return {
    browser,
    page,
    problems,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What `window.hessgenPlayground.evaluation()` returns. */
export interface PageEvaluation {
  theta: number[];
  data: Record<string, number | number[]>;
  cpu: { value: number; gradient: number[]; hessian: number[] };
  gpu: { value: number; gradient: number[]; hessian: number[] } | null;
  gpuError: string | null;
  eigenvalues: number[] | null;
}

export interface PlaygroundApi {
  idle(): Promise<void>;
  diagnostics(): { line: number; column: number; length: number; message: string }[];
  model(): { name: string; n: number } | null;
  evaluation(): PageEvaluation | null;
  heatmapColour(i: number, j: number): [number, number, number] | null;
}

/** Waits until the page has no compile or evaluation queued (debounce included). */
export async function settled(page: Page): Promise<void> {
  // Let a debounce that an event just started register first.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  await page.evaluate(() => (globalThis as unknown as { hessgenPlayground: PlaygroundApi }).hessgenPlayground.idle());
}
