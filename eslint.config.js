// Lint enforces the architecture's layers (docs/ARCHITECTURE.md, "Layers"; eslint.layers.test.ts
// proves each rule fires):
//   main/common   imports nothing platform-specific (no Node built-in, no electron, no onnxruntime)
//   native-models builds graphs; never imports app code (main/, renderer/)
//   main/engine   plain Node, native-models, common; never backend, web, host (nor electron)
//   main/backend  plain Node, engine, common; never native-models (the engine is its door to it)
//   main/web      plain Node, backend, common (browser mode)
//   main/host     electron, backend, common (the desktop shell); the only code that imports electron
//   renderer      only main/common from the main side
// and keeps test machinery out of the product: production files never import a test-support module
// (a file named testing.ts or *.testing.ts/.mjs, anything under a testing/, reference/ or fixtures/
// folder), a test framework, main/fuzz, e2e or bench, nor the synthetic benchmark generator
// (main/engine/synthetic: a tool of its own, run as main/engine/synthetic/cli.ts).
// Tests and test support may skip a layer (a backend test builds a tiny checkpoint with
// native-models/testing); they never import upwards.
import { builtinModules } from 'node:module';

import js from '@eslint/js';
import pluginVue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';

/**
 * Node's built-ins: every bare name (`fs`, `fs/promises`, `worker_threads`) by name, and every
 * `node:` name by its prefix, which also covers node:-only ones (`node:test`, `node:sqlite`).
 */
const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('node:'));

/** Test files, and test-support modules by the naming convention above. */
const TEST_FILES = ['**/*.test.ts'];
const TEST_SUPPORT = [
  '**/testing.ts',
  '**/*.testing.ts',
  '**/*.testing.mjs',
  '**/testing/**',
  '**/reference/**',
  '**/fixtures/**',
];
const NOT_PRODUCTION = [...TEST_FILES, ...TEST_SUPPORT];

const SOURCES = '**/*.{ts,mjs,vue}';

/** An import group that no file of a layer may use, with the reason lint prints. */
const forbid = (group, message) => ({ group, message });

const TEST_MACHINERY = [
  forbid(
    TEST_SUPPORT,
    'production code never imports test support (testing.ts, *.testing.ts, testing/, reference/, fixtures/).',
  ),
  forbid(
    ['vitest', 'vitest/*', '@playwright/test', 'fast-check', '**/fuzz/**', '**/e2e/**', '**/bench/**'],
    'production code never imports a test framework, main/fuzz, e2e or bench.',
  ),
  forbid(
    ['**/synthetic/**'],
    'the synthetic benchmark generator is a tool of its own (main/engine/synthetic/cli.ts): production code never imports it.',
  ),
];

const ENGINE = '**/engine/**';
const BACKEND = '**/backend/**';
const WEB = '**/web/**';
const HOST = '**/host/**';
const PRELOAD = '**/preload/**';
const RENDERER = '**/renderer/**';
const NATIVE_MODELS = '**/native-models/**';

/**
 * Each layer: its folders, the imports none of its files may use (`never`: upwards, sideways, the
 * platform it must not need) and those only its production files may not use (`skips`: a layer below
 * the one it builds on, reached through that one). `builtins` forbids every Node built-in.
 */
const LAYERS = [
  {
    folders: ['main/common'],
    builtins: 'main/common is shared with the renderer: no Node imports.',
    never: [
      forbid(
        ['electron', 'onnxruntime-node', ENGINE, BACKEND, WEB, HOST, RENDERER, NATIVE_MODELS],
        'main/common holds contracts shared with the renderer: it imports no other layer.',
      ),
    ],
  },
  {
    folders: ['native-models'],
    never: [forbid(['electron', '**/main/**', RENDERER], 'native-models imports no app code.')],
  },
  {
    folders: ['main/engine'],
    never: [
      forbid(
        ['electron', BACKEND, WEB, HOST, PRELOAD, RENDERER],
        'main/engine is plain Node below the backend and both shells: it never imports them.',
      ),
    ],
  },
  {
    folders: ['main/backend'],
    never: [
      forbid(
        ['electron', WEB, HOST, RENDERER],
        'main/backend is plain Node shared by both shells: no Electron, no shell.',
      ),
    ],
    skips: [forbid([NATIVE_MODELS], 'main/backend reaches native-models through main/engine only.')],
  },
  {
    folders: ['main/web'],
    never: [
      forbid(
        ['electron', HOST, RENDERER],
        'main/web is browser mode, plain Node: no Electron, no desktop shell.',
      ),
    ],
    skips: [forbid([ENGINE, NATIVE_MODELS], 'main/web reaches the engine through main/backend only.')],
  },
  {
    folders: ['main/host'],
    never: [
      forbid(
        [WEB, RENDERER],
        'main/host is the desktop shell: code it shares with browser mode lives in main/backend.',
      ),
    ],
    skips: [forbid([ENGINE, NATIVE_MODELS], 'main/host reaches the engine through main/backend only.')],
  },
  {
    folders: ['renderer/src'],
    builtins: 'the renderer runs sandboxed: no Node.',
    never: [
      forbid(
        ['electron', ENGINE, BACKEND, HOST, WEB, NATIVE_MODELS],
        'the renderer reaches the backend only through main/common/api.',
      ),
    ],
  },
];

function restrictedImports(files, ignores, { builtins, patterns }) {
  const paths = builtins ? NODE_BUILTINS.map((name) => ({ name, message: builtins })) : [];
  const nodePrefix = builtins ? [forbid(['node:*'], builtins)] : [];
  return {
    files,
    ignores,
    rules: { 'no-restricted-imports': ['error', { paths, patterns: [...nodePrefix, ...patterns] }] },
  };
}

/**
 * Two blocks per layer (for one file the later block's options replace the earlier's): every file
 * keeps the layer's `never`; production files add `skips` and the test-machinery ban.
 */
const layerRules = LAYERS.flatMap(({ folders, builtins, never, skips = [] }) => {
  const files = folders.map((folder) => `${folder}/${SOURCES}`);
  return [
    restrictedImports(files, [], { builtins, patterns: never }),
    restrictedImports(files, NOT_PRODUCTION, { builtins, patterns: [...never, ...skips, ...TEST_MACHINERY] }),
  ];
});

/** Node's own globals (process, Buffer, URL, …), for .mjs files, which no type checker reads. */
const NODE_GLOBALS = Object.fromEntries(
  Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'out/**',
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
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: NODE_GLOBALS },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Entry points outside the layers are production code too.
  restrictedImports(['bin/**/*.mjs', 'scripts/**/*.mjs'], [], { patterns: TEST_MACHINERY }),
  ...layerRules,
);
