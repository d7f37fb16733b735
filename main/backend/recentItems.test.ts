import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RECENT_LIMIT, RecentItems } from './recentItems.ts';

let dir: string;
let file: string;
/** A clock the test moves: one minute per reading, from a fixed start. */
let minutes: number;
const clock = () => new Date(Date.UTC(2025, 0, 1, 12, minutes++));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-recent-'));
  file = join(dir, 'recent.json');
  minutes = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RecentItems', () => {
  it('starts empty without a file, and says nothing', async () => {
    const recent = await RecentItems.open(file, clock);
    expect(recent.view()).toEqual({ models: [], datasets: [], notice: null });
    expect(existsSync(file)).toBe(false);
  });

  it('keeps each list newest first, once per path, at most RECENT_LIMIT long', async () => {
    const recent = await RecentItems.open(file, clock);
    for (let i = 0; i < RECENT_LIMIT + 3; i++) recent.touch('model', { path: `/m/${i}`, name: `m${i}` });
    recent.touch('model', { path: '/m/5', name: 'm5 again' });
    const { models, datasets } = recent.view();
    expect(datasets).toEqual([]);
    expect(models).toHaveLength(RECENT_LIMIT);
    expect(models[0]).toEqual({ path: '/m/5', name: 'm5 again', usedAt: '2025-01-01T12:13:00.000Z' });
    // Newest first: 5, then 12 down to 4 (the oldest, 0 to 2, fell off; 5 moved to the front once).
    expect(models.map((m) => m.path)).toEqual([
      '/m/5',
      ...[12, 11, 10, 9, 8, 7, 6, 4, 3].map((i) => `/m/${i}`),
    ]);
  });

  it('survives a restart: the same lists, with dataset options, read back from the file', async () => {
    const first = await RecentItems.open(file, clock);
    first.touch('dataset', {
      path: '/d/pope.json',
      name: 'pope',
      options: { format: 'pope', images: '/d/img' },
    });
    first.touch('model', { path: '/m/llava', name: 'llava' });
    const again = await RecentItems.open(file, clock);
    expect(again.view()).toEqual(first.view());
    expect(again.view().datasets[0].options).toEqual({ format: 'pope', images: '/d/img' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('forgets one path from one list, and the file says so', async () => {
    const recent = await RecentItems.open(file, clock);
    recent.touch('model', { path: '/same', name: 'a model' });
    recent.touch('dataset', { path: '/same', name: 'a dataset' });
    expect(recent.forget('model', '/same')).toBe(true);
    expect(recent.forget('model', '/same')).toBe(false);
    const again = await RecentItems.open(file, clock);
    expect(again.view().models).toEqual([]);
    expect(again.view().datasets.map((d) => d.name)).toEqual(['a dataset']);
  });

  it.each([
    ['not JSON', '{"version": 1,\n "models": ]}', /not valid JSON \(at line 2, column 12\)/],
    ['a wrong version', '{"version": 2, "models": [], "datasets": []}', /version: /],
    ['a bad entry', '{"version": 1, "models": [{"path": 3}], "datasets": []}', /models\.0\.path: /],
  ])('sets a file holding %s aside, starts empty and says why', async (_what, text, reason) => {
    writeFileSync(file, text);
    const recent = await RecentItems.open(file, clock);
    const { models, datasets, notice } = recent.view();
    expect([models, datasets]).toEqual([[], []]);
    expect(notice).toMatch(reason);
    expect(notice).toContain('recent.json.damaged');
    expect(readFileSync(`${file}.damaged`, 'utf8')).toBe(text);
    // The next write starts a good file; the next start reads it without a notice.
    recent.touch('model', { path: '/m', name: 'm' });
    expect((await RecentItems.open(file, clock)).view()).toMatchObject({
      notice: null,
      models: [{ path: '/m' }],
    });
  });

  it('never quotes the damaged file’s text in the notice', async () => {
    writeFileSync(file, '{"version": 1, "models": [], "datasets": [] SECRET-TOKEN-abc');
    const { notice } = (await RecentItems.open(file, clock)).view();
    expect(notice).not.toContain('SECRET');
  });

  it('keeps the lists in memory, with a notice, where the file cannot be written', async () => {
    // A regular file where the folder should be: no write succeeds there, even as root.
    writeFileSync(join(dir, 'not-a-folder'), '');
    const recent = await RecentItems.open(join(dir, 'not-a-folder', 'recent.json'), clock);
    const view = recent.touch('model', { path: '/m', name: 'm' });
    expect(view.models.map((m) => m.path)).toEqual(['/m']);
    expect(view.notice).toMatch(/could not be saved \(ENOTDIR/);
  });
});
