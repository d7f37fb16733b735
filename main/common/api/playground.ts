/**
 * The Playground's contract: one question about one image on an open model, no dataset and nothing
 * recorded. The image crosses every transport as base64 (JSON), is checked for size here and for
 * being an image by the backend, and is decoded by the engine alone.
 */
import type { Rect } from '../analysis.ts';
import type { InterventionMode } from '../interventions.ts';

/** The largest image file the Playground accepts (a phone photo is a few MiB). */
export const MAX_PLAYGROUND_IMAGE_BYTES = 32 * 1024 * 1024;
/** Base64 characters of the largest image (4 per 3 bytes, padded). */
export const MAX_PLAYGROUND_IMAGE_BASE64 = 4 * Math.ceil(MAX_PLAYGROUND_IMAGE_BYTES / 3);
export const MAX_PLAYGROUND_QUESTION_CHARS = 4000;
export const MAX_PLAYGROUND_NEW_TOKENS = 256;
export const DEFAULT_PLAYGROUND_NEW_TOKENS = 24;

/** Masking of the whole image at chosen decoder layers (common/interventions.ts, every image token). */
export interface PlaygroundMask {
  readonly mode: InterventionMode;
  readonly layers: readonly number[];
  /** `attention` and `hidden`: the multiplier (default 0); knockout takes none. */
  readonly scale?: number;
}

export interface PlaygroundToken {
  readonly id: number;
  /** What the token adds to the answer's text, its leading space included ("" for a special token). */
  readonly text: string;
  /** The vocabulary entry itself (e.g. "▁red", "</s>"), for tokens that add no text. */
  readonly raw: string;
}

export interface PlaygroundAnswer {
  /** The decoded answer, trimmed. */
  readonly text: string;
  readonly tokens: readonly PlaygroundToken[];
  readonly stoppedBy: 'eos' | 'max_tokens';
  /**
   * [token][layer][cell]: where the position that chose each token looked (the last prompt position
   * for the first token, then the previous token's position): the head mean of its attention,
   * renormalised over the image tokens (the paper's A^(l)), on the display cells.
   */
  readonly maps: readonly (readonly (readonly number[])[])[];
}

export interface PlaygroundResult {
  readonly modelId: string;
  readonly question: string;
  /** The prompt as the model's template wrote it (image placeholder included). */
  readonly prompt: string;
  readonly image: {
    /** After EXIF orientation: the pixels tokenRects are measured in. */
    readonly width: number;
    readonly height: number;
    /** The format the engine read, e.g. "PNG". */
    readonly format: string;
    /** The decoded image as a PNG data URL (at most 1024 px a side): what the model read, in any format. */
    readonly preview: string;
  };
  /** Per display cell, the original-image pixels it covers (null: no spatial extent). */
  readonly tokenRects: readonly (Rect | null)[];
  readonly grid: { readonly rows: number; readonly cols: number } | null;
  readonly layers: number;
  readonly answer: PlaygroundAnswer;
  /** The answer with `mask` applied at every step, null when no mask was asked for. */
  readonly masked: PlaygroundAnswer | null;
  readonly mask: PlaygroundMask | null;
  readonly executionProvider: string;
}
