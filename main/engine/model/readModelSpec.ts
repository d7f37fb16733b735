/**
 * A model folder's architecture spec from its config.json alone (no tokenizer, no weights): what the
 * layers above the engine need to place image tokens or draw a report for a model that is not loaded.
 * Read as openModel reads it: the engine's regular-file reader (a FIFO there must not hang the
 * caller's thread), then the registry's parser for the config's model_type.
 */
import { join } from 'node:path';

import { architectureFor } from '../../../native-models/architectures/registry.ts';
import type { ModelSpec } from '../../../native-models/architectures/types.ts';
import { readJsonFile } from '../files/jsonFile.ts';

export async function readModelSpec(folder: string): Promise<ModelSpec> {
  const configPath = join(folder, 'config.json');
  const config = await readJsonFile(configPath);
  return architectureFor((config as { model_type?: unknown }).model_type, configPath).parse(
    config,
    'config.json',
  );
}
