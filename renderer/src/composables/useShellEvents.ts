/**
 * Carries out what the desktop shell's menus send (shell.ts): switch view, open a model, import a
 * dataset, export the selected run's report. Browser mode never sends these; the same flows are
 * reachable from the views' own buttons.
 */
import { nextTick, onBeforeUnmount } from 'vue';
import { useRouter } from 'vue-router';

import type { AppCommand } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { useAppStore } from '../stores/app.ts';
import { useModelsStore } from '../stores/models.ts';
import { useRunsStore } from '../stores/runs.ts';

export function useShellEvents(): void {
  const transport = useTransport();
  const router = useRouter();
  const app = useAppStore();
  const models = useModelsStore();
  const runs = useRunsStore();

  async function focus(selector: string): Promise<void> {
    await nextTick();
    document.querySelector<HTMLInputElement>(selector)?.focus();
  }

  async function openModel(): Promise<void> {
    await router.push({ name: 'models' });
    const folder = transport.chooseFolder
      ? await transport.chooseFolder('Open a Hugging Face model folder')
      : null;
    if (folder) {
      const model = await models.open(folder);
      app.notify('info', `Opened ${model.name}`);
    } else await focus('[data-field=model-folder]');
  }

  async function exportReport(): Promise<void> {
    const modelId = models.selectedId;
    const runId =
      runs.selectedId ?? runs.runs.find((run) => run.status === 'done' && run.model.folder === modelId)?.id;
    if (runId === undefined) {
      app.notify('info', 'No finished run to report on yet: run a sweep on the model first.');
      return;
    }
    const saved = await runs.exportReport(runId);
    if (saved) app.notify('info', `Saved report ${saved}`);
  }

  async function run(command: AppCommand): Promise<void> {
    if (command === 'open-model') await openModel();
    else if (command === 'import-dataset') {
      await router.push({ name: 'datasets' });
      await focus('[data-field=dataset-path]');
    } else await exportReport();
  }

  const stop = transport.onEvent((event) => {
    if (event.type === 'navigate') void router.push({ name: event.view }).catch(app.reportError);
    else if (event.type === 'command') run(event.command).catch(app.reportError);
  });
  onBeforeUnmount(stop);
}
