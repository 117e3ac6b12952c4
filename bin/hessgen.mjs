#!/usr/bin/env node
// The hessgen command: runs the prebuilt CLI in dist/ (scripts/build-dist.mjs; `npm install` and
// `npm pack` build it through the `prepare` script). Nothing is compiled or bundled here, with one
// exception for hessgen's own repository: when compiler/ or runtime/ sources are newer than dist/
// (someone edited the compiler), dist/ is rebuilt first, so that the command never runs a stale
// compiler. The published package has no sources, so this check costs it nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (existsSync(`${root}compiler/index.ts`) && existsSync(`${root}scripts/build-dist.mjs`)) {
  const built = statSync(`${root}dist/cli.js`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (newest(`${root}compiler`) > built || newest(`${root}runtime`) > built) {
    const r = spawnSync(process.execPath, [`${root}scripts/build-dist.mjs`, '--js-only'], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(1);
  }
}

let cli;
try {
  cli = await import('../dist/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli.js')) throw err;
  process.stderr.write('hessgen: dist/ is missing: in a checkout of hessgen, run `npm run build:dist` (npm install does it too)\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));

/** The newest modification time of a .ts file under `dir`. */
function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) max = Math.max(max, newest(`${dir}/${e.name}`));
    else if (e.name.endsWith('.ts')) max = Math.max(max, statSync(`${dir}/${e.name}`).mtimeMs);
  }
  return max;
}
