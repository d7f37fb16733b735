/**
 * Drops on the window: a model folder opens in Models, a dataset is imported in Datasets, an image
 * goes to the Playground. What a path holds is the backend's call (inspectPath), never the name's or
 * the browser's type guess (lib/drops.ts plans; this carries out). A drop a view handles itself (the
 * Playground's image zone stops it) never reaches the window; text dropped into a field stays text.
 */
import { onBeforeUnmount, ref, type Ref } from 'vue';
import { useRouter } from 'vue-router';

import type { PathKind } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { DROP_HINT, planDrop, type DroppedEntry } from '../lib/drops.ts';
import { useAppStore } from '../stores/app.ts';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useModelsStore } from '../stores/models.ts';
import { usePlaygroundStore } from '../stores/playground.ts';

const DROPPABLE = new Set(['Files', 'text/uri-list', 'text/plain']);

function carriesSomething(event: DragEvent): boolean {
  return [...(event.dataTransfer?.types ?? [])].some((type) => DROPPABLE.has(type));
}

function isEditable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || target.matches('input, textarea'));
}

export function useFileDrop(): { dragging: Ref<boolean> } {
  const transport = useTransport();
  const router = useRouter();
  const app = useAppStore();
  const models = useModelsStore();
  const datasets = useDatasetsStore();
  const playground = usePlaygroundStore();
  const dragging = ref(false);
  let depth = 0; // dragenter/dragleave fire for every element crossed

  async function showImage(file: File): Promise<void> {
    await router.push({ name: 'playground' });
    await playground.setImage(file);
  }

  async function act(found: PathKind, file: File | undefined): Promise<void> {
    if (found.kind === 'model') {
      await router.push({ name: 'models' });
      const model = await models.open(found.path);
      app.notify('info', `Opened ${model.name} (dropped ${found.name}: ${found.why})`);
    } else if (found.kind === 'dataset') {
      await router.push({ name: 'datasets' });
      const dataset = await datasets.importDataset({ path: found.path });
      app.notify('info', `Imported ${dataset.name}: ${dataset.itemCount} items`);
    } else if (file) await showImage(file);
    else app.notify('info', `${found.name} is an image: open it in the Playground with “Choose image…”.`);
  }

  async function carryOut(entries: readonly DroppedEntry[], files: readonly File[], text: string | null) {
    const plan = planDrop(entries, text);
    if (plan.kind === 'notice') return app.notify('info', plan.text);
    if (plan.kind === 'image') {
      if (plan.ignored) app.notify('info', `Only the first image, ${files[plan.index].name}, was taken.`);
      return showImage(files[plan.index]);
    }
    // One after another: a model and its dataset dropped together open in that order.
    for (const path of plan.paths) {
      try {
        const found = await transport.call('inspectPath', { path });
        await act(found, files[entries.findIndex((entry) => entry.path === path)]);
      } catch (error) {
        app.reportError(error);
      }
    }
  }

  function onDragEnter(event: DragEvent): void {
    if (!carriesSomething(event)) return;
    depth++;
    dragging.value = true;
  }

  function onDragLeave(): void {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dragging.value = false;
  }

  function onDragOver(event: DragEvent): void {
    if (!carriesSomething(event) || event.defaultPrevented) return;
    event.preventDefault(); // allows the drop (the default would open the file in the window)
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  }

  /** Capture phase: ends the overlay even when a view's own drop zone stops the drop. */
  function onDropAnywhere(): void {
    depth = 0;
    dragging.value = false;
  }

  function onDrop(event: DragEvent): void {
    const data = event.dataTransfer;
    if (!data || event.defaultPrevented) return;
    const files = [...data.files];
    if (!files.length && isEditable(event.target)) return; // text dragged into a field
    event.preventDefault();
    // Everything is read now: the drop's data is gone once this handler returns.
    const items = [...data.items].filter((item) => item.kind === 'file');
    const entries: DroppedEntry[] = files.map((file, i) => ({
      name: file.name,
      type: file.type,
      path: transport.pathForFile?.(file) ?? null,
      isFolder: items[i]?.webkitGetAsEntry()?.isDirectory ?? false,
    }));
    const text = data.getData('text/uri-list') || data.getData('text/plain') || null;
    if (!entries.length && text === null) return app.notify('info', DROP_HINT);
    carryOut(entries, files, text).catch(app.reportError);
  }

  const listeners = [
    ['dragenter', onDragEnter],
    ['dragleave', onDragLeave],
    ['dragover', onDragOver],
    ['drop', onDrop],
  ] as const;
  for (const [name, listener] of listeners) window.addEventListener(name, listener);
  window.addEventListener('drop', onDropAnywhere, { capture: true });
  onBeforeUnmount(() => {
    for (const [name, listener] of listeners) window.removeEventListener(name, listener);
    window.removeEventListener('drop', onDropAnywhere, { capture: true });
  });
  return { dragging };
}
