/** The analyses the engine offers (its registry), with each one's settings as form fields. */
import { defineStore } from 'pinia';
import { ref } from 'vue';

import type { AnalysisView, ConfigField } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';

export const useAnalysesStore = defineStore('analyses', () => {
  const transport = useTransport();
  const analyses = ref<AnalysisView[]>([]);

  async function refresh(): Promise<void> {
    analyses.value = await transport.call('listAnalyses', {});
  }

  /** The fields of `kind`, in schema order; `only` keeps those named (a view's own selection). */
  function fieldsOf(kind: string, only?: readonly string[]): ConfigField[] {
    const fields = analyses.value.find((a) => a.kind === kind)?.fields ?? [];
    return only ? fields.filter((f) => only.includes(f.name)) : [...fields];
  }

  return { analyses, refresh, fieldsOf };
});
