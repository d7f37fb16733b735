/**
 * The host bundles as scripts/build-host.mjs makes them. Electron is not installed here, so the main
 * bundle is only inspected; the preload bundle runs in a `vm` context with a stand-in `electron`
 * module (a unit test of its wiring to the bridge, not of Electron); the engine worker bundle runs
 * for real, in a worker thread under the real backend, and opens the demo model.
 */
import { builtinModules } from 'node:module';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildHost, NATIVE_EXTERNALS, ROOT, UNUSED_OPTIONAL_PEERS } from '../../scripts/build-host.mjs';
import { createBackend } from '../backend/index.ts';
import { FILE_SCHEME, type ApiEvent, type PreloadBridge } from '../common/api/index.ts';
import { DEMO_MODEL_DIR } from '../engine/demo.ts';
import { CHANNELS } from './channels.ts';

// Two levels below the root, like out/host/, so paths the sources derive from import.meta.url hold.
const OUTDIR = join(ROOT, 'out', `host-test-${process.pid}`);
let built: Awaited<ReturnType<typeof buildHost>>;

beforeAll(async () => {
  built = await buildHost({ outdir: OUTDIR, sourcemap: false });
});

afterAll(() => rm(OUTDIR, { recursive: true, force: true }));

function requiredModules(code: string): Set<string> {
  return new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]));
}

describe('bundles', () => {
  it('leave only Node built-ins and the native externals to require at run time', async () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    for (const file of [built.main, built.engineWorker]) {
      const foreign = [...requiredModules(await readFile(file, 'utf8'))].filter(
        (name) =>
          !builtins.has(name) && !NATIVE_EXTERNALS.includes(name) && !UNUSED_OPTIONAL_PEERS.includes(name),
      );
      expect(foreign, file).toEqual([]);
    }
    expect([...requiredModules(await readFile(built.preload, 'utf8'))]).toEqual(['electron']);
    expect(await readFile(built.main, 'utf8')).not.toMatch(/\bimport\.meta\b/);
  });

  it('are CommonJS in an ESM repository, with the app name Electron shows', async () => {
    const manifest = JSON.parse(await readFile(join(OUTDIR, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ type: 'commonjs', main: 'main.js', productName: 'FusionScope' });
  });
});

describe('Parquet worker bundle', () => {
  it('sits beside the engine worker, which starts it, and reads a Parquet file alone', async () => {
    expect(dirname(built.parquetWorker)).toBe(dirname(built.engineWorker));
    expect([...requiredModules(await readFile(built.parquetWorker, 'utf8'))]).toEqual([]);
    const file = await readFile(
      join(ROOT, 'main/engine/datasets/fixtures/parquet/vqav2/validation-00000-of-00001.parquet'),
    );
    const worker = new Worker(built.parquetWorker);
    try {
      const reply = new Promise<{ kind: string; metadata?: { num_rows: bigint } }>((done) =>
        worker.once('message', done),
      );
      const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
      worker.postMessage({ kind: 'open', buffer }, [buffer]);
      const message = await reply;
      expect(message.kind).toBe('metadata');
      expect(Number(message.metadata!.num_rows)).toBeGreaterThan(0);
    } finally {
      await worker.terminate();
    }
  });
});

describe('preload bundle (vm, stand-in electron module)', () => {
  async function loadPreload() {
    const exposed = new Map<string, unknown>();
    const invoked: unknown[][] = [];
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const electron = {
      // Electron answers "" for a File that is not on disk.
      webUtils: { getPathForFile: (file: { name: string }) => (file.name ? `/dropped/${file.name}` : '') },
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => {
          invoked.push(args);
          return { ok: true, value: 'reply' };
        },
        on: (channel: string, listener: (...args: unknown[]) => void) => {
          if (!listeners.has(channel)) listeners.set(channel, new Set());
          listeners.get(channel)?.add(listener);
        },
        removeListener: (channel: string, listener: (...args: unknown[]) => void) =>
          listeners.get(channel)?.delete(listener),
      },
    };
    const code = await readFile(built.preload, 'utf8');
    const module = { exports: {} };
    runInNewContext(code, {
      require: (name: string) => {
        if (name !== 'electron') throw new Error(`the sandboxed preload cannot require ${name}`);
        return electron;
      },
      module,
      exports: module.exports,
    });
    const emit = (event: ApiEvent) => {
      for (const listener of listeners.get(CHANNELS.event) ?? [])
        listener({ sender: 'ipc internals' }, event);
    };
    return { exposed, invoked, listeners, emit };
  }

  it('exposes exactly the PreloadBridge on window.fusionscope', async () => {
    const { exposed } = await loadPreload();
    expect([...exposed.keys()]).toEqual(['fusionscope']);
    const keys = {
      call: true,
      onEvent: true,
      saveFile: true,
      chooseFolder: true,
      pathForFile: true,
      fileScheme: true,
    } satisfies Record<keyof PreloadBridge, true>;
    const bridge = exposed.get('fusionscope') as PreloadBridge;
    expect(Object.keys(bridge).sort()).toEqual(Object.keys(keys).sort());
    expect(bridge.fileScheme).toBe(FILE_SCHEME);
  });

  it('sends calls and dialog requests on their channels', async () => {
    const { exposed, invoked } = await loadPreload();
    const bridge = exposed.get('fusionscope') as PreloadBridge;
    expect(await bridge.call('appInfo', {})).toEqual({ ok: true, value: 'reply' });
    const file = { fileName: 'a.png', mime: 'image/png', base64: '' };
    await bridge.saveFile(file);
    await bridge.chooseFolder('Open model folder');
    expect(invoked).toEqual([
      [CHANNELS.call, 'appInfo', {}],
      [CHANNELS.saveFile, file],
      [CHANNELS.chooseFolder, 'Open model folder'],
    ]);
  });

  it('asks webUtils where a dropped file lives, in the preload (a File cannot cross IPC)', async () => {
    const { exposed, invoked } = await loadPreload();
    const bridge = exposed.get('fusionscope') as PreloadBridge;
    expect(bridge.pathForFile({ name: 'cat.png' } as File)).toBe('/dropped/cat.png');
    expect(bridge.pathForFile({ name: '' } as File)).toBe('');
    expect(invoked).toEqual([]);
  });

  it('hands listeners the event payload only, and unsubscribes', async () => {
    const { exposed, emit, listeners } = await loadPreload();
    const bridge = exposed.get('fusionscope') as PreloadBridge;
    const received: unknown[][] = [];
    const unsubscribe = bridge.onEvent((...args: unknown[]) => received.push(args));
    const event: ApiEvent = { type: 'navigate', view: 'runs' };
    emit(event);
    expect(received).toEqual([[event]]);
    unsubscribe();
    emit(event);
    expect(received).toHaveLength(1);
    expect(listeners.get(CHANNELS.event)?.size).toBe(0);
  });
});

describe('engine worker bundle', () => {
  it('runs as the backend engine worker and opens the demo model', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'fusionscope-host-'));
    const backend = await createBackend({
      workspace: scratch,
      mode: 'electron',
      preloadDemo: false,
      engineWorker: pathToFileURL(built.engineWorker),
    });
    try {
      const reply = await backend.call('openModel', { folder: DEMO_MODEL_DIR, provider: 'cpu' });
      expect(reply).toMatchObject({ ok: true, value: { isDemo: true, executionProvider: 'cpu' } });
    } finally {
      await backend.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
