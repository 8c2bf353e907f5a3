import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Lives in test/ because the top level of the repository is fixed; paths below are relative to the root.
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  test: {
    root,
    environment: 'node',
    // Generous: some tests replay whole fixtures at every split point and byte by byte.
    testTimeout: 30_000,
    // .ci/run reads the JSON report to print the closing `N passed, N failed` line.
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/interop/**'] },
      },
      {
        // Against a real Dovecot that test/global-setup.ts starts once for the run (and stops after it).
        extends: true,
        test: { name: 'interop', include: ['test/interop/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
