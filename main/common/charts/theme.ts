/**
 * Shared look of every FusionScope chart: a colour-blind-safe palette (Okabe & Ito 2008), one font
 * stack whose first entry is the font the headless renderer bundles, and fixed sizes, so a figure
 * rendered headless and the same chart in the app agree.
 */

/** Okabe-Ito, reordered so the first colours are the most distinct on white (yellow last). */
export const PALETTE: readonly string[] = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#CC79A7', // reddish purple
  '#E69F00', // orange
  '#56B4E9', // sky blue
  '#000000', // black
  '#F0E442', // yellow
];

export function seriesColor(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** '#rrggbb' with an alpha, as 'rgba(r,g,b,a)'. */
export function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** The headless renderer bundles DejaVu Sans; the app falls back to the system's sans-serif. */
export const FONT_FAMILY = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";

export const FONT_SIZE = { title: 16, subtitle: 12, axisName: 13, axisLabel: 12, legend: 12, note: 11 };

/** Lower case: colorScheme.ts looks theme colours up by these strings. */
export const BACKGROUND_COLOR = '#ffffff';
export const TEXT_COLOR = '#222222';
export const MUTED_TEXT_COLOR = '#555555';
export const AXIS_COLOR = '#444444';
export const GRID_LINE_COLOR = '#e6e6e6';
export const GUIDE_COLOR = '#999999';

/** Recommended figure sizes in CSS pixels (PNG at scale 2 or 4 for print). */
export const FIGURE_SIZE = {
  /** One fusion curve or an overlay of several models. */
  curve: { width: 720, height: 420 },
  /** Stacked evolution panels, one per metric. */
  evolution: { width: 720, height: 600 },
} as const;

export function axisStyle(): Record<string, unknown> {
  return {
    axisLine: { show: true, lineStyle: { color: AXIS_COLOR, width: 1 } },
    axisTick: { show: true, lineStyle: { color: AXIS_COLOR } },
    axisLabel: { color: TEXT_COLOR, fontSize: FONT_SIZE.axisLabel, fontFamily: FONT_FAMILY },
    splitLine: { show: true, lineStyle: { color: GRID_LINE_COLOR, width: 1 } },
    nameTextStyle: { color: TEXT_COLOR, fontSize: FONT_SIZE.axisName, fontFamily: FONT_FAMILY },
  };
}

/** Root options every chart shares: no animation (deterministic SSR), white background, fonts. */
export function baseOption(): Record<string, unknown> {
  return {
    animation: false,
    backgroundColor: BACKGROUND_COLOR,
    color: [...PALETTE],
    textStyle: { fontFamily: FONT_FAMILY, color: TEXT_COLOR, fontSize: FONT_SIZE.axisLabel },
  };
}

export function titleOption(
  title: string | undefined,
  subtitle: string | undefined,
): Record<string, unknown> {
  return {
    show: Boolean(title || subtitle),
    text: title ?? '',
    subtext: subtitle ?? '',
    left: 'center',
    top: 8,
    itemGap: 6,
    textStyle: { fontSize: FONT_SIZE.title, fontWeight: 'bold', color: TEXT_COLOR, fontFamily: FONT_FAMILY },
    // An explicit line height: a subtitle of several lines ('\n') would otherwise overlap itself.
    subtextStyle: {
      fontSize: FONT_SIZE.subtitle,
      lineHeight: FONT_SIZE.subtitle + 4,
      color: MUTED_TEXT_COLOR,
      fontFamily: FONT_FAMILY,
    },
  };
}
