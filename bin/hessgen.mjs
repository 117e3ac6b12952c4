#!/usr/bin/env node
// The hessgen command: runs the prebuilt CLI in dist/ (scripts/build-dist.mjs; `npm install` and
// `npm pack` build it through the `prepare` script). Nothing is compiled or bundled here.
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli.js')) throw err;
  process.stderr.write('hessgen: dist/ is missing: in a checkout of hessgen, run `npm run build:dist` (npm install does it too)\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
