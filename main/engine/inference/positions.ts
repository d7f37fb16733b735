/**
 * Rotary position ids of a prepared sample. Most families number tokens 0..T−1; Qwen2-VL's M-RoPE
 * gives every token three positions (temporal, height, width): text tokens the same number in all
 * three, an image's tokens their grid coordinates offset by where the image starts, and the text after
 * an image resumes one past the largest position so far (transformers' get_rope_index, still images).
 * Generated tokens continue from `next`, so a sample's positions fix every later position too.
 */
import type { ModelSpec, RotaryPositions } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import type { ImageTokenLayout } from '../analysis/imageTokens.ts';
import type { Span } from './prompt.ts';

export interface SamplePositions {
  /** One array per stream (1 or 3), each the prompt's length. */
  readonly streams: RotaryPositions;
  /** Position of the first token after the prompt (every stream). */
  readonly next: number;
}

export function samplePositions(
  spec: Pick<ModelSpec, 'positionScheme'>,
  length: number,
  spans: readonly Span[],
  layouts: readonly ImageTokenLayout[],
): SamplePositions {
  if (spec.positionScheme === 'sequential') {
    return { streams: [Array.from({ length }, (_, i) => i)], next: length };
  }
  const streams: number[][] = [[], [], []];
  let next = 0;
  const pushText = (count: number) => {
    for (let i = 0; i < count; i++, next++) for (const s of streams) s.push(next);
  };
  let cursor = 0;
  spans.forEach(([start, end], k) => {
    pushText(start - cursor);
    const grid = layouts[k]?.grids[0];
    if (!grid || grid.rows * grid.cols !== end - start) {
      throw new FusionError(
        'BAD_CONFIG',
        `M-RoPE needs image ${k}'s tokens to form one grid, but its ${end - start} tokens are laid out as ${grid ? `${grid.rows}×${grid.cols}` : 'no grid'}`,
      );
    }
    for (let r = 0; r < grid.rows; r++) {
      for (let c = 0; c < grid.cols; c++) {
        streams[0].push(next); // a still image is one temporal step
        streams[1].push(next + r);
        streams[2].push(next + c);
      }
    }
    next += Math.max(grid.rows, grid.cols);
    cursor = end;
  });
  pushText(length - cursor);
  return { streams, next };
}

/** The streams for rows offset..offset+rows−1, continuing past the prompt for generated tokens. */
export function rowPositions(positions: SamplePositions, offset: number, rows: number): RotaryPositions {
  const length = positions.streams[0].length;
  return positions.streams.map((stream) =>
    Array.from({ length: rows }, (_, i) => {
      const at = offset + i;
      return at < length ? stream[at] : positions.next + (at - length);
    }),
  );
}
