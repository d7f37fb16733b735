/**
 * Where a model folder keeps its checkpoint. Its own module (Node fs only) so the backend's main
 * thread can resolve model ids without loading ONNX Runtime, which only the engine worker needs.
 */
import { join } from 'node:path';

import { somethingAt } from '../files/regularFile.ts';

/**
 * A project folder that keeps its checkpoint in `model/` (as native-models/demo does, beside its
 * training script and data) may be named directly. Anything named config.json at the top (even a
 * folder or a broken link) keeps the folder as named, so opening it reports what is wrong there
 * instead of quietly reading another checkpoint.
 */
export async function checkpointFolder(folder: string): Promise<string> {
  const nested = join(folder, 'model');
  const hasConfig = (dir: string) => somethingAt(join(dir, 'config.json'));
  return !(await hasConfig(folder)) && (await hasConfig(nested)) ? nested : folder;
}
