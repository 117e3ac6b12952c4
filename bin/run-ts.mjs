#!/usr/bin/env node
// Runs a TypeScript entry point on plain Node 20: esbuild bundles it (packages stay
// external) into node_modules/.cache, then Node imports the bundle. Bundling each time
// keeps the command in step with the sources without a separate build step.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function runTs(entry) {
  const cache = join(root, 'node_modules', '.cache', 'hessgen');
  mkdirSync(cache, { recursive: true });
  const outfile = join(cache, basename(entry).replace(/\.ts$/, '') + '.mjs');
  await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, ...rest] = process.argv.slice(2);
  if (!entry) {
    console.error('usage: run-ts.mjs FILE.ts [args...]');
    process.exit(2);
  }
  process.argv = [process.argv[0], resolve(entry), ...rest];
  await runTs(entry);
}
