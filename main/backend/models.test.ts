/**
 * The app's model registry resolves what openModel names (a hub id, a cache folder) on the main thread
 * and asks the engine worker for the snapshot, carrying the revision; a stand-in engine records the
 * requests, so no model is built.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { writeFakeHubRepo, type FakeSnapshot } from '../engine/model/resolveModelFolder.testing.ts';
import type { EngineClient } from './engineClient.ts';
import { ModelRegistry } from './models.ts';
import type { RequestOf } from './workerProtocol.ts';

const REPO = 'tiny-org/tiny-llava';
let root: string;
let snapshots: Record<string, FakeSnapshot>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-registry-'));
  const source = join(root, 'source');
  await mkdir(source);
  // Resolution reads names and refs only: a config and a weights file are all a snapshot needs here.
  await writeFile(join(source, 'config.json'), '{"model_type": "llava"}');
  await writeFile(join(source, 'model.safetensors'), 'x');
  ({ snapshots } = await writeFakeHubRepo(join(root, 'hub'), REPO, { main: source, v1: source }));
});

afterAll(() => rm(root, { recursive: true, force: true }));

function standInEngine(requests: RequestOf<'openModel'>[]): EngineClient {
  return {
    request: async (request: RequestOf<'openModel'>) => {
      requests.push(request);
      const hub = { repoId: REPO, revision: request.revision, commit: request.folder.split('/').pop() };
      return { info: { hub, modelType: 'llava' }, layers: 2, heads: 2, hiddenSize: 8 };
    },
  } as unknown as EngineClient;
}

describe('ModelRegistry.open', () => {
  it('opens a hub id at a revision as its snapshot, named by the repo id', async () => {
    vi.stubEnv('HF_HUB_CACHE', join(root, 'hub'));
    try {
      const requests: RequestOf<'openModel'>[] = [];
      const registry = new ModelRegistry(standInEngine(requests), { provider: 'cpu', precision: 'auto' });
      const view = await registry.open(REPO, { revision: 'v1' });
      expect(requests).toEqual([
        {
          type: 'openModel',
          folder: snapshots.v1.folder,
          provider: 'cpu',
          precision: 'auto',
          revision: 'v1',
        },
      ]);
      expect(view).toMatchObject({
        id: snapshots.v1.folder,
        name: REPO,
        hub: { repoId: REPO, revision: 'v1', commit: snapshots.v1.commit },
      });
      // The same snapshot asked for by its folder is the model already open.
      expect(await registry.open(snapshots.v1.folder)).toBe(view);
      expect(requests).toHaveLength(1);
      expect(registry.loadOf(view.id)).toMatchObject({ revision: 'v1' });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses what resolves nowhere before the worker is asked', async () => {
    const requests: RequestOf<'openModel'>[] = [];
    const registry = new ModelRegistry(standInEngine(requests), { provider: 'cpu', precision: 'auto' });
    await expect(registry.open(join(root, 'absent'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    expect(requests).toEqual([]);
  });
});
