import { describe, expect, it } from 'vitest';

import type { ModelView, RecentView } from '../../../main/common/api/index.ts';
import { useModelsStore } from './models.ts';
import { useRecentStore } from './recent.ts';
import { fakeBackend } from './testing.ts';

/** A call the test answers when it chooses, so a start-up list can be answered after a later call. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(calls: Record<string, (params: unknown) => unknown>) {
  const { counts, emit, use } = fakeBackend(calls);
  const [models, recent] = use(() => [useModelsStore(), useRecentStore()] as const);
  return { models, recent, emit, counts };
}

const demo = { id: 'demo', name: 'demo', isDemo: true } as ModelView;
const mine = { id: '/m/my-llava', name: 'my-llava', isDemo: false } as ModelView;
const recentWith = (paths: string[]): RecentView =>
  ({ models: paths.map((path) => ({ path })), datasets: [], notice: null }) as unknown as RecentView;

describe('start-up lists answered after the user acted', () => {
  it('a model opened while the first listModels is in flight stays listed and selected', async () => {
    const lists = [deferred<ModelView[]>(), deferred<ModelView[]>()];
    let listed = 0;
    const { models, counts } = setup({
      listModels: () => lists[listed++]!.promise,
      openModel: () => mine,
    });
    const refreshing = models.refresh();
    await models.open(mine.id);
    lists[0]!.resolve([demo]); // computed before the open: stale
    await new Promise((r) => setTimeout(r, 0));
    expect(counts.listModels).toBe(2);
    lists[1]!.resolve([demo, mine]);
    await refreshing;
    expect(models.models.map((m) => m.id)).toEqual(['demo', '/m/my-llava']);
    expect(models.selected?.id).toBe('/m/my-llava');
  });

  it('a list with no change in flight is applied at once', async () => {
    const { models, counts } = setup({ listModels: () => [demo] });
    await models.refresh();
    expect(counts.listModels).toBe(1);
    expect(models.selected?.id).toBe('demo');
  });

  it('a recent event during listRecent is not overwritten by the older answer', async () => {
    const lists = [deferred<RecentView>(), deferred<RecentView>()];
    let listed = 0;
    const { recent, emit } = setup({ listRecent: () => lists[listed++]!.promise });
    const refreshing = recent.refresh();
    emit({ type: 'recent', recent: recentWith(['/m/my-llava']) });
    lists[0]!.resolve(recentWith([]));
    await new Promise((r) => setTimeout(r, 0));
    expect(recent.models.map((m) => m.path)).toEqual(['/m/my-llava']);
    lists[1]!.resolve(recentWith(['/m/my-llava']));
    await refreshing;
    expect(recent.models.map((m) => m.path)).toEqual(['/m/my-llava']);
  });
});
