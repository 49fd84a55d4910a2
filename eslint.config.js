import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import layers from './eslint-rules/layers.js';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'public/**', 'test-results/**', 'playwright-report/**', '.checkpoints/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Arrows run one way: gpu → engine → worker → ui/cli, and ui never imports gpu (eslint-rules/layers.js).
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { rankscope: { rules: { layers } } },
    rules: { 'rankscope/layers': 'error' },
  },
  // Formatting is Prettier's (`npm run format`; `npm run lint` checks it): turn off ESLint's style rules.
  prettier,
);
