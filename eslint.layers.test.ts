/**
 * The layers of docs/ARCHITECTURE.md are enforced by eslint.config.js; this proves each rule fires.
 * Source text is linted at virtual paths (nothing is written), through one ESLint instance: every
 * forbidden import must fail with no-restricted-imports and the layer's own reason, every allowed one
 * must pass with no message at all.
 */
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: 'eslint.config.js' });

/** The lint messages for a module at `filePath` that imports `source` and re-exports it. */
async function lintImport(filePath: string, source: string): Promise<string[]> {
  const script = `import * as imported from '${source}';\n\nexport { imported };\n`;
  const code = filePath.endsWith('.vue') ? `<script lang="ts">\n${script}</script>\n` : script;
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const TEST_SUPPORT = 'production code never imports test support';
const TEST_TOOLS = 'production code never imports a test framework';
const SYNTHETIC = 'the synthetic benchmark generator is a tool of its own';
const ENGINE_UP = 'main/engine is plain Node below the backend and both shells';
const NODE_IN_COMMON = 'main/common is shared with the renderer: no Node imports';
const NODE_IN_RENDERER = 'the renderer runs sandboxed: no Node';

/** [file, import, the reason lint must give] */
const FORBIDDEN: readonly (readonly [string, string, string])[] = [
  // Test machinery stays out of production code, in every layer and entry point.
  ['main/engine/experiments/sweep.ts', './runner.testing.ts', TEST_SUPPORT],
  ['main/engine/inference/decoder.ts', '../store/testing.ts', TEST_SUPPORT],
  ['main/web/server.ts', './testing.ts', TEST_SUPPORT],
  ['main/engine/inference/decoder.ts', '../../../native-models/testing/compare.ts', TEST_SUPPORT],
  ['main/engine/inference/decoder.ts', '../../../native-models/reference/llava.ts', TEST_SUPPORT],
  ['main/engine/tokenizer/tokenizer.ts', './fixtures/tokenizers.ts', TEST_SUPPORT],
  ['main/backend/backend.ts', './engineWorker.crash.testing.mjs', TEST_SUPPORT],
  ['native-models/architectures/llava.ts', '../testing/tinyLlava.ts', TEST_SUPPORT],
  ['renderer/src/stores/runs.ts', '../../../main/common/charts/testing.ts', TEST_SUPPORT],
  ['bin/fusionscope.mjs', '../main/engine/store/testing.ts', TEST_SUPPORT],
  ['main/engine/demo.ts', 'vitest', TEST_TOOLS],
  ['main/backend/jobs.ts', 'fast-check', TEST_TOOLS],
  ['main/engine/demo.ts', '../fuzz/run.ts', TEST_TOOLS],
  // The synthetic generator is its own tool.
  ['main/engine/experiments/metrics/curves.ts', '../../synthetic/random.ts', SYNTHETIC],
  ['main/engine/datasets/openDataset.ts', '../synthetic/index.ts', SYNTHETIC],
  ['main/backend/datasets.ts', '../engine/synthetic/write.ts', SYNTHETIC],
  // Upwards and sideways, tests included.
  ['main/engine/experiments/experiment.ts', '../../backend/index.ts', ENGINE_UP],
  ['main/engine/cli.ts', '../web/server.ts', ENGINE_UP],
  ['main/engine/demo.ts', '../host/main.ts', ENGINE_UP],
  ['main/engine/demo.ts', 'electron', ENGINE_UP],
  ['main/engine/demo.test.ts', '../backend/index.ts', ENGINE_UP],
  ['main/host/protocols.ts', '../web/server.ts', 'main/host is the desktop shell'],
  ['main/host/shell.test.ts', '../web/server.ts', 'main/host is the desktop shell'],
  ['main/backend/backend.ts', '../web/server.ts', 'main/backend is plain Node shared by both shells'],
  ['main/backend/backend.ts', 'electron', 'main/backend is plain Node shared by both shells'],
  ['main/web/server.ts', '../host/main.ts', 'main/web is browser mode'],
  ['main/web/server.ts', 'electron', 'main/web is browser mode'],
  ['native-models/architectures/llava.ts', '../../main/engine/demo.ts', 'native-models imports no app code'],
  ['main/common/errors.ts', '../engine/demo.ts', 'main/common holds contracts shared with the renderer'],
  ['main/common/errors.ts', 'onnxruntime-node', 'main/common holds contracts shared with the renderer'],
  // Skipping a layer, in production code.
  [
    'main/backend/describeModel.ts',
    '../../native-models/architectures/registry.ts',
    'main/backend reaches native-models through main/engine only',
  ],
  [
    'main/web/serve.ts',
    '../engine/runtime/providers.ts',
    'main/web reaches the engine through main/backend only',
  ],
  [
    'main/web/serve.ts',
    '../../native-models/onnx/storage.ts',
    'main/web reaches the engine through main/backend only',
  ],
  [
    'main/host/fileResponse.ts',
    '../../native-models/files/regularFile.ts',
    'main/host reaches the engine through main/backend only',
  ],
  ['main/host/main.ts', '../engine/demo.ts', 'main/host reaches the engine through main/backend only'],
  // The renderer sees main/common only, and no Node.
  [
    'renderer/src/stores/runs.ts',
    '../../../main/engine/demo.ts',
    'the renderer reaches the backend only through main/common/api',
  ],
  [
    'renderer/src/App.vue',
    '../../main/backend/index.ts',
    'the renderer reaches the backend only through main/common/api',
  ],
  [
    'renderer/src/stores/runs.ts',
    'electron',
    'the renderer reaches the backend only through main/common/api',
  ],
  // Every Node built-in, in both spellings (the old hand-written list had eight).
  ['renderer/src/stores/runs.ts', 'node:worker_threads', NODE_IN_RENDERER],
  ['renderer/src/stores/runs.ts', 'vm', NODE_IN_RENDERER],
  ['renderer/src/stores/runs.test.ts', 'node:fs', NODE_IN_RENDERER],
  ['main/common/errors.ts', 'node:vm', NODE_IN_COMMON],
  ['main/common/errors.ts', 'worker_threads', NODE_IN_COMMON],
  ['main/common/errors.ts', 'fs/promises', NODE_IN_COMMON],
  ['main/common/errors.ts', 'node:test', NODE_IN_COMMON],
  ['main/common/errors.ts', 'node:sqlite', NODE_IN_COMMON],
  ['main/common/errors.ts', 'node:fs/promises', NODE_IN_COMMON],
  ['main/common/errors.ts', '_http_agent', NODE_IN_COMMON],
  ['renderer/src/App.vue', 'node:path', NODE_IN_RENDERER],
  // .mjs files are linted with their folder's layer.
  ['main/engine/worker.mjs', '../backend/index.ts', ENGINE_UP],
  ['main/backend/engineWorker.mjs', '../web/server.ts', 'main/backend is plain Node shared by both shells'],
  ['scripts/build-host.mjs', '../native-models/testing/tinyLlava.ts', TEST_SUPPORT],
];

/** [file, import] pairs the layers allow. */
const ALLOWED: readonly (readonly [string, string])[] = [
  ['main/engine/inference/decoder.ts', '../../../native-models/architectures/registry.ts'],
  ['main/engine/inference/decoder.ts', '../../common/errors.ts'],
  ['main/engine/inference/decoder.ts', 'node:worker_threads'],
  ['main/engine/inference/decoder.ts', 'onnxruntime-node'],
  ['main/engine/experiments/metrics/curves.ts', './random.ts'],
  ['main/engine/synthetic/cli.ts', './write.ts'],
  ['main/backend/describeModel.ts', '../engine/model/readModelSpec.ts'],
  ['main/backend/backend.ts', '../common/errors.ts'],
  ['main/web/serve.ts', '../backend/options.ts'],
  ['main/host/protocols.ts', '../backend/csp.ts'],
  ['main/host/main.ts', 'electron'],
  ['renderer/src/stores/runs.ts', '../../../main/common/api/index.ts'],
  ['renderer/src/App.vue', '../../main/common/api/index.ts'],
  ['main/common/errors.ts', 'zod'],
  ['native-models/architectures/llava.ts', 'node:fs'],
  // Tests and test support may use test machinery and skip a layer; the tools may too.
  ['main/engine/inference/fidelity.test.ts', './fidelity.testing.ts'],
  ['main/engine/inference/fidelity.testing.ts', '../../../native-models/testing/compare.ts'],
  ['main/engine/inference/fidelity.testing.ts', 'vitest'],
  ['main/engine/experiments/metrics/curves.test.ts', '../../synthetic/random.ts'],
  ['main/backend/families.test.ts', '../../native-models/testing/tinyLlava.ts'],
  ['main/host/bundle.test.ts', '../engine/demo.ts'],
  ['main/web/server.test.ts', '../engine/demo.ts'],
  ['native-models/reference/llava.ts', '../testing/llavaKeyLayouts.ts'],
  ['main/backend/engineWorker.crash.testing.mjs', './engineWorker.ts'],
  ['main/fuzz/targets/tokenizer.ts', '../../engine/tokenizer/fixtures/tokenizers.ts'],
  ['bench/run.ts', '../native-models/testing/tinyLlava.ts'],
  ['e2e/support/app.ts', '../../main/engine/demo.ts'],
];

describe('eslint.config.js enforces the layers', () => {
  it.each(FORBIDDEN)('%s may not import %s', async (file, source, reason) => {
    const messages = await lintImport(file, source);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^no-restricted-imports: /);
    expect(messages[0]).toContain(reason);
  });

  it.each(ALLOWED)('%s may import %s', async (file, source) => {
    expect(await lintImport(file, source)).toEqual([]);
  });

  it("lints .mjs files as Node modules (Node's globals known, unknown names refused)", async () => {
    const code =
      "import { register } from 'tsx/esm/api';\n\nregister();\nprocess.exitCode = await main(process.argv);\n";
    const [result] = await eslint.lintText(code, { filePath: 'bin/fusionscope.mjs' });
    expect(result.messages.map((m) => `${m.ruleId}: ${m.message}`)).toEqual([
      "no-undef: 'main' is not defined.",
    ]);
  });
});
