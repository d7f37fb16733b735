/**
 * Dataset-scale experiments: one analysis of the registry (main/engine/analyses) over every item of a
 * dataset, recorded sample by sample in the workspace database so a killed run resumes where it
 * stopped. The single entry point the CLI and the app's engine worker call.
 */
import { FusionError } from '../../common/errors.ts';
import type { RunProgress } from '../../common/runs.ts';
import type { ExperimentBounds } from '../analyses/analysis.ts';
import { analysisOf } from '../analyses/registry.ts';
import {
  openDataset,
  type DatasetItem,
  type OpenDatasetOptions,
  type SkippedItem,
} from '../datasets/index.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { modelFingerprint } from '../store/fingerprint.ts';
import type { Workspace } from '../store/workspace.ts';
import type { QueueAddress } from '../queue/address.ts';
import type { QueuedRunOptions } from '../queue/coordinator.ts';
import { checkpointName } from '../queue/names.ts';
import { runProvenance } from './provenance.ts';
import { runOverDataset, type RunOptions, type RunOutcome } from './runner.ts';

/** An analysis (registry kind) and its settings as the caller gave them: parsed here, once. */
export interface ExperimentConfig {
  readonly kind: string;
  readonly config: unknown;
}

export interface ExperimentTarget {
  readonly model: LoadedModel;
  readonly workspace: Workspace;
  readonly dataset: string;
  readonly datasetOptions?: OpenDatasetOptions;
  /** Use only the first N items (quick looks; a different N is a different run). */
  readonly limit?: number;
  /**
   * Use only these items, in dataset order (e.g. one sample compared across models); applied before
   * `limit`. A different subset is a different run: the runner keys runs on the items' hash.
   */
  readonly itemIds?: readonly string[];
}

export interface ExperimentOptions {
  readonly resume?: number | 'auto';
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: RunProgress) => void;
  /** The same computation is already running elsewhere: this call follows it (runner.ts). */
  readonly onAttach?: RunOptions['onAttach'];
  /** Hand the items to queue workers instead of computing them here (main/engine/queue). */
  readonly queue?: QueueChoice;
}

export interface QueueChoice {
  readonly address: QueueAddress;
  /** Jobs in the queue at once (coordinator.ts DEFAULT_WINDOW). */
  readonly window?: number;
  readonly onWorkers?: QueuedRunOptions['onWorkers'];
}

export interface ExperimentOutcome extends RunOutcome {
  readonly skipped: readonly SkippedItem[];
  readonly items: readonly DatasetItem[];
}

/** The items a target selects: `itemIds` (dataset order kept), then the first `limit`. */
export function selectItems<I extends { readonly id: string }>(
  items: readonly I[],
  selection: { readonly itemIds?: readonly string[]; readonly limit?: number },
): readonly I[] {
  let chosen = items;
  if (selection.itemIds !== undefined) {
    const wanted = new Set(selection.itemIds);
    chosen = items.filter((item) => wanted.has(item.id));
    if (chosen.length < wanted.size) {
      const present = new Set(chosen.map((item) => item.id));
      const unknown = [...wanted].filter((id) => !present.has(id));
      const shown = unknown.slice(0, 10).map((id) => JSON.stringify(id));
      const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
      throw new FusionError(
        'BAD_ARGUMENT',
        `the dataset has no item ${shown.join(', ')}${more} (${unknown.length} unknown item id(s))`,
      );
    }
  }
  return selection.limit !== undefined ? chosen.slice(0, selection.limit) : chosen;
}

/** The bounds an analysis's settings are checked against, before any item runs. */
export function boundsOf(model: LoadedModel): ExperimentBounds {
  return {
    layers: model.spec.decoder.layers,
    heads: model.spec.decoder.heads,
    imageTokensPerImage: model.info().imageTokensPerImage,
    hiddenSize: model.spec.decoder.hiddenSize,
  };
}

/**
 * Runs one analysis over the target's items: its settings parsed (defaults filled) and completed (what
 * it reads off other runs), checked against the model, and the result — the run's identity — recorded
 * with the run's provenance.
 */
export async function runExperiment(
  target: ExperimentTarget,
  experiment: ExperimentConfig,
  options: ExperimentOptions = {},
): Promise<ExperimentOutcome> {
  const analysis = analysisOf(experiment.kind);
  const context = { workspace: target.workspace, model: target.model };
  const config = analysis.resolve(analysis.parseConfig(experiment.config), context);
  analysis.check(config, boundsOf(target.model));
  const dataset = await openDataset(target.dataset, target.datasetOptions);
  const items = selectItems(dataset.items, target);
  const provenance = await runProvenance(target.model, items, config);
  const queue = options.queue;
  const executor = queue
    ? // Loaded only for a queued run: the queue client is not part of every command's start-up.
      (await import('../queue/coordinator.ts')).queuedExecutor<DatasetItem>({
        address: queue.address,
        workspaceFile: target.workspace.file,
        model: {
          name: checkpointName(target.model.folder, target.model.hub),
          contentHash: provenance.modelHash,
          precision: target.model.precision,
        },
        kind: analysis.kind,
        config,
        companions: (item) => analysis.companions(item, config, dataset.items),
        window: queue.window,
        onWorkers: queue.onWorkers,
      })
    : undefined;
  const outcome = await runOverDataset(
    target.workspace,
    {
      kind: analysis.kind,
      model: {
        folder: target.model.folder,
        fingerprint: await modelFingerprint(target.model.folder, target.model.precision),
        info: target.model.info(),
      },
      dataset: { path: target.dataset, format: dataset.format, name: dataset.name, items },
      config,
      // A run recorded before a setting existed: read as today's parse of it would write it.
      normalizeConfig: (stored) => {
        try {
          return analysis.resolve(analysis.parseConfig(stored), context);
        } catch {
          return stored;
        }
      },
      provenance,
      // The whole dataset, not only the items selected: a donor image is another item of the dataset.
      perSample: (item, signal) =>
        analysis.perSample(target.model, item, config, signal, { items: dataset.items }),
      ...(executor ? { executor } : {}),
    },
    options,
  );
  return { ...outcome, skipped: dataset.skipped, items };
}
