import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', '.test-services/**', 'coverage/**', '.x-*/**', '.bench-dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../activities/*', '../store/*', '../nomad/*', 'fs', 'node:*', 'knex', 'ioredis'], allowTypeImports: true,
            message: 'workflow code is deterministic: no I/O; import activities as types only' },
        ],
      }],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../api/*', '../api/**', '../store/*', '../temporal/*', '../activities/*', '../workflows/*', '../nomad/*', 'knex', 'express', 'zod'], allowTypeImports: true,
            message: 'the client depends on core and on API *types* only: no server code at run time' },
        ],
      }],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly', __dirname: 'readonly' } }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
