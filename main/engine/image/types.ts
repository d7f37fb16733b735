/** An 8-bit RGB image, pixels interleaved R, G, B row by row (no padding). */
export type { Rect } from '../../common/analysis.ts';
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
