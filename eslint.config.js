// Type-aware lint: it fails the build (npm run lint runs inside npm test).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import prettier from 'eslint-config-prettier';

const apps = ['gateway', 'report-service', 'payment-service', 'notification-service'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.js'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      // Nest's option bags are typed as classes; object literals are how its own docs pass them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            // Apps never import each other: they share only through libs/ and messages.
            ...apps.map((app) => ({
              target: `./apps/${app}`,
              from: apps.filter((other) => other !== app).map((other) => `./apps/${other}`),
              message: 'Apps never import each other; share through libs/ or a message.',
            })),
            { target: './libs', from: './apps', message: 'Libraries never import an app.' },
            {
              target: './libs/contracts',
              from: './libs',
              except: ['./contracts'],
              message: 'contracts import nothing internal.',
            },
          ],
        },
      ],
    },
  },
  {
    // RabbitMQ is known to libs/messaging alone (and to the test harness that inspects the broker from outside).
    files: ['apps/**/*.ts', 'libs/{config,contracts,health,bootstrap}/**/*.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['amqplib', 'amqp-connection-manager'].map((name) => ({
            name,
            message: 'Only libs/messaging talks to RabbitMQ.',
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      // Suites guard their teardown against a beforeAll that failed half-way.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // The dashboard's browser module: plain JS served as is (no tsconfig covers it), so no type-aware rules,
    // but undefined names are still caught.
    files: ['apps/gateway/src/dashboard/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: Object.fromEntries(
        [
          'AbortController',
          'Blob',
          'CSS',
          'FormData',
          'TextDecoder',
          'URL',
          'URLSearchParams',
          'clearInterval',
          'document',
          'fetch',
          'sessionStorage',
          'setInterval',
          'setTimeout',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-undef': 'error' },
  },
  prettier,
);
