/**
 * Contrastive attention figure: pre-integration map A^(i*), final map A^(k) (one shared scale) and
 * CA = A^(k) - A^(i*) on the diverging map centred at 0, each with its colour bar.
 */
import { isDiverging, type ColormapName } from '../../../common/charts/colormaps.ts';
import { contrastRanges } from '../../../common/charts/overlay.ts';
import { FusionError } from '../../../common/errors.ts';
import type { Box } from '../../analysis/imageTokens.ts';
import type { Rect, RgbImage } from '../../image/index.ts';
import { prepareOverlay } from '../overlay/prepare.ts';
import { svgToPng, type PngScale } from '../svgToPng.ts';
import { imagePanel, panelFigureSvg, type PanelMark } from './panels.ts';

export interface CaTriptychInput {
  image: RgbImage;
  tokenRects: readonly (Rect | null)[];
  pre: { layer: number; map: readonly number[] };
  final: { layer: number; map: readonly number[] };
  /** Signed contrastive map; default final.map - pre.map. */
  ca?: readonly number[];
  /** Sequential map for the two attention panels. Default 'viridis'. */
  colormap?: Exclude<ColormapName, 'coolwarm'>;
  /** Default 0.6. */
  opacity?: number;
  boxes?: readonly Box[];
  noiseTokens?: readonly number[];
  title?: string;
  /** A second, smaller line under the title (the answers each method gave). */
  subtitle?: string;
  panelWidth?: number;
  /**
   * Open with the image untouched, optionally with rectangles outlined on it (the crops the
   * refinements fed back), so neither the colours nor the crops hide under an overlay.
   */
  original?: { label?: string; marks?: readonly PanelMark[] };
}

function bad(message: string): never {
  throw new FusionError('BAD_ARGUMENT', message);
}

export function caTriptychSvg(input: CaTriptychInput): string {
  const pre = input?.pre?.map;
  const final = input?.final?.map;
  if (!Array.isArray(pre) || !Array.isArray(final)) bad('caTriptych needs pre.map and final.map arrays');
  if (!Array.isArray(input.tokenRects)) bad('tokenRects must be an array');
  if (pre.length !== final.length) bad(`pre.map has ${pre.length} values but final.map has ${final.length}`);
  const ca = input.ca ?? final.map((v, i) => v - pre[i]);
  if (!Array.isArray(ca) || ca.length !== pre.length) bad(`ca must have ${pre.length} values`);
  const colormap = input.colormap ?? 'viridis';
  if (isDiverging(colormap)) bad('caTriptych colormap is for attention: choose viridis or inferno');
  const ranges = contrastRanges(pre, final, ca, input.tokenRects, colormap);
  const attentionRange = ranges.attention;
  const caRange = ranges.ca;
  const common = {
    image: input.image,
    tokenRects: input.tokenRects,
    opacity: input.opacity ?? 0.6,
    boxes: input.boxes,
    noiseTokens: input.noiseTokens,
  };
  const original = input.original
    ? [imagePanel(input.image, input.original.label ?? 'image', input.original.marks)]
    : [];
  const attention = {
    panels: [
      ...original,
      {
        label: `pre-integration (layer ${input.pre.layer})`,
        overlay: prepareOverlay({ ...common, map: pre, colormap, range: attentionRange }),
      },
      {
        label: `final (layer ${input.final.layer})`,
        overlay: prepareOverlay({ ...common, map: final, colormap, range: attentionRange }),
      },
    ],
    colorbar: { colormap, range: attentionRange, caption: 'attention' },
  };
  const contrast = {
    panels: [
      {
        label: 'CA = final \u2212 pre',
        overlay: prepareOverlay({ ...common, map: ca, colormap: 'coolwarm', range: caRange }),
      },
    ],
    colorbar: { colormap: 'coolwarm' as const, range: caRange, caption: 'CA' },
  };
  return panelFigureSvg([attention, contrast], {
    title: input.title,
    subtitle: input.subtitle,
    panelWidth: input.panelWidth,
  });
}

export function caTriptychPng(input: CaTriptychInput, options: { scale: PngScale }): Uint8Array {
  return svgToPng(caTriptychSvg(input), options);
}
