/**
 * A model described from its config files alone (architecture spec, image processor), without its
 * weights: enough to place image tokens on an image and to draw a report, for runs whose model is not
 * loaded.
 */
import { loadPreprocessorConfig } from '../engine/image/preprocess.ts';
import type { ModelInfo } from '../engine/model/openModel.ts';
import { readModelSpec } from '../engine/model/readModelSpec.ts';
import type { ReportModel } from '../engine/report/writeReport.ts';

export type DescribedModel = ReportModel;

/** `info` is the ModelInfo the run stored (what the model was when the run computed it). */
export async function describeModel(folder: string, info: unknown): Promise<DescribedModel> {
  // The engine's reader: a regular file only (a FIFO there must not hang the backend's thread).
  const spec = await readModelSpec(folder);
  const imageConfig = await loadPreprocessorConfig(folder);
  return { folder, spec, imageConfig, info: () => info as ModelInfo };
}
