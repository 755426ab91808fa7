import { defineConfig } from 'vitest/config';

// The whole suite runs on PGlite by default and on PostgreSQL when TEST_DATABASE_URL is set
// (tests/helpers/global-setup.ts makes a migrated template once; each test file gets a copy).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
