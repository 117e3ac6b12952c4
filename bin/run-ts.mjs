#!/usr/bin/env node
// Runs a TypeScript entry point on plain Node 20: esbuild bundles it (packages stay
// external) into node_modules/.cache, then Node imports the bundle. Bundling each time
// keeps the command in step with the sources without a separate build step.
import { build } from 'esbuild';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function runTs(entry) {
  const { dir, inTree } = cacheDir();
  const outfile = join(dir, `${basename(entry).replace(/\.ts$/, '')}.${process.pid}.mjs`);
  await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Inside node_modules the bundle can import the packages; elsewhere it must carry them.
    ...(inTree ? { packages: 'external' } : {}),
    // Generated GPU modules import the runtime by its package name: this checkout's runtime.
    alias: { 'hessgen/runtime': join(root, 'runtime', 'index.ts') },
    outfile,
    logLevel: 'warning',
  });
  // One bundle per process: concurrent runs never read each other's half-written file.
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(outfile, { force: true });
  }
}

/** node_modules/.cache/hessgen (so that the bundle resolves the packages), else the temp folder. */
function cacheDir() {
  const dir = join(root, 'node_modules', '.cache', 'hessgen');
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return { dir, inTree: true };
  } catch {
    return { dir: mkdtempSync(join(tmpdir(), 'hessgen-')), inTree: false };
  }
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
