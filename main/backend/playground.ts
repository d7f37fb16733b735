/**
 * askImage: the Playground's question about an uploaded image. The bytes come from the renderer and
 * are trusted for nothing: the schema bounded their size, here they must decode from base64 to the
 * same length and start like an image file, and only then does the engine worker decode them (its
 * decoder says which formats it reads) and answer.
 */
import type { ApiParams, PlaygroundResult } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import { detectFormat } from '../engine/image/format.ts';
import type { EngineClient } from './engineClient.ts';
import type { ModelRegistry } from './models.ts';

/** The bytes of a base64 string, or BAD_REQUEST when it is not base64 of a whole number of bytes. */
export function base64Bytes(base64: string, name: string): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  // Node's decoder skips what it cannot read; a round trip proves nothing was skipped.
  if (base64.length % 4 !== 0 || bytes.toString('base64') !== base64) {
    throw new FusionError('BAD_REQUEST', `askImage: ${JSON.stringify(name)} is not valid base64`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Refuses bytes that no image format starts with, before they reach the engine. */
export function checkImageBytes(bytes: Uint8Array, name: string): void {
  if (detectFormat(bytes) === null) {
    throw new FusionError(
      'BAD_IMAGE',
      `${JSON.stringify(name)} is not an image: its bytes start with no known image signature (PNG, JPEG, WebP, GIF, TIFF, BMP, AVIF…)`,
    );
  }
}

export async function askImage(
  engine: EngineClient,
  models: ModelRegistry,
  params: ApiParams<'askImage'>,
): Promise<PlaygroundResult> {
  const model = await models.get(params.modelId);
  const { name } = params.image;
  const image = base64Bytes(params.image.base64, name);
  checkImageBytes(image, name);
  // Mask layers beyond this model's decoder are refused by the engine's intervention plan, by name.
  const result = await engine.request({
    type: 'askImage',
    folder: model.id,
    ...models.loadOf(model.id),
    image,
    name,
    question: params.question,
    maxNewTokens: params.maxNewTokens,
    mask: params.mask,
  });
  return { modelId: model.id, ...result };
}
