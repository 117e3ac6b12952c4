#!/usr/bin/env node
// Builds the playground into playground/dist/: static files that any file server can host.
//   app.js      the page (compiler, inspect, eigenvalues, plots), bundled for the browser
//   runtime.js  hessgen/runtime, which generated GPU modules import (index.html's import map
//               points the bare specifier at this file; app.js imports it the same way)
//   index.html, style.css
// The examples (examples/*.hess) are compiled into app.js, so nothing is fetched at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** The examples, by name, in name order. */
function examples() {
  const dir = join(root, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hess'))
    .sort()
    .map((f) => ({ name: f.replace(/\.hess$/, ''), path: `examples/${f}`, source: readFileSync(join(dir, f), 'utf8') }));
}

// `import { examples } from 'playground:examples'` in the page: the files' text at build time.
const examplesPlugin = {
  name: 'playground-examples',
  setup(b) {
    b.onResolve({ filter: /^playground:examples$/ }, (args) => ({ path: args.path, namespace: 'playground-examples' }));
    b.onLoad({ filter: /.*/, namespace: 'playground-examples' }, () => ({
      contents: `export const examples = ${JSON.stringify(examples())};`,
      loader: 'js',
      watchFiles: readdirSync(join(root, 'examples')).map((f) => join(root, 'examples', f)),
    }));
  },
};

// Nothing in the page may need Node: a `node:` import would fail at load time in the browser.
const noNodePlugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ errors: [{ text: `${args.path} imported by ${relative(root, args.importer)}: the playground runs in a browser` }] }));
  },
};

/** Builds into `outDir` (default playground/dist); returns the folder. */
export async function buildPlayground({ outDir = join(here, 'dist'), minify = true, plugins = [] } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify, sourcemap: false, legalComments: 'none', logLevel: 'warning', plugins: [noNodePlugin] };
  await build({ ...common, entryPoints: [join(root, 'runtime', 'index.ts')], outfile: join(outDir, 'runtime.js'), external: ['webgpu'] });
  await build({
    ...common,
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    // One copy of the runtime in the page, shared by app.js and the generated GPU modules.
    external: ['hessgen/runtime'],
    plugins: [noNodePlugin, examplesPlugin, ...plugins],
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, 'src', f), join(outDir, f));
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  const out = await buildPlayground();
  console.log(`playground built into ${relative(process.cwd(), out) || '.'} in ${Math.round(performance.now() - t0)} ms`);
}
