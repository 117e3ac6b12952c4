import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Generated GPU modules import `hessgen/runtime`: in this repository, its sources (the package's
  // exports point at dist/, which is what consumers get and test/package checks).
  resolve: { alias: { 'hessgen/runtime': fileURLToPath(new URL('./runtime/index.ts', import.meta.url)) } },
  test: {
    // dist/ built from the sources before the tests that run the real command.
    globalSetup: ['test/setup/dist.ts'],
    // The random-model tests type-check every generated module in one tsc program: more than
    // Node's default heap for a worker (it ran out at about 4 GB once modules gained hvp, diag(H)
    // and the sparse Hessian).
    execArgv: ['--max-old-space-size=6144'],
  },
});
