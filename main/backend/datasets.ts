/**
 * Datasets the app knows: the ones imported (kept in AppState so they survive restarts) and the ones
 * runs in the workspace refer to. Opened datasets are cached with an item index, for pages, joins with
 * run samples and the folders images are served from.
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import type { DatasetView, ItemPage, ItemView } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import type { RunRow } from '../common/runs.ts';
import { DEMO_DATASET_DIR } from '../engine/demo.ts';
import {
  openDataset,
  skippedWhere,
  type DatasetItem,
  type OpenDatasetOptions,
  type OpenedDataset,
} from '../engine/datasets/index.ts';
import type { Workspace } from '../engine/store/workspace.ts';
import type { AppState } from './appState.ts';

/** Enough to read every reason of a typical import; the CLI's skipped-items file has them all. */
const SKIPPED_SHOWN = 1000;
const DEMO_ID = resolve(DEMO_DATASET_DIR);

export interface KnownDataset {
  readonly dataset: OpenedDataset;
  readonly view: DatasetView;
  readonly byId: ReadonlyMap<string, DatasetItem>;
  /** The dataset folder and every folder its images live in. */
  readonly folders: readonly string[];
}

export function itemView(item: DatasetItem): ItemView {
  return {
    id: item.id,
    question: item.question,
    answers: item.answers,
    family: item.family,
    metric: item.metric,
    boxes: item.boxes,
    imagePath: item.imagePath,
  };
}

function datasetView(id: string, dataset: OpenedDataset): DatasetView {
  const families: Record<string, number> = {};
  for (const item of dataset.items) families[item.family] = (families[item.family] ?? 0) + 1;
  return {
    id,
    path: id,
    name: dataset.name,
    format: dataset.format,
    itemCount: dataset.items.length,
    families,
    skippedCount: dataset.skipped.length,
    skipped: dataset.skipped
      .slice(0, SKIPPED_SHOWN)
      .map((s) => ({ where: skippedWhere(s), reason: s.reason })),
    isDemo: id === DEMO_ID,
  };
}

async function open(id: string, options: OpenDatasetOptions): Promise<KnownDataset> {
  const dataset = await openDataset(id, options);
  const folders = new Set([dataset.folder, ...dataset.items.map((item) => dirname(item.imagePath))]);
  return {
    dataset,
    view: datasetView(id, dataset),
    byId: new Map(dataset.items.map((item) => [item.id, item])),
    folders: [...folders],
  };
}

export class DatasetRegistry {
  /** Opened (or opening) datasets by id; a failed open is forgotten so a retry reads the files again. */
  private readonly opened = new Map<string, Promise<KnownDataset>>();
  /** Options each dataset is read with: as imported, else as a run recorded it. */
  private readonly options = new Map<string, OpenDatasetOptions>();
  private readonly imported = new Set<string>();

  constructor(
    private readonly state: AppState,
    private readonly workspace: Workspace,
  ) {
    for (const saved of state.datasets()) {
      this.options.set(saved.path, saved.options);
      this.imported.add(saved.path);
    }
  }

  async import(params: {
    path: string;
    format?: string;
    answers?: string;
    images?: string;
  }): Promise<DatasetView> {
    const id = resolve(params.path);
    const options: OpenDatasetOptions = {
      ...(params.format ? { format: params.format as OpenDatasetOptions['format'] } : {}),
      ...(params.answers ? { answers: resolve(params.answers) } : {}),
      ...(params.images ? { images: resolve(params.images) } : {}),
    };
    this.opened.delete(id); // an import reads the files again (they may have changed)
    this.options.set(id, options);
    const known = await this.load(id);
    this.imported.add(id);
    this.state.saveDataset({ path: id, options });
    return known.view;
  }

  /**
   * Leaves the imported list (the user removed it from the recent datasets). A dataset runs refer to
   * stays readable for them, and listed because of them.
   */
  forget(id: string): void {
    this.imported.delete(id);
    this.state.forgetDataset(id);
    if (!this.referencedByRun(id)) {
      this.options.delete(id);
      this.opened.delete(id);
    }
  }

  /** Imported datasets, then those only runs refer to (one that can no longer be read shows why). */
  async list(): Promise<DatasetView[]> {
    const ids = [...this.imported];
    for (const run of this.workspace.listRuns()) {
      if (!isAbsolute(run.dataset.path) || ids.includes(run.dataset.path)) continue;
      this.rememberFormat(run);
      ids.push(run.dataset.path);
    }
    return Promise.all(
      ids.map((id) =>
        this.load(id).then(
          (known) => known.view,
          (error: unknown): DatasetView => ({
            id,
            path: id,
            name: id,
            format: this.options.get(id)?.format ?? 'unknown',
            itemCount: 0,
            families: {},
            skippedCount: 0,
            skipped: [{ where: id, reason: `cannot be read: ${(error as Error).message}` }],
            isDemo: id === DEMO_ID,
          }),
        ),
      ),
    );
  }

  /** A dataset the app imported or a run refers to; NOT_FOUND otherwise. */
  async get(id: string): Promise<KnownDataset> {
    if (!this.imported.has(id) && !this.options.has(id) && !this.referencedByRun(id)) {
      throw new FusionError('NOT_FOUND', `no dataset ${JSON.stringify(id)}: import it first`);
    }
    return this.load(id);
  }

  /** The dataset a run was computed on, read with the options it was imported with. */
  forRun(run: RunRow): Promise<KnownDataset> {
    this.rememberFormat(run);
    return this.load(run.dataset.path);
  }

  /** A dataset known only from a run is read in the format the run recorded. */
  private rememberFormat(run: RunRow): void {
    if (!this.options.has(run.dataset.path)) {
      this.options.set(run.dataset.path, { format: run.dataset.format as OpenDatasetOptions['format'] });
    }
  }

  optionsOf(id: string): OpenDatasetOptions {
    return this.options.get(id) ?? {};
  }

  async items(id: string, offset: number, limit: number, family?: string): Promise<ItemPage> {
    const { dataset } = await this.get(id);
    const items =
      family === undefined ? dataset.items : dataset.items.filter((item) => item.family === family);
    return { total: items.length, offset, items: items.slice(offset, offset + limit).map(itemView) };
  }

  /** Folders of every dataset opened so far (served to the renderer). */
  async folders(): Promise<string[]> {
    const settled = await Promise.allSettled(this.opened.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value.folders : []));
  }

  private referencedByRun(id: string): boolean {
    return this.workspace.listRuns().some((run) => run.dataset.path === id);
  }

  private load(id: string): Promise<KnownDataset> {
    let pending = this.opened.get(id);
    if (!pending) {
      const options = this.options.get(id) ?? {};
      pending = open(id, options);
      this.opened.set(id, pending);
      pending.catch(() => this.opened.delete(id));
    }
    return pending;
  }
}
