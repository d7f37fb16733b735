/**
 * Learned queries (InstructBLIP): `count` Q-Former outputs that have read the image and the
 * instruction. The Q-Former has its own tokenizer (qformer_tokenizer/, loaded with the model) and
 * takes the instruction's ids as a vision input, so preparing a sample runs the tower: its
 * cross-attention gives the queries' projection onto the patch grid (analysis/queryTokens.ts), which
 * is how maps, box mass and crops reach the image, and its features are kept for embedSample.
 */
import { join } from 'node:path';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { QueryTokens } from '../../../native-models/architectures/types.ts';
import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { queryProjection } from '../analysis/queryTokens.ts';
import type { ProcessedImage } from '../image/index.ts';
import type { TensorIn } from '../runtime/session.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { fixedGridLayout } from './fixedGrid.ts';
import type { ImageTokenLayout } from './layout.ts';
import { pixelInputs, type SchemeContext, type SchemeModule } from './scheme.ts';

/** A query-token sample's scheme state. */
export interface QueryState {
  /** The prompt text through the Q-Former's tokenizer. */
  readonly qformerInputIds: readonly number[];
  /** Each image's projected query features, computed while preparing. */
  readonly features: readonly Float32Array[];
}

type Context = SchemeContext<QueryTokens, Tokenizer>;

export const queries: SchemeModule<QueryTokens, Tokenizer, QueryState> = {
  kind: 'queries',
  // The grid the Q-Former's cross-attention (and so the overlays) is drawn on.
  facts: ({ count, rows, cols }) => ({
    imageTokensPerImage: count,
    imageGrid: { rows, cols, leadingTokens: 0 },
  }),
  load: (_config, folder) => qformerTokenizerOf(folder),
  // Query tokens cover no pixels; maps are drawn on the patch grid through the Q-Former's
  // cross-attention (the projection arrives with the vision pass, in prepare).
  layout: (config, image) => ({
    count: config.count,
    rects: new Array<null>(config.count).fill(null),
    grids: [],
    display: fixedGridLayout({ rows: config.rows, cols: config.cols, leadingTokens: 0 }, image),
  }),
  async prepare(ctx, text, images) {
    const qformerInputIds = instructionIds(ctx, text);
    const vision = await Promise.all(images.map((image) => queryVision(ctx, image, qformerInputIds)));
    return {
      layouts: vision.map((v) => v.layout),
      state: { qformerInputIds, features: vision.map((v) => v.features) },
    };
  },
  visionInputs: (_ctx, image, state) => visionInputsWith(image, queryState(state).qformerInputIds),
  preparedFeatures: (state, index) => queryState(state).features[index],
  traceFields: (state) => ({ qformerInputIds: queryState(state).qformerInputIds }),
};

/** The Q-Former's input ids of a sample a query-token model prepared (its scheme state). */
export function qformerInputIds(sample: { readonly schemeState?: unknown }): readonly number[] {
  return queryState(sample.schemeState).qformerInputIds;
}

/** The sample's state as this scheme left it; anything else means the sample came from elsewhere. */
function queryState(state: unknown): QueryState {
  if (!Array.isArray((state as Partial<QueryState> | undefined)?.qformerInputIds)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      'a query-token model needs the Q-Former input ids: prepare the sample with prepareSample on this model',
    );
  }
  return state as QueryState;
}

function visionInputsWith(image: ProcessedImage, ids: readonly number[]): Record<string, TensorIn> {
  if (ids.length === 0)
    throw new FusionError('BAD_ARGUMENT', 'a query-token model needs the Q-Former input ids');
  return {
    ...pixelInputs(image),
    [VISION_IO.qformerIds]: { data: BigInt64Array.from(ids, (id) => BigInt(id)), dims: [1, ids.length] },
  };
}

/** The prompt through the Q-Former's tokenizer, checked against its positions. */
function instructionIds({ config, resources }: Context, text: string): number[] {
  const ids = resources.encode(text);
  if (ids.length > config.maxInstructionTokens) {
    throw new FusionError(
      'BAD_PROMPT',
      `the instruction is ${ids.length} Q-Former tokens long; the Q-Former has positions for ${config.maxInstructionTokens} (qformer_config.max_position_embeddings)`,
    );
  }
  return ids;
}

/** Runs the tower once: the layout gets the projection, the features are kept. */
async function queryVision(
  ctx: Context,
  image: ProcessedImage,
  ids: readonly number[],
): Promise<{ layout: ImageTokenLayout; features: Float32Array }> {
  const layout = queries.layout(ctx.config, image, ctx.imageConfig);
  const out = await ctx.runVision(visionInputsWith(image, ids));
  const cross = out[VISION_IO.qformerCrossAttention];
  if (!cross || !layout.display) {
    throw new FusionError('RUNTIME', 'the vision graph of a query-token model returned no cross-attention');
  }
  const projection = queryProjection(cross.data, cross.dims, layout.count, layout.display.rects.length);
  return { layout: { ...layout, projection }, features: Float32Array.from(out[VISION_IO.features].data) };
}

async function qformerTokenizerOf(folder: string): Promise<Tokenizer> {
  try {
    return await Tokenizer.fromFolder(join(folder, 'qformer_tokenizer'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FusionError(
      'MISSING_FILE',
      `${shownPath(folder)}: the Q-Former's tokenizer (qformer_tokenizer/) could not be loaded: ${reason}`,
    );
  }
}
