import { describe, expect, it } from 'vitest';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { ImageTokenScheme, ModelSpec } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import { identityGeometry } from '../image/geometry.ts';
import type { ImageProcessorConfig, ProcessedImage } from '../image/index.ts';
import type { TensorIn, TensorOut } from '../runtime/session.ts';
import { IMAGE_TOKEN_SCHEMES, ImageTokens, schemeFor } from './index.ts';
import { qformerInputIds } from './queries.ts';

/** One config per kind: a kind added to ImageTokenScheme without a case here does not compile. */
const CONFIGS: { readonly [K in ImageTokenScheme['kind']]: Extract<ImageTokenScheme, { kind: K }> } = {
  'fixed-grid': { kind: 'fixed-grid', perImage: 5, rows: 2, cols: 2, leadingTokens: 1 },
  anyres: {
    kind: 'anyres',
    patchSize: 4,
    tileSize: 16,
    featureSelectStrategy: 'default',
    clsTokens: 1,
    imageNewline: true,
    pinpoints: [{ height: 32, width: 32 }],
  },
  'merged-patches': {
    kind: 'merged-patches',
    patchSize: 4,
    mergeSize: 2,
    temporalPatchSize: 2,
    visionHeads: 4,
  },
  queries: { kind: 'queries', count: 3, rows: 2, cols: 2, maxInstructionTokens: 4 },
};

const image: ProcessedImage = {
  pixelValues: new Float32Array(3 * 4 * 4),
  channels: 3,
  height: 4,
  width: 4,
  geometry: identityGeometry(4, 4),
};
const processor: ImageProcessorConfig = { type: 'CLIPImageProcessor', declaredType: 'x', source: 'test' };

/** A model as ImageTokens sees it: the spec's scheme, a vision session that records its calls. */
function bound(config: ImageTokenScheme, resources: unknown, outputs: () => Record<string, TensorOut>) {
  const calls: Record<string, TensorIn>[] = [];
  const spec = {
    imageTokens: config,
    modelType: 'test',
    imageSize: { height: 4, width: 4 },
  } as unknown as ModelSpec;
  const tokens = new ImageTokens(
    spec,
    processor,
    {
      run: async (inputs) => {
        calls.push(inputs);
        return outputs();
      },
    },
    resources,
  );
  return { tokens, calls };
}

describe('image-token scheme registry', () => {
  it('has one module per ImageTokenScheme kind, under that kind', () => {
    for (const [kind, config] of Object.entries(CONFIGS)) expect(schemeFor(config).kind).toBe(kind);
    expect([...IMAGE_TOKEN_SCHEMES].sort()).toEqual(Object.keys(CONFIGS).sort());
  });

  it('refuses an unknown kind by name, listing the known ones', () => {
    const error = (() => {
      try {
        schemeFor({ kind: 'pyramid' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FusionError);
    expect((error as FusionError).code).toBe('BAD_CONFIG');
    expect((error as FusionError).message).toMatch(
      /no image-token scheme "pyramid" \(known: fixed-grid, anyres, merged-patches, queries\)/,
    );
    expect(() => schemeFor({ kind: undefined })).toThrow(/no image-token scheme undefined/);
  });

  it('states the model view’s facts per scheme', () => {
    const facts = Object.fromEntries(Object.values(CONFIGS).map((c) => [c.kind, schemeFor(c).facts(c)]));
    expect(facts).toEqual({
      'fixed-grid': { imageTokensPerImage: 5, imageGrid: { rows: 2, cols: 2, leadingTokens: 1 } },
      anyres: { imageTokensPerImage: null, imageGrid: { rows: 4, cols: 4, leadingTokens: 0 } },
      'merged-patches': { imageTokensPerImage: null, imageGrid: { rows: 0, cols: 0, leadingTokens: 0 } },
      queries: { imageTokensPerImage: 3, imageGrid: { rows: 2, cols: 2, leadingTokens: 0 } },
    });
  });
});

describe('ImageTokens: a scheme bound to one model', () => {
  it('prepares a geometric scheme without the tower and runs it when features are asked for', async () => {
    const features = new Float32Array(10);
    const { tokens, calls } = bound(CONFIGS['fixed-grid'], undefined, () => ({
      [VISION_IO.features]: { data: features, dims: [1, 5, 2] },
    }));
    const prepared = await tokens.prepare('a prompt', [image, image]);
    expect(calls).toHaveLength(0);
    expect(prepared.layouts.map((l) => l.count)).toEqual([5, 5]);
    expect(prepared.state).toBeUndefined();
    expect(tokens.traceFields(prepared.state)).toEqual({});
    expect(await tokens.features(image, 1, prepared.state)).toBe(features);
    expect(Object.keys(calls[0])).toEqual([VISION_IO.pixels]);
  });

  it('prepares query tokens with their own tokenizer, one tower pass per image, and keeps the features', async () => {
    const tokenizer = { encode: (text: string) => [2, text.length, 3] };
    // 1 layer × 1 head × 3 queries × (CLS + 4 patches): query q attends to patch q only.
    const cross = Float32Array.from({ length: 15 }, (_, i) => (i % 5 === Math.floor(i / 5) + 1 ? 1 : 0));
    const { tokens, calls } = bound(CONFIGS.queries, tokenizer, () => ({
      [VISION_IO.features]: { data: Float32Array.from([calls.length, 0, 0]), dims: [1, 3, 1] },
      [VISION_IO.qformerCrossAttention]: { data: cross, dims: [1, 1, 3, 5] },
    }));
    const prepared = await tokens.prepare('red', [image, image]);
    expect(calls).toHaveLength(2);
    expect([...(calls[0][VISION_IO.qformerIds].data as BigInt64Array)]).toEqual([2n, 3n, 3n]);
    expect(qformerInputIds({ schemeState: prepared.state })).toEqual([2, 3, 3]);
    expect(tokens.traceFields(prepared.state)).toEqual({ qformerInputIds: [2, 3, 3] });
    const [layout] = prepared.layouts;
    expect(layout.count).toBe(3);
    expect([...layout.projection!]).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    // Features come from preparing: image 1's are the second pass's, and the tower does not run again.
    expect(Array.from(await tokens.features(image, 1, prepared.state))).toEqual([2, 0, 0]);
    expect(calls).toHaveLength(2);
  });

  it('refuses an instruction longer than the Q-Former’s positions, and a sample it did not prepare', async () => {
    const { tokens } = bound(CONFIGS.queries, { encode: () => [1, 2, 3, 4, 5] }, () => ({}));
    await expect(tokens.prepare('long', [image])).rejects.toThrow(
      /the instruction is 5 Q-Former tokens long; the Q-Former has positions for 4/,
    );
    expect(() => qformerInputIds({})).toThrow(/needs the Q-Former input ids/);
    expect(() => tokens.visionInputs(image, undefined)).toThrow(/needs the Q-Former input ids/);
  });
});
