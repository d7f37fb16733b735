/**
 * Donor images for the sweep's resample and mean ablations. Zeroing the image tokens' residual stream
 * (paper §1) leaves the distribution the later layers were trained on, so a drop may come from the
 * shock rather than from the image's content going missing; replacing the states by another image's
 * at the same layer and positions removes the content and keeps the states on the distribution.
 *
 * A donor is run with the recipient's own prompt: the image tokens' states depend on what precedes
 * them (the prompt's prefix; the question too where the image comes after it) and on nothing after
 * them, so only rows up to the end of the image span are computed.
 */
import { FusionError } from '../../common/errors.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { resizeImage } from '../image/index.ts';
import { runDecoder } from '../inference/decoder.ts';
import {
  decoderContext,
  embedSample,
  planFor,
  prepareSample,
  type ImageSource,
  type PreparedSample,
} from '../inference/forward.ts';
import { rowPositions } from '../inference/positions.ts';
import type { LoadedModel } from '../model/openModel.ts';

/**
 * The `count` items whose images stand in for `item`'s: the next items in dataset order, wrapping
 * around, whose image differs from the recipient's and from the donors already chosen (a dataset often
 * asks several questions of one image). Deterministic, so a resumed run picks the same donors.
 */
export function chooseDonors(items: readonly DatasetItem[], item: DatasetItem, count: number): DatasetItem[] {
  if (count === 0) return [];
  const at = items.findIndex((other) => other.id === item.id);
  if (at < 0) throw new FusionError('BAD_ARGUMENT', `item '${item.id}' is not in the dataset it is run on`);
  const seen = new Set([item.imagePath]);
  const donors: DatasetItem[] = [];
  for (let step = 1; step < items.length && donors.length < count; step++) {
    const other = items[(at + step) % items.length];
    if (seen.has(other.imagePath)) continue;
    seen.add(other.imagePath);
    donors.push(other);
  }
  if (donors.length < count) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `item '${item.id}' needs ${count} donor image(s) other than its own, but the dataset has only ${donors.length} other image(s)`,
    );
  }
  return donors;
}

/** Whether two samples put the same tokens at the same rotary positions (one token layout). */
function sameLayout(a: PreparedSample, b: PreparedSample): boolean {
  const equal = (x: ArrayLike<number>, y: ArrayLike<number>) =>
    x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i]);
  return (
    equal(a.expandedIds, b.expandedIds) &&
    a.positions.streams.length === b.positions.streams.length &&
    a.positions.streams.every((s, k) => equal(s, b.positions.streams[k]))
  );
}

/**
 * A donor image prepared with the recipient's prompt. Where the scheme lays out tokens by image size
 * (LLaVA-NeXT's any-res tiles, Qwen2-VL's dynamic grid) a donor of another size gets another layout,
 * whose states have no position-by-position counterpart: the donor image is then resized (bicubic)
 * to the recipient's size, which gives it the recipient's layout, rather than refusing (nearly every
 * pair of images in such datasets differs in size). A layout that still differs is refused.
 */
export async function prepareDonor(
  model: LoadedModel,
  recipient: PreparedSample,
  donor: { readonly id: string; readonly image: ImageSource },
): Promise<PreparedSample> {
  const prompt = recipient.prompt;
  const natural = await prepareSample(model, { image: donor.image, prompt });
  if (sameLayout(natural, recipient)) return natural;
  const { width, height } = recipient.source;
  const resized = resizeImage(natural.source, width, height, 'bicubic');
  const fitted = await prepareSample(model, { image: resized, prompt });
  if (sameLayout(fitted, recipient)) return fitted;
  throw new FusionError(
    'BAD_ARGUMENT',
    `donor '${donor.id}' lays out its image tokens differently from the recipient's (${fitted.imageLayout.count} vs ${recipient.imageLayout.count} tokens), even resized to ${width}×${height}`,
  );
}

/**
 * Per decoder layer, the residual stream at that layer's input over the image span, averaged position
 * by position over the donors: [image tokens, D]. Every donor must share one token layout.
 */
export async function donorStates(
  model: LoadedModel,
  donors: readonly PreparedSample[],
  signal?: AbortSignal,
): Promise<Map<number, Float32Array>> {
  if (donors.length === 0) throw new FusionError('BAD_ARGUMENT', 'donor states need at least one donor');
  const D = model.spec.decoder.hiddenSize;
  const [start, end] = donors[0].imageTokenSpan;
  const sums = new Map<number, Float32Array>();
  for (const donor of donors) {
    if (!sameLayout(donor, donors[0])) {
      throw new FusionError(
        'BAD_ARGUMENT',
        'donor states: the donors lay out their image tokens differently',
      );
    }
    const embeds = await embedSample(model, donor);
    const pass = await runDecoder(decoderContext(model), {
      startLayer: 0,
      hidden: embeds.subarray(0, end * D),
      offset: 0,
      ropePositions: rowPositions(donor.positions, 0, end),
      past: [],
      plan: planFor(model, donor),
      readoutRows: [],
      keepLayerInputs: true,
      signal,
    });
    pass.layerInputs.forEach((input, layer) => {
      if (!input) return;
      const rows = input.subarray(start * D, end * D);
      const sum = sums.get(layer);
      if (sum) for (let j = 0; j < sum.length; j++) sum[j] += rows[j];
      else sums.set(layer, Float32Array.from(rows));
    });
  }
  // Dividing once, at the end, leaves a single donor's states exactly as computed.
  if (donors.length > 1)
    for (const sum of sums.values()) for (let j = 0; j < sum.length; j++) sum[j] /= donors.length;
  return sums;
}
