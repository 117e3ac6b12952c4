// The playground in a real browser (Debian's chromium, WebGPU on SwiftShader): every example
// compiles in the page; the page's float64 Hessian equals the TypeScript target's run in Node on
// the same θ and data; the page's WebGPU Hessian is within 1e-4 of it; a broken model shows its
// errors at their line and column; no console errors, page errors or requests to other hosts.
// Screenshots land in test/browser/artifacts/ (a CI artifact).
//
// Without chromium this file skips with a loud message, except in CI (CI=true), where that fails:
// .ci/run installs chromium.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../compiler/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { compileModel } from '../helpers/load.ts';
import { browserMissing, openPage, servePlayground, settled, type BrowserSession, type PageEvaluation, type PlaygroundApi, type Served } from './browser.ts';

const missing = browserMissing();
if (missing && process.env.CI) throw new Error(`browser tests cannot run in CI: ${missing}`);
if (missing) console.warn(`\n*** SKIPPING the playground browser tests: ${missing} ***\n`);

const artifacts = join(repoRoot, 'test', 'browser', 'artifacts');
const examples = readdirSync(join(repoRoot, 'examples'))
  .filter((f) => f.endsWith('.hess'))
  .sort()
  .map((f) => f.replace(/\.hess$/, ''));
// The page opens on mlp_classifier; end on it too, so that the screenshot shows a full evaluation.
const order = [...examples.filter((e) => e !== 'mlp_classifier'), ...examples.filter((e) => e === 'mlp_classifier')];

/** max |a − b| / max |b|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return s === 0 ? d : d / s;
}

/**
 * The page's eigenvalues against invariants that do not depend on how they were computed:
 * Σλ = tr H, Σλ² = tr H² = ‖H‖²_F, Σλ³ = tr H³; and ascending order.
 */
function expectSpectrum(eigenvalues: number[] | null, h: Float64Array, n: number): void {
  expect(eigenvalues).not.toBeNull();
  const lambda = eigenvalues!;
  expect(lambda.length).toBe(n);
  let tr1 = 0;
  let tr2 = 0;
  let tr3 = 0;
  const h2 = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    tr1 += h[i * n + i]!;
    for (let k = 0; k < n; k++) {
      const a = h[i * n + k]!;
      if (a === 0) continue;
      for (let j = 0; j < n; j++) h2[i * n + j] += a * h[k * n + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    tr2 += h[i * n + j]! * h[j * n + i]!;
    tr3 += h2[i * n + j]! * h[j * n + i]!;
  }
  const norm = Math.sqrt(tr2);
  const sum = (p: number) => lambda.reduce((a, x) => a + x ** p, 0);
  expect(Math.abs(sum(1) - tr1)).toBeLessThanOrEqual(1e-11 * n * Math.max(1, norm));
  expect(Math.abs(sum(2) - tr2)).toBeLessThanOrEqual(1e-11 * n * Math.max(1, tr2));
  expect(Math.abs(sum(3) - tr3)).toBeLessThanOrEqual(1e-11 * n * Math.max(1, norm ** 3));
  for (let k = 1; k < n; k++) expect(lambda[k]!).toBeGreaterThanOrEqual(lambda[k - 1]!);
}

type Api = { hessgenPlayground: PlaygroundApi };
/* The functions passed to page.evaluate run in the page; the project's type check has no DOM
   library, so they reach the page's globals through `globalThis` casts. */
type Doc = {
  querySelector(s: string): { textContent: string | null; getAttribute(a: string): string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ textContent: string | null; dataset: Record<string, string>; getBoundingClientRect(): { top: number; left: number; height: number } }>;
};

describe.skipIf(missing !== null)('playground in chromium', () => {
  let server: Served;
  let session: BrowserSession;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    server = await servePlayground();
    session = await openPage(server.url);
    await settled(session.page);
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    await server?.close();
  }, 60_000);

  it('has a WebGPU adapter (SwiftShader) and loads without problems', async () => {
    const status = await session.page.$eval('#gpu-status', (e) => e.textContent ?? '');
    expect(status).toMatch(/^WebGPU: /);
    expect(session.problems).toEqual([]);
  });

  it('shows a broken model’s errors at their line and column, and clears them once fixed', async () => {
    const { page } = session;
    // Typed into the editor key by key, as a user would; the page compiles as they type.
    const broken = ['dim N', 'data X[N, 3]', 'param W1[3, 8]', 'param b[3]', 'h = tanh(X * W1 + b)', 'minimize sum(h .^ 2) + w1[1, 1]'].join('\n');
    await page.click('#editor textarea');
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(broken);
    await settled(page);
    const expected = compile(broken, 'examples/mlp_classifier.hess');
    expect(expected.ok).toBe(false);
    const want = expected.ok ? [] : expected.diagnostics.map((d) => ({ line: d.line, column: d.column, message: d.message }));
    // Independent of the compiler: the two errors of this text are known by hand (the `+` whose
    // operands disagree, and the misspelt name).
    expect(want.map((d) => [d.line, d.column])).toEqual([
      [5, 17],
      [6, 24],
    ]);
    const shown = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      const list = Array.from(doc.querySelectorAll('#diagnostics .diagnostic'), (li) => ({
        line: Number(li.dataset.line),
        column: Number(li.dataset.column),
        text: li.textContent ?? '',
      }));
      const gutter = Array.from(doc.querySelectorAll('.gutter .ln.error'), (row) => ({ line: Number(row.dataset.line), top: row.getBoundingClientRect().top }));
      const marks = Array.from(doc.querySelectorAll('mark.diag'), (m) => ({ line: Number(m.dataset.line), column: Number(m.dataset.column), top: m.getBoundingClientRect().top, left: m.getBoundingClientRect().left }));
      const status = doc.querySelector('#compile-status')?.textContent ?? '';
      return { list, gutter, marks, status, state: (globalThis as unknown as { document: { body: { dataset: Record<string, string> } } }).document.body.dataset.state };
    });
    expect(shown.state).toBe('error');
    expect(shown.status).toBe('2 errors');
    expect(shown.list.map((d) => [d.line, d.column])).toEqual(want.map((d) => [d.line, d.column]));
    for (const [k, d] of want.entries()) expect(shown.list[k]!.text).toBe(`${d.line}:${d.column}${d.message}`);
    expect(shown.gutter.map((g) => g.line)).toEqual([5, 6]);
    expect(shown.marks.map((m) => [m.line, m.column])).toEqual([
      [5, 17],
      [6, 24],
    ]);
    // Drawn where the text is: each mark on its gutter row, and the two marks' horizontal offset
    // matching 24 − 17 = 7 characters of the monospace font.
    for (const [k, m] of shown.marks.entries()) expect(Math.abs(m.top - shown.gutter[k]!.top)).toBeLessThan(3);
    const charWidth = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { createElement(t: string): { textContent: string; getBoundingClientRect(): { width: number } }; querySelector(s: string): { append(e: unknown): void; removeChild(e: unknown): void } } }).document;
      const probe = doc.createElement('span');
      probe.textContent = 'x'.repeat(100);
      const mirror = doc.querySelector('.mirror');
      mirror.append(probe);
      const w = probe.getBoundingClientRect().width / 100;
      mirror.removeChild(probe);
      return w;
    });
    expect(Math.abs(shown.marks[1]!.left - shown.marks[0]!.left - 7 * charWidth)).toBeLessThan(1.5);
    await page.screenshot({ path: join(artifacts, 'playground-errors.png') });

    // Fix both: the diagnostics disappear and the model evaluates.
    const fixed = broken.replace('param b[3]', 'param b[8]').replace('w1[1, 1]', 'W1[1, 1]');
    await page.evaluate((text) => {
      const ta = (globalThis as unknown as { document: { querySelector(s: string): { value: string; dispatchEvent(e: unknown): void } } }).document.querySelector('#editor textarea');
      ta.value = text;
      ta.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    }, fixed);
    await settled(page);
    const after = await page.evaluate(() => {
      const g = globalThis as unknown as Api & { document: Doc };
      return { diagnostics: g.hessgenPlayground.diagnostics().length, marks: g.document.querySelectorAll('mark.diag').length, gutter: g.document.querySelectorAll('.gutter .ln.error').length, model: g.hessgenPlayground.model() };
    });
    expect(after).toEqual({ diagnostics: 0, marks: 0, gutter: 0, model: expect.objectContaining({ n: 24 + 8 }) });
    expect(session.problems).toEqual([]);
  }, 120_000);

  it('evaluates with another N, and on pasted θ and data (a paste that does not fit is explained)', async () => {
    const { page } = session;
    await page.select('#example', 'logreg');
    await settled(page);
    const path = 'examples/logreg.hess';
    const { module } = await compileModel(readFileSync(join(repoRoot, path), 'utf8'), path);
    const read = async (): Promise<PageEvaluation> => (await page.evaluate(() => (globalThis as unknown as Api).hessgenPlayground.evaluation())) as PageEvaluation;

    // N = 5: new data of 5 rows, same θ (θ is drawn first from the seed).
    const before = await read();
    await page.$eval('#dims input[data-dim="N"]', (input, v) => {
      const el = input as unknown as { value: string; dispatchEvent(e: unknown): void };
      el.value = v;
      el.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('change'));
    }, '5');
    await settled(page);
    const five = await read();
    expect((five.data.X as number[]).length).toBe(15);
    expect(five.theta).toEqual(before.theta);
    expect(relDiff(five.cpu.hessian, module.evaluate(five.theta, five.data).hessian)).toBeLessThanOrEqual(1e-12);

    // Pasted inputs, nested rows and all: the page evaluates exactly those.
    const pasted = { theta: [0.25, -1.5, 2, 0.125], data: { X: [[1, 2, 3], [-1, 0.5, 4]], t: [1, 0] } };
    const setInputs = (text: string) =>
      page.evaluate((t) => {
        const ta = (globalThis as unknown as { document: { querySelector(s: string): { value: string; dispatchEvent(e: unknown): void } } }).document.querySelector('#inputs');
        ta.value = t;
        ta.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
      }, text);
    await setInputs(JSON.stringify(pasted));
    await page.click('#evaluate');
    await settled(page);
    const mine = await read();
    expect(mine.theta).toEqual(pasted.theta);
    expect(mine.data).toEqual({ X: [1, 2, 3, -1, 0.5, 4], t: [1, 0] });
    const node = module.evaluate(pasted.theta, { X: pasted.data.X.flat(), t: pasted.data.t });
    expect(relDiff(mine.cpu.hessian, node.hessian)).toBeLessThanOrEqual(1e-12);
    expect(mine.gpu).not.toBeNull();
    expect(relDiff(mine.gpu!.hessian, node.hessian)).toBeLessThanOrEqual(1e-4);

    await setInputs(JSON.stringify({ ...pasted, theta: [1, 2] }));
    await page.click('#evaluate');
    await settled(page);
    const shown = await page.$eval('#eval-error', (e) => ({ text: e.textContent, hidden: (e as unknown as { hidden: boolean }).hidden }));
    expect(shown).toEqual({ text: 'theta has 2 numbers; logreg needs 4', hidden: false });
    // Fresh random inputs replace the paste (and clear the message).
    await page.click('#randomize');
    await settled(page);
    expect(await page.$eval('#eval-error', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(true);
    expect((await read()).theta).toEqual(before.theta);
    expect(session.problems).toEqual([]);
  }, 300_000);

  it('a model with a few hundred parameters: CPU Hessian and its spectrum as typed', async () => {
    const { page } = session;
    // n = 10·25 + 25 + 25 + 1 = 301, and with N = 8 samples the Hessian is rank-deficient
    // (dozens of zero eigenvalues: the case a QL without an absolute threshold never finishes).
    const source = ['dim N', 'data X[N, 10]', 'data y[N]', 'param W1[10, 25]', 'param b1[25]', 'param w2[25]', 'param b2', 'h = tanh(X * W1 + b1)', 'minimize mean((h * w2 + b2 - y) .^ 2)', ''].join('\n');
    await page.evaluate((text) => {
      const ta = (globalThis as unknown as { document: { querySelector(s: string): { value: string; dispatchEvent(e: unknown): void } } }).document.querySelector('#editor textarea');
      ta.value = text;
      ta.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
    }, source);
    await settled(page);
    const e = (await page.evaluate(() => (globalThis as unknown as Api).hessgenPlayground.evaluation())) as PageEvaluation;
    const { module } = await compileModel(source, 'big.hess');
    expect(module.model.n).toBe(301);
    const node = module.evaluate(e.theta, e.data);
    expect(relDiff(e.cpu.hessian, node.hessian)).toBeLessThanOrEqual(1e-12);
    expectSpectrum(e.eigenvalues, node.hessian, 301);
    expect(e.eigenvalues!.filter((x) => Math.abs(x) < 1e-9).length).toBeGreaterThan(10);
    expect(session.problems).toEqual([]);
  }, 300_000);

  for (const name of order) {
    it(`${name}: the page's CPU Hessian is the TypeScript target's in Node, its WebGPU Hessian within 1e-4`, async () => {
      const { page } = session;
      await page.select('#example', name);
      await settled(page);
      expect(await page.evaluate(() => (globalThis as unknown as Api).hessgenPlayground.diagnostics().length)).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as Api).hessgenPlayground.model()?.name)).toBe(name);
      await page.click('#evaluate');
      await settled(page);
      expect(await page.$eval('#eval-error', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(true);
      const ev = (await page.evaluate(() => (globalThis as unknown as Api).hessgenPlayground.evaluation())) as PageEvaluation | null;
      expect(ev).not.toBeNull();
      const e = ev!;

      // The TypeScript target, compiled and run here in Node, on the θ and data the page used.
      const path = `examples/${name}.hess`;
      const { module } = await compileModel(readFileSync(join(repoRoot, path), 'utf8'), path);
      const n = module.model.n;
      expect(e.theta.length).toBe(n);
      const node = module.evaluate(e.theta, e.data);
      const dh = relDiff(e.cpu.hessian, node.hessian);
      expect(dh).toBeLessThanOrEqual(1e-12);
      expect(relDiff(e.cpu.gradient, node.gradient)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(e.cpu.value - node.value)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(node.value)));
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(e.cpu.hessian[i * n + j]).toBe(e.cpu.hessian[j * n + i]);

      // WebGPU (float32, SwiftShader) against float64.
      expect(e.gpuError).toBeNull();
      expect(e.gpu).not.toBeNull();
      const gh = relDiff(e.gpu!.hessian, node.hessian);
      expect(gh).toBeLessThanOrEqual(1e-4);
      expect(relDiff(e.gpu!.gradient, node.gradient)).toBeLessThanOrEqual(1e-4);

      expectSpectrum(e.eigenvalues, node.hessian, n);

      // The heat map: on a few entries of each sign (and zeros), red for positive, blue for
      // negative, white for zero, as drawn on the canvas.
      const bySign = (pred: (x: number) => boolean): number[] => {
        const out: number[] = [];
        for (let k = 0; k < n * n && out.length < 3; k++) if (pred(node.hessian[k]!)) out.push(k);
        return out;
      };
      for (const [sign, ks] of [[1, bySign((x) => x > 0)], [-1, bySign((x) => x < 0)], [0, bySign((x) => x === 0)]] as const) {
        for (const k of ks) {
          const i = Math.floor(k / n);
          const j = k % n;
          const rgb = await page.evaluate((a, b) => (globalThis as unknown as Api).hessgenPlayground.heatmapColour(a, b), i, j);
          expect(rgb, `H[${i},${j}] = ${node.hessian[k]}`).not.toBeNull();
          const [r, g, b] = rgb!;
          if (sign === 0) expect([r, g, b]).toEqual([255, 255, 255]);
          else if (sign > 0) expect(r > b && g < 255, `H[${i},${j}] = ${node.hessian[k]}: rgb ${rgb}`).toBe(true);
          else expect(b > r && g < 255, `H[${i},${j}] = ${node.hessian[k]}: rgb ${rgb}`).toBe(true);
        }
      }

      // The other views show this model: spy plot, TypeScript, WGSL.
      const views = await page.evaluate(() => {
        const doc = (globalThis as unknown as { document: Doc }).document;
        return {
          spy: doc.querySelectorAll('#spy svg').length,
          ts: doc.querySelector('#ts-code')?.textContent ?? '',
          wgsl: doc.querySelector('#wgsl-code')?.textContent ?? '',
        };
      });
      expect(views.spy).toBe(1);
      expect(views.ts.startsWith(`// Code generated by hessgen from ${path}. DO NOT EDIT.`)).toBe(true);
      expect(views.wgsl).toContain('@compute');
      expect(session.problems).toEqual([]);
      console.log(`playground ${name}: n = ${n}, page CPU vs Node ${dh.toExponential(1)}, WebGPU vs float64 ${gh.toExponential(1)}`);
    }, 300_000);
  }

  it('saves a screenshot', async () => {
    const file = join(artifacts, 'playground.png');
    await session.page.screenshot({ path: file });
    console.log(`playground screenshot: ${relative(process.cwd(), file)}`);
    expect(session.problems).toEqual([]);
  });
});
