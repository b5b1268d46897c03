// ESLint with typescript-eslint's type-aware rules: the mistakes the compiler lets through
// (a promise nobody awaits, an assertion that asserts nothing). Formatting is Biome's (biome.json).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'build/**', '.criu/**', '.bench/**', 'scripts/**', 'bin/**', '*.config.js']},
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: {parser: tseslint.parser, parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
    plugins: {'@typescript-eslint': tseslint.plugin},
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test()/describe() return promises the runner itself awaits.
        {allowForKnownSafeCalls: [{from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach']}]},
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      'prefer-const': ['error', {destructuring: 'all'}],
      eqeqeq: ['error', 'always', {null: 'ignore'}],
      'no-var': 'error',
    },
  },
)
