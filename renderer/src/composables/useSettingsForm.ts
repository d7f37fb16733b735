/**
 * A settings form for one analysis: its fields (from the engine's schema, via the analyses store), a
 * draft at their defaults (plus the view's own starting values), and the draft as settings. `kind` may
 * change (a panel that runs any analysis): the draft follows, keeping what was typed in shared fields.
 */
import { computed, ref, toValue, watch, type MaybeRefOrGetter } from 'vue';

import { draftFor, settingsFrom, type SettingsDraft } from '../lib/settings.ts';
import { useAnalysesStore } from '../stores/analyses.ts';

export function useSettingsForm(
  kind: MaybeRefOrGetter<string>,
  only?: readonly string[],
  overrides: Record<string, unknown> = {},
) {
  const analyses = useAnalysesStore();
  const fields = computed(() => analyses.fieldsOf(toValue(kind), only));
  const draft = ref<SettingsDraft>({});
  // The fields arrive with listAnalyses (and change with the kind): the draft starts at their defaults.
  watch(
    fields,
    (list) => {
      const fresh = draftFor(list, overrides);
      draft.value = Object.fromEntries(
        list.map((f) => [f.name, f.name in draft.value ? draft.value[f.name] : fresh[f.name]]),
      );
    },
    { immediate: true },
  );
  return { fields, draft, read: () => settingsFrom(fields.value, draft.value) };
}
