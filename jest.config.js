/** `npm test` (scripts/test.sh) runs unit + integration; `npm run test:replicas` the replicas project; `npm run test:nomad` the nomad project. */
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
      // The replica tier (`npm run test:replicas`): 2 servers + 2 workers as processes, one of each
      // killed mid-run; a tier of its own, like the real-Nomad one (see scripts/test-replicas.sh).
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
