#!/usr/bin/env node
// Retakes docs/img/playground.png (the README's picture of the page): builds and serves the
// playground, opens the MLP classifier example in Debian's chromium (HESSGEN_CHROMIUM overrides
// the path), evaluates it on the CPU and with WebGPU (SwiftShader), and saves the window.
//   node playground/screenshot.mjs [out.png]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'img', 'playground.png'));
const dist = mkdtempSync(join(tmpdir(), 'hessgen-playground-'));
const profile = mkdtempSync(join(tmpdir(), 'hessgen-chromium-'));
const server = spawn(process.execPath, [join(root, 'playground', 'serve.mjs'), '--port', '0', '--dir', dist], { stdio: ['ignore', 'pipe', 'inherit'] });
let browser;
try {
  const url = await new Promise((ok, fail) => {
    let text = '';
    server.stdout.on('data', (d) => {
      text += String(d);
      const m = /hessgen playground: (http:\/\/\S+)/.exec(text);
      if (m) ok(m[1]);
    });
    server.once('exit', (code) => fail(new Error(`the playground server exited with ${code}`)));
  });
  browser = await puppeteer.launch({
    executablePath: process.env.HESSGEN_CHROMIUM ?? '/usr/lib/chromium/chromium',
    headless: true,
    userDataDir: profile,
    protocolTimeout: 600_000,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 790 });
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${url}#mlp_classifier`);
  await page.waitForFunction(() => 'hessgenPlayground' in window);
  const idle = () => page.evaluate(() => new Promise((r) => setTimeout(r, 0)).then(() => window.hessgenPlayground.idle()));
  await idle();
  await page.click('#evaluate');
  await idle();
  await page.mouse.move(0, 0);
  if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
  await page.screenshot({ path: out });
  console.log(`saved ${relative(process.cwd(), out)}`);
} finally {
  await browser?.close();
  server.kill();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
}
