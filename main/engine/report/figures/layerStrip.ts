/**
 * Attention evolution figure: one overlay per chosen layer, side by side, labelled with the layer,
 * with one colour bar. 'shared' normalisation puts every layer on one scale (comparable magnitudes);
 * 'each' stretches every map over its own [min, max] (shape only; the bar then reads low/high).
 */
import type { ColormapName, ValueRange } from '../../../common/charts/colormaps.ts';
import { sharedRange } from '../../../common/charts/overlay.ts';
import { FusionError } from '../../../common/errors.ts';
import type { Box } from '../../analysis/imageTokens.ts';
import type { Rect, RgbImage } from '../../image/index.ts';
import { prepareOverlay } from '../overlay/prepare.ts';
import { svgToPng, type PngScale } from '../svgToPng.ts';
import { imagePanel, panelFigureSvg } from './panels.ts';

export interface LayerStripInput {
  image: RgbImage;
  tokenRects: readonly (Rect | null)[];
  layers: readonly { layer: number; map: readonly number[] }[];
  /** Default 'viridis'. */
  colormap?: ColormapName;
  /** Default 0.6. */
  opacity?: number;
  boxes?: readonly Box[];
  noiseTokens?: readonly number[];
  /** Default 'shared'. */
  normalise?: 'shared' | 'each';
  /** Fixed colour range (implies shared normalisation). */
  range?: ValueRange;
  title?: string;
  /** A second, smaller line under the title. */
  subtitle?: string;
  panelWidth?: number;
  /** Caption under the colour bar. Default 'attention'. */
  colorbarLabel?: string;
  /**
   * Open the strip with the image untouched (labelled so), so the colours an overlay tints can still
   * be read: a question about colour is answered from this panel, not from a tinted one.
   */
  original?: boolean | { label: string };
}

export function layerStripSvg(input: LayerStripInput): string {
  if (!Array.isArray(input?.layers) || input.layers.length === 0) {
    throw new FusionError('BAD_ARGUMENT', 'layerStrip needs at least one layer');
  }
  if (!Array.isArray(input.tokenRects)) throw new FusionError('BAD_ARGUMENT', 'tokenRects must be an array');
  const colormap = input.colormap ?? 'viridis';
  const normalise = input.normalise ?? 'shared';
  if (normalise !== 'shared' && normalise !== 'each') {
    throw new FusionError(
      'BAD_ARGUMENT',
      `normalise must be 'shared' or 'each', got ${JSON.stringify(normalise)}`,
    );
  }
  const perMap = normalise === 'each' && !input.range;
  const shared =
    input.range ??
    sharedRange(
      input.layers.map(({ map }) => map),
      input.tokenRects,
      colormap,
    );
  const panels = input.layers.map(({ layer, map }) => ({
    label: `layer ${layer}`,
    overlay: prepareOverlay({
      image: input.image,
      map,
      tokenRects: input.tokenRects,
      colormap,
      opacity: input.opacity ?? 0.6,
      ...(perMap ? {} : { range: shared }),
      boxes: input.boxes,
      noiseTokens: input.noiseTokens,
    }),
  }));
  const original =
    input.original === undefined || input.original === false
      ? []
      : [imagePanel(input.image, input.original === true ? 'image' : input.original.label)];
  const colorbar = {
    colormap,
    range: shared,
    caption: input.colorbarLabel ?? 'attention',
    relative: perMap,
  };
  return panelFigureSvg([{ panels: [...original, ...panels], colorbar }], {
    title: input.title,
    subtitle: input.subtitle,
    panelWidth: input.panelWidth,
  });
}

export function layerStripPng(input: LayerStripInput, options: { scale: PngScale }): Uint8Array {
  return svgToPng(layerStripSvg(input), options);
}
