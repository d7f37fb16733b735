/** App-wide state: backend facts (workspace, mode) and the notices shown to the user. */
import { defineStore } from 'pinia';
import { ref } from 'vue';

import type { AppInfo } from '../../../main/common/api/index.ts';
import { ApiCallError, useTransport } from '../api/index.ts';
import { JobFailedError } from './jobError.ts';

export interface Notice {
  readonly id: number;
  readonly kind: 'error' | 'info';
  readonly text: string;
}

/** Info notices fade on their own; errors stay until dismissed. */
const INFO_LIFETIME_MS = 6000;

export function errorText(error: unknown): string {
  if (error instanceof ApiCallError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export const useAppStore = defineStore('app', () => {
  const transport = useTransport();
  const info = ref<AppInfo | null>(null);
  const notices = ref<Notice[]>([]);
  let nextId = 1;

  function dismiss(id: number): void {
    notices.value = notices.value.filter((notice) => notice.id !== id);
  }

  function notify(kind: Notice['kind'], text: string): void {
    const id = nextId++;
    notices.value = [...notices.value, { id, kind, text }];
    if (kind === 'info') setTimeout(() => dismiss(id), INFO_LIFETIME_MS);
  }

  function reportError(error: unknown): void {
    if (error instanceof JobFailedError) return; // the jobs store showed it when the job ended
    notify('error', errorText(error));
  }

  async function load(): Promise<void> {
    try {
      info.value = await transport.call('appInfo', {});
      for (const problem of info.value.startupProblems) notify('error', problem);
    } catch (error) {
      reportError(error);
    }
  }

  return { info, notices, notify, reportError, dismiss, load };
});
