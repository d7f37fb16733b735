/**
 * Where a model folder keeps its checkpoint. Its own module (Node fs only) so the backend's main
 * thread can resolve model ids without loading ONNX Runtime, which only the engine worker needs.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A project folder that keeps its checkpoint in `model/` (as native-models/demo does, beside its
 * training script and data) may be named directly.
 */
export async function checkpointFolder(folder: string): Promise<string> {
  const nested = join(folder, 'model');
  const hasConfig = (dir: string) =>
    stat(join(dir, 'config.json')).then(
      () => true,
      () => false,
    );
  return !(await hasConfig(folder)) && (await hasConfig(nested)) ? nested : folder;
}
