import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // dist/ built from the sources before the tests that run the real command.
    globalSetup: ['test/setup/dist.ts'],
  },
});
