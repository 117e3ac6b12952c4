// vitest globalSetup: the command-line tests run bin/hessgen.mjs, which runs the prebuilt dist/
// (as users get it). Build its JavaScript from the current sources first, once per test run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-dist.mjs'), '--js-only'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building dist/ failed (node scripts/build-dist.mjs --js-only)');
}
