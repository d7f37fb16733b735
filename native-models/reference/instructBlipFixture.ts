/**
 * The InstructBLIP PyTorch fixture: a tiny checkpoint whose weights torch_instructblip.py drew itself
 * (BF16, seed 808; the TypeScript writer's PRNG never made them), committed as a Hugging Face folder
 * (fixtures/instructblip-torch-model/), and the oracle's outputs for one image, prompt and several
 * intervention runs (fixtures/instructblip-torch.json). Written by make_instructblip_fixture.ts;
 * read by instructblip.test.ts (TS reference) and the engine's instructBlipFidelity.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { TinyInstructBlipOptions } from '../testing/tinyInstructBlip.ts';
import type { ReferenceIntervention } from './llava.ts';
import type { TorchRun } from './torchFixture.ts';

export const INSTRUCTBLIP_FIXTURE_MODEL = fileURLToPath(
  new URL('./fixtures/instructblip-torch-model/', import.meta.url),
);
export const INSTRUCTBLIP_FIXTURE_FILE = fileURLToPath(
  new URL('./fixtures/instructblip-torch.json', import.meta.url),
);

/** The layout the fixture's folder was written with before the oracle replaced its weights. */
export const INSTRUCTBLIP_FIXTURE_OPTIONS: TinyInstructBlipOptions = {
  seed: 808,
  dtype: 'BF16',
  queries: 6,
  vision: { imageSize: 24, patchSize: 6, hiddenSize: 24, heads: 3, layers: 2, intermediateSize: 48 },
  qformer: { hiddenSize: 24, heads: 2, layers: 3, crossAttentionFrequency: 2, intermediateSize: 40 },
  text: { hiddenSize: 32, heads: 4, kvHeads: 1, layers: 3, intermediateSize: 64, rmsNormEps: 1e-6 },
};

export const INSTRUCTBLIP_FIXTURE_SEED = 808;

export const INSTRUCTBLIP_FIXTURE_PROMPT = 'What is the colour of the square left of the circle?';

/** The fixture's RGB image; not the processor's size nor square, so PIL's bicubic resize is in the oracle. */
export const INSTRUCTBLIP_FIXTURE_IMAGE_SIZE = { width: 37, height: 29 } as const;

/** A deterministic RGB image with edges and gradients, as RGB bytes. */
export function fixtureImage(
  width: number = INSTRUCTBLIP_FIXTURE_IMAGE_SIZE.width,
  height: number = INSTRUCTBLIP_FIXTURE_IMAGE_SIZE.height,
): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 37 + y * 11) % 256;
      data[i + 1] = (x * y * 5 + 60) % 256;
      data[i + 2] = x < width / 2 ? 230 - y * 4 : 20 + y * 7;
    }
  }
  return { width, height, data };
}

export const INSTRUCTBLIP_FIXTURE_RUNS: ReadonlyArray<{
  name: string;
  interventions: ReferenceIntervention[];
}> = [
  { name: 'none', interventions: [] },
  { name: 'knockout-l1', interventions: [{ mode: 'knockout', layers: [1] }] },
  { name: 'knockout-l0,2-t0,3', interventions: [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3] }] },
  { name: 'hidden-0-l1', interventions: [{ mode: 'hidden', layers: [1], scale: 0 }] },
  {
    name: 'hidden-0.1-l0,2-t1,2,5',
    interventions: [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2, 5], scale: 0.1 }],
  },
];

/** A run as torch_llava.py's fixtures store it; the image tokens are the query rows. */
export type InstructBlipFixtureRun = TorchRun;

export interface InstructBlipFixture {
  about: string;
  prompt: string;
  inputIds: number[];
  qformerInputIds: number[];
  imageTokenSpan: [number, number];
  /** BlipImageProcessor's output for fixtureImage() (PIL bicubic resize to 24 × 24), CHW. */
  pixelValues: number[];
  /** [query][text hidden]: language_projection of the Q-Former's query rows. */
  imageFeatures: number[][];
  /** [cross-attention layer][head][query][1 + patches]. */
  crossAttention: number[][][][];
  runs: InstructBlipFixtureRun[];
}

export function readInstructBlipFixture(): InstructBlipFixture {
  return JSON.parse(readFileSync(INSTRUCTBLIP_FIXTURE_FILE, 'utf8')) as InstructBlipFixture;
}
