/**
 * Dataset-scale experiments: one of the analyses (sweep, evolve, contrast) over every item of a
 * dataset, recorded sample by sample in the workspace database so a killed run resumes where it
 * stopped. This is the single entry point the CLI (and later the app) calls.
 */
import { FusionError } from '../../common/errors.ts';
import type { RunKind, RunProgress, SampleOutput } from '../../common/runs.ts';
import {
  openDataset,
  type DatasetItem,
  type OpenDatasetOptions,
  type SkippedItem,
} from '../datasets/index.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { modelFingerprint } from '../store/fingerprint.ts';
import type { Workspace } from '../store/workspace.ts';
import { checkContrastConfig, type ContrastConfig } from './contrast.ts';
import type { EvolutionConfig } from './evolution.ts';
import { contrastItem, evalItem, evolveItem, sweepItem, type PromptOptions } from './kinds.ts';
import { runOverDataset, type RunOptions, type RunOutcome } from './runner.ts';
import { sweepWindows, type SweepConfig } from './sweep.ts';

export type ExperimentConfig =
  | { readonly kind: 'sweep'; readonly config: SweepConfig & PromptOptions }
  | { readonly kind: 'evolve'; readonly config: EvolutionConfig & PromptOptions }
  | { readonly kind: 'contrast'; readonly config: ContrastConfig & PromptOptions }
  | { readonly kind: 'eval'; readonly config: PromptOptions & { readonly maxNewTokens?: number } };

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
}

export interface ExperimentOutcome extends RunOutcome {
  readonly skipped: readonly SkippedItem[];
  readonly items: readonly DatasetItem[];
}

function perSampleFor(
  model: LoadedModel,
  experiment: ExperimentConfig,
): (item: DatasetItem, signal: AbortSignal) => Promise<SampleOutput<unknown>> {
  switch (experiment.kind) {
    case 'sweep':
      return (item: DatasetItem, signal: AbortSignal) => sweepItem(model, item, experiment.config, signal);
    case 'evolve':
      return (item: DatasetItem) => evolveItem(model, item, experiment.config);
    case 'contrast':
      return (item: DatasetItem) => contrastItem(model, item, experiment.config);
    case 'eval':
      return (item: DatasetItem) => evalItem(model, item, experiment.config);
  }
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

/** The model facts a config is checked against before any item runs. */
export interface ExperimentBounds {
  readonly layers: number;
  /** null: the count varies per image, so tokens are checked against each sample's span instead. */
  readonly imageTokensPerImage: number | null;
}

/**
 * Rejects a config that would fail on every item (layers or tokens outside the model), so a bad request
 * is one clear BAD_ARGUMENT instead of a run whose every sample is an error. Contrast layers left out
 * (read off a sweep later) are not checked here.
 */
export function checkExperimentConfig(experiment: ExperimentConfig, bounds: ExperimentBounds): void {
  const { layers, imageTokensPerImage } = bounds;
  if (experiment.kind === 'sweep') {
    sweepWindows(layers, experiment.config.window ?? 1);
    const limit = imageTokensPerImage ?? Number.MAX_SAFE_INTEGER;
    const outside = (experiment.config.tokens ?? []).filter(
      (t) => !Number.isInteger(t) || t < 0 || t >= limit,
    );
    if (outside.length > 0) {
      throw new FusionError(
        'BAD_ARGUMENT',
        imageTokensPerImage === null
          ? `sweep tokens must be non-negative integer image token indices, got ${outside.slice(0, 5).join(', ')}`
          : `sweep tokens must be image token indices within 0..${imageTokensPerImage - 1}, got ${outside.slice(0, 5).join(', ')}`,
      );
    }
  }
  if (experiment.kind === 'contrast') checkContrastConfig(experiment.config, layers);
}

export async function runExperiment(
  target: ExperimentTarget,
  experiment: ExperimentConfig,
  options: ExperimentOptions = {},
): Promise<ExperimentOutcome> {
  checkExperimentConfig(experiment, {
    layers: target.model.spec.decoder.layers,
    imageTokensPerImage: target.model.info().imageTokensPerImage,
  });
  const dataset = await openDataset(target.dataset, target.datasetOptions);
  const items = selectItems(dataset.items, target);
  const kind: RunKind = experiment.kind;
  const outcome = await runOverDataset(
    target.workspace,
    {
      kind,
      model: {
        folder: target.model.folder,
        fingerprint: await modelFingerprint(target.model.folder, target.model.precision),
        info: target.model.info(),
      },
      dataset: { path: target.dataset, format: dataset.format, name: dataset.name, items },
      config: experiment.config,
      perSample: perSampleFor(target.model, experiment),
    },
    options,
  );
  return { ...outcome, skipped: dataset.skipped, items };
}
