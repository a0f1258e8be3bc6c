import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      '.sluice/',
      'scratch/',
      'bench/data/',
      'examples/**/out/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='vi'][callee.property.name='mock']",
          message: 'Do not mock modules; test against the real engine and services.',
        },
      ],
    },
  },
  {
    // core is pure: no Node built-ins and nothing else of ours.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'core must not import Node built-ins (no I/O in core).' },
            { group: ['../*/**', '!../core/**'], message: 'core imports nothing else of ours.' },
          ],
        },
      ],
    },
  },
  {
    // Connectors see contracts, core and connectors/shared; scripts/check-layers.ts checks every arrow.
    files: ['src/connectors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/define/**',
                '**/plan/**',
                '**/cli/**',
                '**/observe/**',
                '**/engine/**',
                '**/stream/**',
              ],
              message: 'connectors import only contracts, core and connectors/shared.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
