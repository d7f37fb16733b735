import { createPinia, setActivePinia } from 'pinia';
import { createApp } from 'vue';
import { describe, expect, it } from 'vitest';

import type { ApiEvent, ModelView, RecentView, Transport } from '../../../main/common/api/index.ts';
import { provideTransport } from '../api/index.ts';
import { useModelsStore } from './models.ts';
import { useRecentStore } from './recent.ts';

/** A call the test answers when it chooses, so a start-up list can be answered after a later call. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(calls: Record<string, (params: unknown) => unknown>) {
  const listeners = new Set<(event: ApiEvent) => void>();
  const counts: Record<string, number> = {};
  const transport: Transport = {
    call: (async (method: string, params: unknown) => {
      counts[method] = (counts[method] ?? 0) + 1;
      const handler = calls[method];
      if (!handler) throw new Error(`unexpected call ${method}`);
      return handler(params);
    }) as Transport['call'],
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fileUrl: (path) => path,
    saveFile: async () => null,
  };
  const app = createApp({});
  provideTransport(app, transport);
  const pinia = createPinia();
  app.use(pinia);
  setActivePinia(pinia);
  const [models, recent] = app.runWithContext(() => [useModelsStore(), useRecentStore()] as const);
  const emit = (event: ApiEvent) => listeners.forEach((listener) => listener(event));
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
