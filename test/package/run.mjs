#!/usr/bin/env node
// The package as users get it: `npm pack`, then the tarball installed into a temporary consumer
// project and used the ways the README shows. Run by `npm run test:package` and by .ci/run.
//
//   1. the tarball: its file list (dist/, bin, LICENSE, README, package.json, nothing else) and
//      a size budget; every `exports` target and the bin present
//   2. plain Node 20 ESM: `hessgen build --emit js` output and `hessgen/runtime`, no TS tooling;
//      `compile` from `hessgen` (and math.js is not even installed)
//   3. `tsc --strict` consumers: moduleResolution nodenext and bundler, each with and without the
//      DOM lib, over the --emit js modules, the runtime, `compile`, typed `.hess` imports
//      (net.d.hess.ts) and the plugin; misuse must fail to type-check
//   4. `vite build` with the plugin: `.hess` and `.hess?gpu` in the bundle, a broken model fails
//      with file:line:column
//   5. `vite dev` with no extra config: the transformed modules and the runtime are served (200),
//      editing the model sends a hot update, a broken model reaches the error overlay located
//   6. a Vitest suite importing `.hess`
//   7. an esbuild browser bundle of a CPU module: no compiler, no math.js, size checked; a broken
//      model lands in esbuild's error list with its location
//   8. Rollup and webpack builds (their CLIs and config files) of an app importing `.hess` and
//      `.hess?gpu`: the bundle runs in Node from a folder with no node_modules (Hessian against the
//      hand computation), holds the runtime but no compiler or math.js, and a broken model fails
//      the build with file:line:column
//
// The consumer gets hessgen (and its dependencies) from the tarball; the tools (typescript, vite,
// vitest, esbuild) are linked from this repository's node_modules rather than downloaded again.
// Rollup and webpack, which this repository does not use, are installed into the consumer with
// the tarball, at the exact versions below (from npm's cache when it has them).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'hessgen-package-'));
const consumer = join(work, 'consumer');
const started = Date.now();
let failures = 0;

/** Budget for the tarball (stated in docs/build.md). */
const BUDGET = { packedBytes: 285_000, unpackedBytes: 940_000, files: 120 };
/** Budget for a browser bundle of one small CPU module (the module itself is a few KB). */
const BROWSER_BUNDLE_BYTES = 30_000;
/** The bundlers of section 8, pinned; installed only in the temporary consumer. */
const BUNDLERS = ['rollup@4.68.8', '@rollup/plugin-node-resolve@16.0.3', 'webpack@5.113.0', 'webpack-cli@7.3.1'];

function section(title) {
  console.log(`\n── ${title}`);
}
function check(what, ok, detail = '') {
  // Details are short facts (sizes, counts) or, on failure, the output that explains it.
  const shown = ok && detail.length > 160 ? '' : detail;
  console.log(`${ok ? '  ok  ' : '  FAIL'} ${what}${shown ? `: ${shown}` : ''}`);
  if (!ok) failures++;
  return ok;
}
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: consumer, encoding: 'utf8', ...options, env: { ...process.env, ...options.env } });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
function write(path, text) {
  mkdirSync(dirname(join(consumer, path)), { recursive: true });
  writeFileSync(join(consumer, path), text);
}
const tool = (name) => join(repo, 'node_modules', name);

const MODEL = `# linear least squares
dim N
data X[N, 2]
data y[N]
param w[2]
param b
minimize mean((X * w + b - y) .^ 2)
`;
// The same with a misspelt name on line 7 (column 28).
const BROKEN = MODEL.replace('- y)', '- yy)');

// The loss and its exact Hessian for MODEL, computed here by hand: f = mean((Xw + b - y)^2),
// H = (2/N) [X 1]ᵀ[X 1].
const X = [1, 2, 3, -1, 0.5, 4];
const Y = [1, 0, 2];
const THETA = [0.3, -0.2, 0.1];
function reference() {
  const N = Y.length;
  let f = 0;
  const H = new Array(9).fill(0);
  for (let i = 0; i < N; i++) {
    const row = [X[2 * i], X[2 * i + 1], 1];
    const r = row[0] * THETA[0] + row[1] * THETA[1] + THETA[2] - Y[i];
    f += (r * r) / N;
    for (let a = 0; a < 3; a++) for (let c = 0; c < 3; c++) H[a * 3 + c] += (2 / N) * row[a] * row[c];
  }
  return { f, H };
}

try {
  // ── 1. the tarball ───────────────────────────────────────────────────────────────────────────
  section('npm pack');
  const packOut = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const pack = JSON.parse(packOut.slice(packOut.indexOf('[')))[0];
  const tarball = join(work, pack.filename);
  const files = pack.files.map((f) => f.path).sort();
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const allowed = (p) => p === 'package.json' || p === 'README.md' || p === 'LICENSE' || p === 'bin/hessgen.mjs' || p.startsWith('dist/');
  check('only package.json, README.md, LICENSE, bin/hessgen.mjs and dist/ are packed', files.every(allowed), files.filter((f) => !allowed(f)).join(', '));
  const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))).map((p) => p.replace(/^\.\//, ''));
  check("exports: hessgen, runtime, runtime/parallel, client, vite, esbuild, rollup, webpack (each with types)", ['.', './runtime', './runtime/parallel', './client', './vite', './esbuild', './rollup', './webpack'].every((k) => pkg.exports[k]?.types !== undefined));
  check('the worker of hessgen/runtime/parallel is packed beside it', files.includes('dist/runtime/parallel-worker.js'));
  const required = ['LICENSE', 'README.md', 'package.json', 'bin/hessgen.mjs', 'dist/cli.js', 'dist/THIRD-PARTY-LICENSES.md', ...targets];
  const missing = required.filter((f) => !files.includes(f));
  check('every exports target, the bin and the licences are packed', missing.length === 0, missing.join(', '));
  check('no sources, tests, benchmarks or generated examples', !files.some((f) => /^(compiler|runtime|test|bench|generated|examples|scripts|docs)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')));
  check(`packed size ≤ ${BUDGET.packedBytes} B`, pack.size <= BUDGET.packedBytes, `${pack.size} B`);
  check(`unpacked size ≤ ${BUDGET.unpackedBytes} B`, pack.unpackedSize <= BUDGET.unpackedBytes, `${pack.unpackedSize} B`);
  check(`at most ${BUDGET.files} files`, files.length <= BUDGET.files, `${files.length} files`);
  check('the licence is MIT, hessgen contributors', /MIT License/.test(readFileSync(join(repo, 'LICENSE'), 'utf8')) && /hessgen contributors/.test(readFileSync(join(repo, 'LICENSE'), 'utf8')));

  section('install the tarball into a fresh project');
  write('package.json', JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  // The local cache first (npm ci filled it); the registry only for what it lacks.
  const installStarted = Date.now();
  let install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball, ...BUNDLERS]);
  if (install.code !== 0) install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...BUNDLERS]);
  if (!check(`npm install hessgen-*.tgz ${BUNDLERS.join(' ')}`, install.code === 0, install.code === 0 ? '' : install.out.slice(-2000))) throw new Error('cannot go on without the install');
  console.log(`  (install: ${((Date.now() - installStarted) / 1000).toFixed(1)} s)`);
  check('math.js, esbuild and typescript are not installed with it', !['mathjs', 'esbuild', 'typescript'].some((p) => existsSync(join(consumer, 'node_modules', p))));
  check('@webgpu/types comes with it (the runtime is typed with it)', existsSync(join(consumer, 'node_modules', '@webgpu', 'types', 'package.json')));
  // The tools, linked from this repository (after the install, which would remove them).
  for (const name of ['typescript', 'vite', 'vitest', 'esbuild']) symlinkSync(tool(name), join(consumer, 'node_modules', name), 'dir');

  // ── 2. plain Node ────────────────────────────────────────────────────────────────────────────
  section('plain Node ESM: --emit js and hessgen/runtime');
  write('models/net.hess', MODEL);
  const hessgenBin = join(consumer, 'node_modules', '.bin', 'hessgen');
  let r = run(hessgenBin, ['build', 'models', '--out', 'gen', '--target', 'ts,wgsl', '--emit', 'js', '--types']);
  check('hessgen build --emit js --types (the installed bin)', r.code === 0, r.out.trim().split('\n').pop());
  const written = ['gen/net.js', 'gen/net.d.ts', 'gen/net.gpu.js', 'gen/net.gpu.d.ts', 'models/net.d.hess.ts'];
  check('writes net.js, net.d.ts, net.gpu.js, net.gpu.d.ts, models/net.d.hess.ts', written.every((f) => existsSync(join(consumer, f))), written.filter((f) => !existsSync(join(consumer, f))).join(', '));
  const js = readFileSync(join(consumer, 'gen/net.js'), 'utf8');
  check('the .js keeps the DO-NOT-EDIT header and its comments', js.startsWith('// Code generated by hessgen from models/net.hess. DO NOT EDIT.') && /\n\s*\/\/ /.test(js.slice(200)));
  const { f, H } = reference();
  write('main.mjs', `import { value, hessian, model } from './gen/net.js';
import * as gpu from './gen/net.gpu.js';
import { newtonSolve, choleskySolve, requestDevice } from 'hessgen/runtime';
import { compile } from 'hessgen';
const data = { X: ${JSON.stringify(X)}, y: ${JSON.stringify(Y)} };
const theta = ${JSON.stringify(THETA)};
const result = compile('param x\\nminimize (x - 2) .^ 2\\n', 'q.hess', { emit: 'js' });
const broken = compile(${JSON.stringify(BROKEN)}, 'broken.hess');
console.log(JSON.stringify({
  n: model.n, value: value(theta, data), hessian: Array.from(hessian(theta, data)),
  gpu: typeof gpu.createKernels === 'function' && Object.keys(gpu.wgsl).length > 0,
  runtime: [newtonSolve, choleskySolve, requestDevice].every((fn) => typeof fn === 'function'),
  compiled: result.ok ? result.outputs.map((o) => o.fileName) : [],
  diagnostic: broken.ok ? null : broken.diagnostics.map((d) => \`\${d.file}:\${d.line}:\${d.column}\`),
}));
`);
  r = run(process.execPath, ['main.mjs']);
  let got = null;
  try {
    got = JSON.parse(r.out.trim().split('\n').pop());
  } catch {
    check('node main.mjs', false, r.out.slice(-1500));
  }
  if (got) {
    check('node runs the generated .js (no TypeScript tooling)', r.code === 0);
    check('value matches the hand-computed loss', Math.abs(got.value - f) <= 1e-12 * Math.max(1, Math.abs(f)), `${got.value} vs ${f}`);
    check('Hessian matches the hand-computed one', got.hessian.every((h, i) => Math.abs(h - H[i]) <= 1e-12), JSON.stringify(got.hessian));
    check('the GPU module loads (its runtime import resolves to hessgen/runtime)', got.gpu === true);
    check('hessgen/runtime exports the solvers and requestDevice', got.runtime === true);
    check("compile() from 'hessgen' returns q.js and q.d.ts", JSON.stringify(got.compiled) === '["q.js","q.d.ts"]', JSON.stringify(got.compiled));
    check("compile() locates a compile error", JSON.stringify(got.diagnostic) === '["broken.hess:7:28"]', JSON.stringify(got.diagnostic));
  }

  // hessgen/runtime/parallel: two worker threads over the --emit js module; hessgen/runtime
  // itself never pulls in workers (the GPU modules import it in browsers).
  write('parallel.mjs', `import { createPool } from 'hessgen/runtime/parallel';
const data = { X: ${JSON.stringify(X)}, y: ${JSON.stringify(Y)} };
const pool = await createPool({ module: new URL('./gen/net.js', import.meta.url), workers: 2 });
const hessian = Array.from(await pool.hessian(${JSON.stringify(THETA)}, data));
await pool.dispose();
console.log(JSON.stringify({ workers: pool.workers, hessian }));
`);
  r = run(process.execPath, ['parallel.mjs']);
  let par = null;
  try {
    par = JSON.parse(r.out.trim().split('\n').pop());
  } catch {
    check('node parallel.mjs', false, r.out.slice(-1500));
  }
  if (par) check('hessgen/runtime/parallel: 2 workers give the hand-computed Hessian', par.workers === 2 && par.hessian.every((h, i) => Math.abs(h - H[i]) <= 1e-12), JSON.stringify(par.hessian));
  const runtimeJs = readFileSync(join(consumer, 'node_modules', 'hessgen', 'dist', 'runtime.js'), 'utf8');
  check('hessgen/runtime does not import worker_threads', !runtimeJs.includes('worker_threads'));

  // ── 3. tsc consumers ────────────────────────────────────────────────────────────────────────
  section('tsc --strict consumers');
  // cpu.ts: the CPU module, the typed .hess import and compile(): plain TypeScript, no DOM needed.
  write('src/cpu.ts', `import { value, hessian, evaluate, model, type Data } from '../gen/net.js';
import * as typed from '../models/net.hess';
import { compile, type CompileResult, type Diagnostic } from 'hessgen';

const data: Data = { X: new Float64Array(4), y: [1, 2] };
const theta = new Float64Array(model.n);
const f: number = value(theta, data);
const H: Float64Array = hessian(theta, data, new Float64Array(9));
const all: { value: number; hessian: Float64Array } = evaluate(theta, typed.model.n === 3 ? data : data);
const typedData: typed.Data = data;
const g: Float64Array = typed.gradient(theta, typedData);
const r: CompileResult = compile('param x\\nminimize x .^ 2\\n', 'q.hess', { targets: ['ts', 'wgsl'], emit: 'js', types: true });
const first: Diagnostic | undefined = r.ok ? undefined : r.diagnostics[0];
// Misuse must not type-check (each line below is an error the declarations have to catch).
// @ts-expect-error: data.X must be an array
value(theta, { X: 1, y: [1] });
// @ts-expect-error: a model with data takes data
value(theta);
// @ts-expect-error: the typed .hess import has the model's own Data
typed.value(theta, { Z: [1] });
// @ts-expect-error: out is a Float64Array
hessian(theta, data, new Float32Array(9));
// @ts-expect-error: emit is 'ts' or 'js'
compile('', 'x.hess', { emit: 'wasm' });
export { f, H, all, g, first };
`);
  // gpu.ts: the GPU module and hessgen/runtime, typed with WebGPU's types (@webgpu/types, which
  // itself builds on the DOM lib's; without DOM, skipLibCheck lets them be).
  write('src/gpu.ts', `/// <reference types="hessgen/client" />
import { createKernels, type Kernels, type Data } from '../gen/net.gpu.js';
import * as viaPlugin from '../web/net.hess?gpu';
import { newtonSolve, requestDevice } from 'hessgen/runtime';
export async function pluginKernels(device: GPUDevice): Promise<viaPlugin.Kernels> {
  const k = await viaPlugin.createKernels(device);
  // @ts-expect-error: hessian takes θ
  await k.hessian('θ');
  return k;
}
export async function gpuHessian(theta: Float64Array, data: Data): Promise<Float32Array> {
  const { device } = await requestDevice();
  const kernels: Kernels = await createKernels(device);
  kernels.setData(data);
  // @ts-expect-error: createKernels takes a GPUDevice
  await createKernels({});
  return kernels.hessian(theta);
}
export { newtonSolve };
`);
  write('src/plugin.ts', `import vite from 'hessgen/vite';
import esbuild from 'hessgen/esbuild';
import rollup from 'hessgen/rollup';
import webpack from 'hessgen/webpack';
export const plugins = [vite(), vite({ types: false }), esbuild(), rollup(), webpack()];
`);
  // The plugin's types come from unplugin, whose declarations import every bundler's: checked
  // with skipLibCheck (as Vite's project templates set it), here with vite present.
  const programs = [
    { dom: false, files: ['src/cpu.ts'], skipLibCheck: false, what: 'CPU module, typed .hess import, compile()' },
    { dom: false, files: ['src/gpu.ts', 'src/plugin.ts'], skipLibCheck: true, what: 'GPU module, runtime, plugin (skipLibCheck)' },
    { dom: true, files: ['src/cpu.ts', 'src/gpu.ts'], skipLibCheck: false, what: 'CPU and GPU modules, runtime, compile()' },
  ];
  for (const resolution of ['nodenext', 'bundler']) {
    for (const [i, p] of programs.entries()) {
      const name = `tsconfig.${resolution}.${i}.json`;
      write(name, JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, skipLibCheck: p.skipLibCheck, allowArbitraryExtensions: true,
          target: 'ES2022', module: resolution === 'nodenext' ? 'NodeNext' : 'ESNext', moduleResolution: resolution,
          lib: p.dom ? ['ES2022', 'DOM'] : ['ES2022'], types: [],
        },
        files: p.files,
      }, null, 2));
      r = run(process.execPath, [join(tool('typescript'), 'bin', 'tsc'), '-p', name]);
      check(`tsc --strict, ${resolution}, ${p.dom ? 'with' : 'without'} DOM: ${p.what}`, r.code === 0, r.out.trim().slice(0, 3000));
    }
  }
  // The same checks must fail on a wrong program: a guard against a consumer that checks nothing.
  write('src/wrong.ts', `import { value } from '../gen/net.js';\nexport const v: string = value([0, 0, 0], { X: [], y: [] });\n`);
  write('tsconfig.wrong.json', JSON.stringify({ extends: './tsconfig.bundler.0.json', files: ['src/wrong.ts'] }));
  r = run(process.execPath, [join(tool('typescript'), 'bin', 'tsc'), '-p', 'tsconfig.wrong.json']);
  check('a type error in a consumer is reported (TS2322)', r.code !== 0 && r.out.includes('TS2322'), r.code === 0 ? 'no error' : '');

  // ── 4. vite build ───────────────────────────────────────────────────────────────────────────
  section('vite build with hessgen/vite');
  write('web/index.html', '<!doctype html><script type="module" src="./main.js"></script>\n');
  write('web/main.js', `import { hessian, model } from './net.hess';
import { createKernels } from './net.hess?gpu';
globalThis.result = { n: model.n, h: hessian(new Float64Array(model.n), { X: [1, 2], y: [3] })[0], gpu: createKernels };
`);
  write('web/net.hess', MODEL);
  write('web/vite.config.js', `import hessgen from 'hessgen/vite';\nexport default { plugins: [hessgen()], logLevel: 'warn', build: { minify: false } };\n`);
  const viteBin = join(tool('vite'), 'bin', 'vite.js');
  r = run(process.execPath, [viteBin, 'build', '--config', 'vite.config.js'], { cwd: join(consumer, 'web') });
  if (check('vite build', r.code === 0, r.code === 0 ? '' : r.out.slice(-2000))) {
    const assets = join(consumer, 'web', 'dist', 'assets');
    const bundle = readdirSync(assets).filter((a) => a.endsWith('.js')).map((a) => readFileSync(join(assets, a), 'utf8')).join('\n');
    check('the bundle holds the CPU module (its Hessian kernel)', bundle.includes('function hessian('));
    check('the bundle holds the GPU module (WGSL) and the runtime', bundle.includes('@compute') && bundle.includes('createKernels'));
    check('no compiler and no math.js in the bundle', !bundle.includes('parseDependencies') && !bundle.includes('typed-function') && !bundle.includes('emitTypeScript'));
  }
  writeFileSync(join(consumer, 'web', 'net.hess'), BROKEN);
  r = run(process.execPath, [viteBin, 'build', '--config', 'vite.config.js'], { cwd: join(consumer, 'web') });
  check('a broken model fails vite build with file:line:column', r.code !== 0 && /net\.hess:7:28/.test(r.out) && r.out.includes('unknown name'), r.out.slice(-1200));
  writeFileSync(join(consumer, 'web', 'net.hess'), MODEL);

  // ── 5. vite dev ─────────────────────────────────────────────────────────────────────────────
  section('vite dev server (no extra configuration)');
  await viteDev();

  // ── 6. vitest ───────────────────────────────────────────────────────────────────────────────
  section('a Vitest suite importing .hess');
  write('web/vitest.config.js', `import hessgen from 'hessgen/vite';\nexport default { plugins: [hessgen()], test: { include: ['*.test.js'] } };\n`);
  write('web/net.test.js', `import { describe, expect, it } from 'vitest';
import { value, hessian, model } from './net.hess';
describe('net.hess through the plugin', () => {
  it('evaluates the loss and its Hessian', () => {
    const data = { X: ${JSON.stringify(X)}, y: ${JSON.stringify(Y)} };
    expect(model.n).toBe(3);
    expect(value(${JSON.stringify(THETA)}, data)).toBeCloseTo(${f}, 12);
    expect(Array.from(hessian(${JSON.stringify(THETA)}, data))).toEqual(${JSON.stringify(H)}.map((h) => expect.closeTo(h, 12)));
  });
});
`);
  r = run(process.execPath, [join(tool('vitest'), 'vitest.mjs'), 'run', '--config', 'vitest.config.js'], { cwd: join(consumer, 'web'), env: { CI: 'true' } });
  check('vitest run (1 test importing net.hess)', r.code === 0 && /1 passed/.test(r.out), r.code === 0 ? '' : r.out.slice(-2000));

  // ── 7. esbuild ──────────────────────────────────────────────────────────────────────────────
  section('esbuild browser bundle with hessgen/esbuild');
  const esbuild = await import(pathToFileURL(join(tool('esbuild'), 'lib', 'main.js')).href);
  const hessgenEsbuild = (await import(pathToFileURL(join(consumer, 'node_modules', 'hessgen', 'dist', 'plugin', 'esbuild.js')).href)).default;
  write('web/app.js', `import { hessian, model } from './net.hess';\nexport const H = hessian(new Float64Array(model.n), { X: [1, 2], y: [3] });\n`);
  const bundled = await esbuild.build({
    entryPoints: [join(consumer, 'web', 'app.js')], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    plugins: [hessgenEsbuild({ types: false })],
  });
  const code = bundled.outputFiles[0].text;
  const inputs = Object.keys(bundled.metafile.inputs);
  check('bundles app.js + net.hess only (no compiler chunk, no math.js)', inputs.length === 2 && !inputs.some((i) => /hessgen\/dist|mathjs/.test(i)), inputs.join(', '));
  check(`bundle ≤ ${BROWSER_BUNDLE_BYTES} B`, code.length <= BROWSER_BUNDLE_BYTES, `${code.length} B`);
  check('the bundle runs in a fresh context and computes H', await (async () => {
    const mod = await import(`data:text/javascript,${encodeURIComponent(code)}`);
    return mod.H.length === 9 && Number.isFinite(mod.H[0]);
  })());
  writeFileSync(join(consumer, 'web', 'net.hess'), BROKEN);
  const failed = await esbuild.build({ entryPoints: [join(consumer, 'web', 'app.js')], bundle: true, write: false, logLevel: 'silent', plugins: [hessgenEsbuild({ types: false })] }).then(() => null, (e) => e);
  const located = failed?.errors?.find((e) => e.location?.file?.endsWith('net.hess'));
  check("a broken model lands in esbuild's error list with its location", located !== undefined && located.location.line === 7 && located.location.column === 27 && located.text.includes('unknown name'), JSON.stringify(failed?.errors?.[0] ?? null).slice(0, 400));
  writeFileSync(join(consumer, 'web', 'net.hess'), MODEL);

  // ── 8. rollup and webpack ───────────────────────────────────────────────────────────────────
  bundlers();
} catch (err) {
  check('the package checks ran to the end', false, err instanceof Error ? (err.stack ?? err.message) : String(err));
} finally {
  console.log(`\n${failures === 0 ? 'package: all checks passed' : `package: ${failures} check(s) FAILED`} in ${((Date.now() - started) / 1000).toFixed(1)} s${keep ? ` (kept ${work})` : ''}`);
  if (!keep) rmSync(work, { recursive: true, force: true });
  process.exitCode = failures === 0 ? 0 : 1;
}

async function viteDev() {
  const { createServer } = await import(pathToFileURL(join(tool('vite'), 'dist', 'node', 'index.js')).href);
  const root = join(consumer, 'web');
  const server = await createServer({ root, configFile: join(root, 'vite.config.js'), logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } });
  // What the server tells the page (Vite's hot channel), recorded to see the hot update.
  const sent = [];
  const hot = server.environments?.client?.hot ?? server.ws;
  const original = hot.send.bind(hot);
  hot.send = (...args) => {
    sent.push(args[0]);
    return original(...args);
  };
  try {
    await server.listen();
    const address = server.httpServer.address();
    const base = `http://127.0.0.1:${address.port}`;
    const get = async (path) => {
      const res = await fetch(base + path);
      return { status: res.status, text: await res.text() };
    };
    // The page asks for the URLs main.js imports, as the browser would.
    const main = await get('/main.js');
    const urls = [...main.text.matchAll(/from\s+["']([^"']+)["']/g)].map((m) => m[1]);
    const cpuUrl = urls.find((u) => u.includes('net.hess') && !u.includes('gpu'));
    const gpuUrl = urls.find((u) => u.includes('net.hess') && u.includes('gpu'));
    check('GET /main.js → 200 with the .hess imports rewritten', main.status === 200 && cpuUrl !== undefined && gpuUrl !== undefined, urls.join(', '));
    const cpu = await get(cpuUrl ?? '/net.hess?import');
    check(`GET ${cpuUrl} → 200, the CPU module as JavaScript`, cpu.status === 200 && cpu.text.includes('export function hessian(') && !cpu.text.includes(': Float64Array'), `HTTP ${cpu.status}`);
    const gpu = await get(gpuUrl ?? '/net.hess?import&gpu');
    check(`GET ${gpuUrl} → 200, the GPU module`, gpu.status === 200 && gpu.text.includes('export function createKernels('), `HTTP ${gpu.status}`);
    const runtimeUrl = /from\s+["']([^"']*hessgen[^"']*runtime[^"']*)["']/.exec(gpu.text)?.[1];
    const runtime = runtimeUrl ? await get(runtimeUrl) : { status: 0, text: '' };
    check("the GPU module's hessgen/runtime import is served (200)", runtime.status === 200 && runtime.text.includes('createEngine'), `${runtimeUrl} → HTTP ${runtime.status}`);
    // Hot update: edit the model, wait for the server to tell the page.
    const before = sent.length;
    writeFileSync(join(root, 'net.hess'), MODEL.replace('minimize mean', 'minimize 2 * mean'));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !sent.slice(before).some((p) => p && (p.type === 'update' || p.type === 'full-reload'))) await new Promise((res) => setTimeout(res, 50));
    const update = sent.slice(before).find((p) => p && (p.type === 'update' || p.type === 'full-reload'));
    check('editing net.hess sends a hot update to the page', update !== undefined, update ? update.type : `payloads: ${JSON.stringify(sent.slice(before)).slice(0, 300)}`);
    const after = await get(cpuUrl ?? '/net.hess?import');
    check('the edited model is served recompiled', after.status === 200 && after.text !== cpu.text);
    // A compile error reaches the page's error overlay with the model's file, line and column.
    const beforeError = sent.length;
    writeFileSync(join(root, 'net.hess'), BROKEN);
    // Once the server has seen the change (it tells the page to reload), the page asks again.
    const errorDeadline = Date.now() + 10_000;
    while (Date.now() < errorDeadline && !sent.slice(beforeError).some((p) => p?.type === 'update' || p?.type === 'full-reload')) await new Promise((res) => setTimeout(res, 50));
    await get(cpuUrl ?? '/net.hess?import');
    while (Date.now() < errorDeadline && !sent.slice(beforeError).some((p) => p?.type === 'error')) await new Promise((res) => setTimeout(res, 50));
    const overlay = sent.slice(beforeError).find((p) => p?.type === 'error')?.err;
    check('a broken model goes to the error overlay located (net.hess:7:28)', overlay !== undefined && /(^|\/)net\.hess:7:28: error: unknown name/.test(overlay.message) && overlay.loc?.line === 7 && overlay.loc?.file?.endsWith('net.hess') && overlay.frame?.includes('^'), JSON.stringify(overlay ?? null).slice(0, 300));
    writeFileSync(join(root, 'net.hess'), MODEL);
  } finally {
    await server.close();
  }
}

function bundlers() {
  const dir = join(consumer, 'bundlers');
  write('bundlers/net.hess', MODEL);
  // requestDevice is called to see that the runtime's optional import of the Node `webgpu` package
  // stayed a run-time import: where no such package exists it must fail with hessgen's message.
  write('bundlers/app.js', `import { value, hessian, model } from './net.hess';
import { createKernels, wgsl } from './net.hess?gpu';
import { requestDevice } from 'hessgen/runtime';
const data = { X: ${JSON.stringify(X)}, y: ${JSON.stringify(Y)} };
const theta = ${JSON.stringify(THETA)};
export const result = {
  n: model.n, value: value(theta, data), hessian: Array.from(hessian(theta, data)),
  gpu: typeof createKernels === 'function' && Object.keys(wgsl).length > 0,
};
export const device = () => requestDevice().then(() => 'a device', (e) => e.message);
`);
  write('bundlers/rollup.config.mjs', `import hessgen from 'hessgen/rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
export default { input: 'app.js', output: { file: 'out-rollup/app.js', format: 'es' }, plugins: [hessgen(), nodeResolve()] };
`);
  write('bundlers/webpack.config.js', `import hessgen from 'hessgen/webpack';
export default {
  mode: 'production', entry: './app.js', optimization: { minimize: false },
  output: { path: new URL('./out-webpack', import.meta.url).pathname, filename: 'app.js', module: true, library: { type: 'module' } },
  experiments: { outputModule: true }, plugins: [hessgen()],
};
`);
  const { f, H } = reference();
  const builds = [
    { name: 'rollup', args: [join(consumer, 'node_modules', 'rollup', 'dist', 'bin', 'rollup'), '-c'], out: 'out-rollup/app.js' },
    { name: 'webpack', args: [join(consumer, 'node_modules', 'webpack-cli', 'bin', 'cli.js')], out: 'out-webpack/app.js' },
  ];
  for (const b of builds) {
    section(`${b.name} build with hessgen/${b.name}`);
    const started = Date.now();
    let r = run(process.execPath, b.args, { cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '0' } });
    if (!check(`${b.name} builds app.js (net.hess and net.hess?gpu)`, r.code === 0, r.code === 0 ? `${Date.now() - started} ms` : r.out.slice(-2000))) continue;
    check(`no warning about the runtime's optional webgpu import`, !/webgpu/i.test(r.out), /webgpu/i.test(r.out) ? r.out.slice(-800) : '');
    const bundle = readFileSync(join(dir, b.out), 'utf8');
    check('the bundle holds both modules and the runtime', bundle.includes('function hessian(') && bundle.includes('@compute') && bundle.includes('createEngine'));
    check('no compiler and no math.js in the bundle', !bundle.includes('parseDependencies') && !bundle.includes('typed-function') && !bundle.includes('emitTypeScript'));
    check('the bundle imports nothing (hessgen/runtime bundled)', !/(^|[;\s])import\s*[{*\w"']|(^|[^\w$])require\(/.test(bundle.replace(/\/\/[^\n]*/g, '')));
    // Run it where no node_modules can be found: the work folder, outside the consumer project.
    const copy = join(work, `${b.name}-bundle.mjs`);
    writeFileSync(copy, bundle);
    r = run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(copy).href)}); console.log(JSON.stringify({ ...m.result, device: await m.device() }));`], { cwd: work });
    let got = null;
    try {
      got = JSON.parse(r.out.trim().split('\n').pop());
    } catch {
      check('the bundle runs in Node', false, r.out.slice(-1500));
    }
    if (got) {
      check('the bundle runs in Node: value matches the hand-computed loss', got.n === 3 && Math.abs(got.value - f) <= 1e-12 * Math.max(1, Math.abs(f)), `${got.value} vs ${f}`);
      check('Hessian matches the hand-computed one', got.hessian.every((h, i) => Math.abs(h - H[i]) <= 1e-12), JSON.stringify(got.hessian));
      check('the GPU module is there (createKernels, WGSL)', got.gpu === true);
      check("requestDevice's import of webgpu stayed a run-time import", /no WebGPU here.*npm install webgpu/.test(got.device), got.device);
    }
    writeFileSync(join(dir, 'net.hess'), BROKEN);
    r = run(process.execPath, b.args, { cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '0' } });
    check(`a broken model fails the ${b.name} build with file:line:column and the code frame`, r.code !== 0 && /net\.hess:7:28: error: unknown name/.test(r.out) && r.out.includes('^^'), r.out.slice(-1500));
    check('… reported by the bundler, not a crash', !/Node\.js v\d|triggerUncaughtException|unhandled/i.test(r.out), r.out.slice(-800));
    writeFileSync(join(dir, 'net.hess'), MODEL);
    console.log(`  (${b.name}: ${((Date.now() - started) / 1000).toFixed(1)} s for the two builds and the run)`);
  }
}
