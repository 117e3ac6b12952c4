#!/usr/bin/env node
// The hessgen command: runs compiler/cli.ts (bundled on the fly by esbuild, see run-ts.mjs).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTs } from './run-ts.mjs';

const cli = await runTs(join(dirname(fileURLToPath(import.meta.url)), '..', 'compiler', 'cli.ts'));
process.exitCode = await cli.main(process.argv.slice(2));
