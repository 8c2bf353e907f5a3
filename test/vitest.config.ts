import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Lives in test/ because the top level of the repository is fixed; paths below are relative to the root.
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  test: {
    root,
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Generous: some tests replay whole fixtures at every split point and byte by byte.
    testTimeout: 30_000,
    // .ci/run reads the JSON report to print the closing `N passed, N failed` line.
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
  },
});
