/**
 * A model described from its config files alone (architecture spec, image processor), without its
 * weights: enough to place image tokens on an image and to draw a report, for runs whose model is not
 * loaded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { architectureFor } from '../../native-models/architectures/registry.ts';
import { FusionError } from '../common/errors.ts';
import { loadPreprocessorConfig } from '../engine/image/preprocess.ts';
import type { ModelInfo } from '../engine/model/openModel.ts';
import type { ReportModel } from '../engine/report/writeReport.ts';

export type DescribedModel = ReportModel;

/** `info` is the ModelInfo the run stored (what the model was when the run computed it). */
export async function describeModel(folder: string, info: unknown): Promise<DescribedModel> {
  const configPath = join(folder, 'config.json');
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new FusionError(
      missing ? 'MISSING_FILE' : 'BAD_CONFIG',
      missing ? `${configPath} is missing` : `${configPath} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const spec = architectureFor((config as { model_type?: unknown }).model_type, configPath).parse(
    config,
    'config.json',
  );
  const imageConfig = await loadPreprocessorConfig(folder);
  return { folder, spec, imageConfig, info: () => info as ModelInfo };
}
