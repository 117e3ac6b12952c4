#!/usr/bin/env node
// Builds dist/, what the published package runs: `npm install` (from git) and `npm pack` run it
// through the `prepare` script; the repository's own scripts and tests run it before using bin/.
//   node scripts/build-dist.mjs            JavaScript and declarations
//   node scripts/build-dist.mjs --js-only  JavaScript only (what the CLI tests need; ~0.3 s)
//
// JavaScript: esbuild bundles each entry point; the compiler's modules are shared as chunks. math.js
// is bundled too (the parser imports only `parse` and what it needs, see compiler/1-parse/mathjs.ts),
// so the package has no math.js dependency and loads a fraction of it. unplugin stays an import
// (the plugin's base, a dependency); the runtime is bundled on its own and imports nothing.
// Declarations: tsc --emitDeclarationOnly (tsconfig.build.json) into dist/types/, one small entry
// `.d.ts` per entry point re-exporting from there.
// Outputs are written to a temporary folder, then renamed into dist/ one by one, so that
// concurrent runs (tests in parallel) never see a half-written file.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jsOnly = process.argv.includes('--js-only');
const dist = join(root, 'dist');

/** Entry point -> source. The names are the package's export paths (see package.json "exports"). */
const ENTRIES = {
  index: 'compiler/index.ts',
  cli: 'compiler/cli.ts',
  runtime: 'runtime/index.ts',
  // Worker threads: an export path of its own, so that `hessgen/runtime` stays free of them.
  'runtime/parallel': 'runtime/parallel/index.ts',
  'runtime/parallel-worker': 'runtime/parallel/worker.ts',
  'plugin/vite': 'compiler/plugin/vite.ts',
  'plugin/esbuild': 'compiler/plugin/esbuild.ts',
  'plugin/rollup': 'compiler/plugin/rollup.ts',
  'plugin/webpack': 'compiler/plugin/webpack.ts',
};

const tmp = join(root, 'node_modules', '.cache', `hessgen-dist-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

const result = await build({
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [name, join(root, src)])),
  outdir: join(tmp, 'js'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The compiler also runs in browser pages (the playground): nothing here may assume Node,
  // which is why platform 'node' only affects the CLI's own node: imports.
  external: ['unplugin', 'webgpu'],
  // Whitespace and syntax only: names stay, so stack traces (HESSGEN_DEBUG=1) stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none', // the licences of bundled packages go to dist/THIRD-PARTY-LICENSES.md
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

// Licences of what was bundled (math.js is Apache-2.0 with a NOTICE; its helpers MIT).
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = ['# Third-party licences', '', 'dist/ bundles code from these packages; their licence texts follow.', ''];
for (const name of [...packages].sort()) {
  const dir = join(root, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  notices.push(`## ${name} ${pkg.version} (${pkg.license})`, '');
  for (const file of readdirSync(dir).filter((f) => /^(licen[cs]e|notice)(\.md|\.txt)?$/i.test(f)).sort()) {
    notices.push('```', readFileSync(join(dir, file), 'utf8').trim(), '```', '');
  }
}
writeFileSync(join(tmp, 'js', 'THIRD-PARTY-LICENSES.md'), notices.join('\n'));

// The runtime's optional `import('webgpu')` (Node only, runtime/gpu/device.ts) must stay a
// run-time import in the bundles users make of it. The source names the package through a
// variable (with Vite's ignore comment), but minifying folds the variable into a literal and
// drops the comment: Rollup then warns about an unresolved dependency (or, with
// `webgpu` installed, tries to bundle its native addon) and webpack about a missing module.
// Put back a variable (a hoisted `var`, which no bundler resolves) and the comments.
{
  const literal = 'import("webgpu")';
  const js = listFiles(join(tmp, 'js')).filter((f) => f.endsWith('.js'));
  const holders = js.filter((f) => readFileSync(join(tmp, 'js', f), 'utf8').includes(literal));
  const text = holders.length === 1 ? readFileSync(join(tmp, 'js', holders[0]), 'utf8') : '';
  if (holders.length !== 1 || text.split(literal).length !== 2) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`build-dist: expected one ${literal} in the runtime, found it in ${holders.length} file(s)`);
    process.exit(1);
  }
  const kept = text.replace(literal, 'import(/* webpackIgnore: true */ /* @vite-ignore */ WEBGPU_PACKAGE)');
  writeFileSync(join(tmp, 'js', holders[0]), `${kept.trimEnd()}\nvar WEBGPU_PACKAGE="webgpu";\n`);
}

if (!jsOnly) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(tmp, 'js', 'types')], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    console.error('build-dist: tsc failed');
    process.exit(1);
  }
  // The runtime's API is typed with WebGPU's types (GPUDevice, …): they come from @webgpu/types,
  // a dependency, referenced here so that consumers get them without configuring `types`.
  const entryTypes = {
    index: "export * from './types/compiler/index.js';",
    runtime: "/// <reference types=\"@webgpu/types\" />\nexport * from './types/runtime/index.js';",
    'runtime/parallel': "export * from '../types/runtime/parallel/index.js';",
  };
  for (const name of ['vite', 'esbuild', 'rollup', 'webpack']) {
    entryTypes[`plugin/${name}`] = `export { default, type HessgenPluginOptions } from '../types/compiler/plugin/${name}.js';`;
  }
  for (const [name, text] of Object.entries(entryTypes)) writeFileSync(join(tmp, 'js', `${name}.d.ts`), text + '\n');
  // hessgen/client: ambient types for `.hess?gpu` imports (types only).
  writeFileSync(join(tmp, 'js', 'client.d.ts'), readFileSync(join(root, 'compiler', 'plugin', 'client.d.ts'), 'utf8'));
}

// Move in file by file (a rename replaces a file atomically), chunks before the entries that
// import them: a CLI started meanwhile sees either the old files or the new ones.
const produced = listFiles(join(tmp, 'js'));
produced.sort((a, b) => Number(b.startsWith('chunks/')) - Number(a.startsWith('chunks/')));
for (const f of produced) {
  mkdirSync(dirname(join(dist, f)), { recursive: true });
  renameSync(join(tmp, 'js', f), join(dist, f));
}
// Chunks of earlier builds: a full build (what `npm pack` ships) removes them all; a --js-only
// build only those older than a minute (a concurrent run may still be loading them).
const keep = new Set(produced);
for (const f of listFiles(join(dist, 'chunks')).map((c) => `chunks/${c}`)) {
  if (keep.has(f)) continue;
  if (!jsOnly || Date.now() - statSync(join(dist, f)).mtimeMs > 60_000) rmSync(join(dist, f), { force: true });
}
if (!jsOnly) {
  // A full build (what `npm pack` ships) is all of dist/: anything an earlier build left goes.
  for (const f of listFiles(dist)) if (!keep.has(f)) rmSync(join(dist, f), { force: true });
}
rmSync(tmp, { recursive: true, force: true });

function listFiles(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
