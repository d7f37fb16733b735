// Lint enforces the architecture's layers (docs/ARCHITECTURE.md):
//   main/common   imports nothing platform-specific (no node:, no electron, no onnxruntime)
//   main/engine   plain Node; never electron
//   native-models builds graphs; never imports app code (main/, renderer/)
//   main/backend  plain Node; never electron (the desktop shell and browser mode share it)
//   main/host     the only code that imports electron
//   renderer      only main/common from the main side
import js from '@eslint/js';
import pluginVue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'url'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'out/**',
      '**/*.mjs',
      'renderer/dist/**',
      'e2e/artifacts/**',
      'test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
    rules: {
      // <script setup lang="ts">: vue-tsc checks names (DOM globals included), as typescript-eslint
      // advises for TypeScript; ESLint's no-undef knows no browser globals here.
      'no-undef': 'off',
      // Prettier owns formatting.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['main/common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'main/common is shared with the renderer: no Node imports.' },
            { group: ['electron', 'onnxruntime-node', '**/engine/**', '**/host/**', '**/native-models/**'] },
          ],
        },
      ],
    },
  },
  {
    files: ['main/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['electron', '**/host/**', '**/preload/**', '**/renderer/**'] }] },
      ],
    },
  },
  {
    files: ['native-models/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', '**/main/**', '**/renderer/**'],
              message: 'native-models imports no app code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['main/backend/**/*.ts', 'main/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', '**/host/**', '**/renderer/**'], message: 'plain Node: no Electron.' },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/src/**/*.ts', 'renderer/src/**/*.vue'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'the renderer runs sandboxed: no Node.' },
            {
              group: [
                'electron',
                '**/engine/**',
                '**/backend/**',
                '**/host/**',
                '**/web/**',
                '**/native-models/**',
              ],
              message: 'the renderer reaches the backend only through main/common/api.',
            },
          ],
        },
      ],
    },
  },
);
