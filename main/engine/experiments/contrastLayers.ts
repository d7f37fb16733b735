/**
 * Contrastive attention's candidate and review layers when the caller leaves them out: read off the
 * newest finished sweep of the same model (paper §3 takes i* among the fusion layers and masks at the
 * review layer). Shared by the CLI and the app's backend.
 */
import { FusionError } from '../../common/errors.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { Workspace } from '../store/workspace.ts';
import { layersFromSweep, summarizeSweep } from './summaries.ts';

export interface ContrastLayers {
  readonly candidateLayers: number[];
  readonly reviewLayer: number;
}

/** Explicit layers win; the missing ones come from the newest finished sweep of `model.folder`. */
export function contrastLayers(
  workspace: Workspace,
  model: Pick<LoadedModel, 'folder' | 'spec'>,
  explicit: { readonly candidateLayers?: readonly number[]; readonly reviewLayer?: number } = {},
): ContrastLayers {
  const { candidateLayers, reviewLayer } = explicit;
  if (candidateLayers && reviewLayer !== undefined)
    return { candidateLayers: [...candidateLayers], reviewLayer };
  const sweep = workspace
    .listRuns({ kind: 'sweep', status: 'done' })
    .find((run) => run.model.folder === model.folder);
  if (!sweep) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `no finished sweep of ${model.folder} in the workspace: run a sweep first, or give the candidate and review layers`,
    );
  }
  const fromSweep = layersFromSweep(summarizeSweep(workspace, sweep.id).labels, model.spec.decoder.layers);
  return {
    candidateLayers: candidateLayers ? [...candidateLayers] : fromSweep.candidateLayers,
    reviewLayer: reviewLayer ?? fromSweep.reviewLayer,
  };
}
