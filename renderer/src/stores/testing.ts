/**
 * Stores over a fake transport, for the stores' tests: `calls` answers API calls (an unexpected one
 * throws), `emit` plays backend events, `counts` says how often each method was called, and `use`
 * creates stores inside the app, as components would.
 */
import { createPinia, setActivePinia } from 'pinia';
import { createApp } from 'vue';

import type { ApiEvent, Transport } from '../../../main/common/api/index.ts';
import { provideTransport } from '../api/index.ts';

export function fakeBackend(calls: Record<string, (params: unknown) => unknown> = {}) {
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
  return {
    counts,
    emit: (event: ApiEvent) => listeners.forEach((listener) => listener(event)),
    use: <T>(create: () => T): T => app.runWithContext(create),
  };
}
