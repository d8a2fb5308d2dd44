/** `npm test` (scripts/test.sh) runs unit + integration, then the replicas project on its own (`npm run test:replicas`: that one alone); `npm run test:nomad` the nomad project. */
const ts = ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }];
const common = { transform: { '^.+\\.ts$': ts }, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/tests/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/{integration,workflows,e2e}/**/*.test.ts'],
      globalSetup: '<rootDir>/tests/support/global-setup.ts',
      globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
    },
    {
      // The replica tier: 2 servers + 2 workers as processes, one of each killed mid-run. `npm test`
      // runs it after unit + integration, in a jest run of its own (scripts/test.sh) so its kills
      // and timings do not share the box with the other suites; `npm run test:replicas` runs it alone.
      ...common,
      displayName: 'replicas',
      testMatch: ['<rootDir>/tests/replicas/**/*.test.ts'],
      globalSetup: '<rootDir>/tests/support/global-setup.ts',
      globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
    },
    {
      // The real-Nomad tier (`npm run test:nomad`): not part of `npm test`.
      ...common,
      displayName: 'nomad',
      testMatch: ['<rootDir>/tests/nomad/**/*.test.ts'],
      globalSetup: '<rootDir>/tests/support/global-setup.ts',
      globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
    },
  ],
};
