/**
 * Recent models and datasets through the API, across a restart of the backend on the same workspace:
 * what an open and an import remember, what a removal forgets (a dataset also leaves the picker), and
 * what a damaged file turns into. The demo model is opened under another name (a link), so it counts
 * as a model of the user's.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../engine/demo.ts';
import { session } from './testing.ts';

let root: string;
let workspace: string;
let modelLink: string;
let datasetLink: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-recent-api-'));
  workspace = join(root, 'workspace');
  modelLink = join(root, 'my-llava');
  datasetLink = join(root, 'my-vqa');
  await symlink(DEMO_MODEL_DIR, modelLink);
  await symlink(DEMO_DATASET_DIR, datasetLink);
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('recent models and datasets', () => {
  it('are remembered on open and import, and survive a restart', async () => {
    const first = await session(workspace, { preloadDemo: false });
    try {
      expect(await first.ok('listRecent', {})).toEqual({ models: [], datasets: [], notice: null });
      const model = await first.ok('openModel', { folder: modelLink, provider: 'cpu' });
      const dataset = await first.ok('importDataset', { path: datasetLink, format: 'fusionscope-vqa' });
      const recent = await first.ok('listRecent', {});
      expect(recent.models).toEqual([{ path: model.id, name: 'my-llava', usedAt: expect.any(String) }]);
      expect(recent.datasets).toEqual([
        {
          path: dataset.id,
          name: dataset.name,
          usedAt: expect.any(String),
          options: { format: 'fusionscope-vqa' },
        },
      ]);
      // Every window hears of the change.
      const events = first.events.filter((e) => e.type === 'recent');
      expect(events.at(-1)).toEqual({ type: 'recent', recent });
    } finally {
      await first.backend.close();
    }

    const second = await session(workspace, { preloadDemo: false });
    try {
      const recent = await second.ok('listRecent', {});
      expect(recent.models.map((m) => m.path)).toEqual([modelLink]);
      expect(recent.datasets.map((d) => d.path)).toEqual([datasetLink]);
      expect(recent.notice).toBeNull();
    } finally {
      await second.backend.close();
    }
  });

  it('forget a model from the list, and a dataset from the list and the picker, for good', async () => {
    const app = await session(workspace, { preloadDemo: false });
    try {
      expect((await app.ok('listDatasets', {})).map((d) => d.id)).toContain(datasetLink);
      await app.ok('forgetRecent', { kind: 'model', path: modelLink });
      const view = await app.ok('forgetRecent', { kind: 'dataset', path: datasetLink });
      expect(view).toEqual({ models: [], datasets: [], notice: null });
      expect((await app.ok('listDatasets', {})).map((d) => d.id)).not.toContain(datasetLink);
      // Nothing else forgets: the demo dataset cannot be removed (it is imported at every start).
      const refused = await app.fails('forgetRecent', { kind: 'dataset', path: DEMO_DATASET_DIR });
      expect(refused).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/demo dataset/) });
    } finally {
      await app.backend.close();
    }
    const again = await session(workspace, { preloadDemo: false });
    try {
      expect(await again.ok('listRecent', {})).toEqual({ models: [], datasets: [], notice: null });
      expect((await again.ok('listDatasets', {})).map((d) => d.id)).not.toContain(datasetLink);
    } finally {
      await again.backend.close();
    }
  });

  it('start empty with a notice when the file is damaged; the app works on', async () => {
    await writeFile(join(workspace, 'app', 'recent.json'), '{"version": 1, "models": [');
    const app = await session(workspace, { preloadDemo: false });
    try {
      const view = await app.ok('listRecent', {});
      expect(view.models).toEqual([]);
      expect(view.notice).toMatch(
        /could not be read \(.*not valid JSON.*set aside as .*recent\.json\.damaged/,
      );
      const dataset = await app.ok('importDataset', { path: datasetLink });
      expect((await app.ok('listRecent', {})).datasets.map((d) => d.path)).toEqual([dataset.id]);
    } finally {
      await app.backend.close();
    }
  });

  it('inspectPath answers what a dropped path is, and refuses what it cannot judge', async () => {
    const app = await session(workspace, { preloadDemo: false });
    try {
      expect(await app.ok('inspectPath', { path: modelLink })).toMatchObject({
        kind: 'model',
        name: 'my-llava',
      });
      expect(await app.fails('inspectPath', { path: 'relative/folder' })).toMatchObject({
        code: 'BAD_ARGUMENT',
      });
      expect(await app.fails('inspectPath', { path: '' })).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await app.fails('forgetRecent', { kind: 'run', path: '/x' })).toMatchObject({
        code: 'BAD_REQUEST',
      });
    } finally {
      await app.backend.close();
    }
  });
});
