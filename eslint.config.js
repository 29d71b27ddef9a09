// @ts-check
// ESLint 9 flat config: the rules this code already follows, checked in `npm test` (`npm run lint`).
// Every TypeScript file is linted with type information (floating promises need it): about 20 s on two
// cores. Plain errors are refused in src/ only.
import stylistic from '@stylistic/eslint-plugin';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Syntax and layout the code already has everywhere; no rule here asks for a mass reformat. */
const style = {
  '@stylistic/indent': ['error', 2, { offsetTernaryExpressions: true, ignoredNodes: ['TSUnionType > TSTypeLiteral', 'ArrowFunctionExpression > ArrowFunctionExpression'] }],
  '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
  '@stylistic/semi': ['error', 'always'],
  '@stylistic/comma-dangle': ['error', 'always-multiline'],
  '@stylistic/no-trailing-spaces': 'error',
  '@stylistic/eol-last': 'error',
  '@stylistic/no-tabs': 'error',
  // The longest line in src/ is 311 characters (long messages and one-line guards are the house style).
  '@stylistic/max-len': ['error', { code: 320 }],
  '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
  '@stylistic/no-multiple-empty-lines': ['error', { max: 1 }],
  '@stylistic/object-curly-spacing': ['error', 'always'],
  '@stylistic/array-bracket-spacing': 'error',
  '@stylistic/arrow-parens': ['error', 'always'],
  '@stylistic/arrow-spacing': 'error',
  '@stylistic/block-spacing': 'error',
  '@stylistic/comma-spacing': 'error',
  '@stylistic/key-spacing': 'error',
  '@stylistic/keyword-spacing': 'error',
  '@stylistic/space-before-blocks': 'error',
  '@stylistic/space-infix-ops': 'error',
  '@stylistic/space-in-parens': 'error',
  '@stylistic/no-multi-spaces': 'error',
  '@stylistic/member-delimiter-style': 'error',
  '@stylistic/type-annotation-spacing': 'error',
  '@stylistic/quote-props': ['error', 'as-needed'],
  '@stylistic/semi-spacing': 'error',
  '@stylistic/no-extra-semi': 'error',
  '@stylistic/padded-blocks': ['error', 'never'],
  // Type-only imports say so (`import type`, or `type X` inline in a mixed import); `import('…')` types are allowed.
  '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
};

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.scratch/**', 'bench/results/**'] },
  {
    files: ['**/*.ts', '**/*.js'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@stylistic': stylistic, '@typescript-eslint': tseslint.plugin },
    rules: style,
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // Every error the library throws (or rejects with) is a CacheError subclass with a stable code;
      // tests, the bench and the demo may make plain errors (to inject failures, for example).
      'no-restricted-syntax': ['error', {
        selector: ':matches(NewExpression, CallExpression)[callee.name=/^(Error|TypeError|RangeError)$/]',
        message: 'Throw a CacheError subclass with a code (src/core/errors.ts), not a bare Error.',
      }],
    },
  },
);
