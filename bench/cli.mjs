#!/usr/bin/env node
// CLI start-up: one-model `hessgen build` in a fresh process against `node -e 0`, side by side.
//   npm run bench:cli            (builds dist/ first; the bin runs only dist/)
//   node bench/cli.mjs [--runs 40] [--model examples/logreg.hess]
//
// The two commands alternate (A B A B …) so that both see the same machine load; each figure is
// the median of the runs, with the quartiles. The target (issue 7) is hessgen within 5× of
// `node -e 0`. Then `--watch`'s in-process rebuild: the model is edited and the time from the
// write to the rebuilt files is reported (the build itself, and with the 100 ms debounce).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('--runs', '40'));
const model = arg('--model', 'examples/logreg.hess');

const dir = mkdtempSync(join(tmpdir(), 'hessgen-bench-cli-'));
const file = basename(model);
cpSync(join(repo, model), join(dir, file));
const bin = join(repo, 'bin', 'hessgen.mjs');

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.ceil(at)] - s[lo]) * (at - lo);
};
const fmt = (xs) => `${quantile(xs, 0.5).toFixed(0)} ms (quartiles ${quantile(xs, 0.25).toFixed(0)}–${quantile(xs, 0.75).toFixed(0)})`;

const commands = {
  'node -e 0': ['-e', '0'],
  [`hessgen build ${file} --out gen`]: [bin, 'build', file, '--out', 'gen'],
  'hessgen --version': [bin, '--version'],
};
const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (const args of Object.values(commands)) time(args); // warm the file cache
for (let i = 0; i < runs; i++) for (const [name, args] of Object.entries(commands)) times[name].push(time(args));

const base = quantile(times['node -e 0'], 0.5);
console.log(`CLI start-up, ${runs} interleaved runs each, Node ${process.version}, model ${model}:`);
for (const [name, xs] of Object.entries(times)) {
  const ratio = quantile(xs, 0.5) / base;
  console.log(`  ${name.padEnd(40)} ${fmt(xs)}${name === 'node -e 0' ? '' : `   ${ratio.toFixed(2)}× node -e 0`}`);
}
const buildRatio = quantile(times[`hessgen build ${file} --out gen`], 0.5) / base;
console.log(`one-model build within 5× node -e 0: ${buildRatio <= 5 ? 'yes' : 'NO'} (${buildRatio.toFixed(2)}×)`);

// --watch: rebuild time in the running process.
const { watch } = await import(pathToFileURL(join(repo, 'dist', 'cli.js')).href);
const events = [];
let wake = () => undefined;
const handle = await watch({ inputs: [file], out: 'gen', cwd: dir, log: () => undefined, logError: (l) => console.error(l), onBuild: (e) => (events.push({ ...e, at: performance.now() }), wake()) });
const source = readFileSync(join(dir, file), 'utf8');
const builds = [];
const walls = [];
for (let i = 0; i < 15; i++) {
  const before = events.length;
  const done = new Promise((resolve) => (wake = resolve));
  const t0 = performance.now();
  writeFileSync(join(dir, file), `${source}\n# edit ${i}\n`);
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('no rebuild within 10 s')), 10_000))]);
  const e = events[before];
  builds.push(e.ms);
  walls.push(e.at - t0);
}
await handle.close();
console.log(`--watch rebuild of ${file}, 15 edits: build ${fmt(builds)}; from the write to rebuilt files ${fmt(walls)} (includes the 100 ms debounce)`);
rmSync(dir, { recursive: true, force: true });
