/**
 * The second model the e2e compare story needs: the demo checkpoint with every weight tensor's values
 * shuffled (a seeded permutation per tensor). Same architecture, tokenizer and weight statistics, none
 * of the learned structure — an untrained control beside the trained demo model.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { DEMO_MODEL_DIR } from '../../main/engine/demo.ts';
import { hashSeed, mulberry32 } from '../../native-models/testing/random.ts';
import { rewriteCheckpoint } from '../../native-models/testing/rewrite.ts';

function shuffleInPlace(data: Float32Array, rand: () => number): void {
  for (let i = data.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = data[i];
    data[i] = data[j];
    data[j] = t;
  }
}

// Norm weights keep their values (a shuffled all-ones vector is unchanged anyway); everything else is shuffled.
export async function makeControlModel(target: string, seed = 1): Promise<void> {
  await rewriteCheckpoint(DEMO_MODEL_DIR, target, {
    tensors: (tensors) => {
      for (const [name, tensor] of tensors) shuffleInPlace(tensor.data, mulberry32(hashSeed(seed, name)));
    },
  });
  // The demo's evaluation, reference outputs and training log describe the trained weights, not these.
  for (const file of ['evaluation.json', 'reference_outputs.json', 'training_log.jsonl'])
    await rm(join(target, file), { force: true });
}
