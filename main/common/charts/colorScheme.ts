/**
 * The app's dark look for figures. Every chart builder spells its colours out (theme.ts), because the
 * headless report renders without any ECharts theme; a registered theme would only fill in what an
 * option leaves unset, so it could not turn those colours dark. Instead the app maps the theme's
 * light colours to dark ones on a copy of the option, only under colour keys, and exports always
 * draw the untouched option: a figure saved from a dark window is the publication (light) figure.
 */
import {
  AXIS_COLOR,
  BACKGROUND_COLOR,
  GRID_LINE_COLOR,
  GUIDE_COLOR,
  MUTED_TEXT_COLOR,
  TEXT_COLOR,
} from './theme.ts';

export type ColorScheme = 'light' | 'dark';

/** Light theme colour (lower case) → its dark counterpart; colours not listed stay as they are. */
const DARK: Readonly<Record<string, string>> = {
  [BACKGROUND_COLOR]: '#1b1f27',
  [TEXT_COLOR]: '#e3e6eb',
  [MUTED_TEXT_COLOR]: '#a7afbb',
  [AXIS_COLOR]: '#98a1ad',
  [GRID_LINE_COLOR]: '#333a46',
  [GUIDE_COLOR]: '#7a8492',
  // The palette's black series (and black marker borders) would vanish on a dark background.
  '#000000': '#f2f2f2',
};

/** withAlpha('#000000', a): translucent black shading becomes translucent white. */
const TRANSLUCENT_BLACK = /^rgba\(\s*0\s*,\s*0\s*,\s*0\s*,\s*([\d.]+)\s*\)$/i;

/** `color` as the scheme draws it: unchanged in light, the dark counterpart of a theme colour in dark. */
export function schemeColor(color: string, scheme: ColorScheme): string {
  if (scheme === 'light') return color;
  const mapped = DARK[color.toLowerCase()];
  if (mapped !== undefined) return mapped;
  const alpha = TRANSLUCENT_BLACK.exec(color);
  return alpha ? `rgba(255,255,255,${alpha[1]})` : color;
}

/** Keys whose strings are paint: color, backgroundColor, borderColor, textBorderColor, … */
const COLOR_KEY = /colou?r$/i;
/** Colour scales are data (a colormap), never theme: a heat map keeps its ramp in dark mode. */
const DATA_SCALE_KEYS = new Set(['inRange', 'outOfRange']);

function mapColors(value: unknown, isColor: boolean, scheme: ColorScheme): unknown {
  if (typeof value === 'string') return isColor ? schemeColor(value, scheme) : value;
  if (Array.isArray(value)) return value.map((entry) => mapColors(entry, isColor, scheme));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    out[key] = DATA_SCALE_KEYS.has(key) ? entry : mapColors(entry, COLOR_KEY.test(key), scheme);
  }
  return out;
}

/**
 * The option as the scheme shows it. Light returns the very same object (what exports draw); dark a
 * copy with theme colours mapped, leaving data colours (palette hues, colour scales) alone.
 */
export function themedOption<T>(option: T, scheme: ColorScheme): T {
  return scheme === 'light' ? option : (mapColors(option, false, scheme) as T);
}

/** The paints of the app's SVG figures (attention overlays and their colour bars) around the data. */
export interface FigureColors {
  readonly background: string;
  readonly text: string;
  readonly muted: string;
  readonly axis: string;
  /** The frame around the selected panel. */
  readonly selection: string;
}

const SELECTION = { light: '#0b62a8', dark: '#56b4e9' } as const;

export function figureColors(scheme: ColorScheme): FigureColors {
  return {
    background: schemeColor(BACKGROUND_COLOR, scheme),
    text: schemeColor(TEXT_COLOR, scheme),
    muted: schemeColor(MUTED_TEXT_COLOR, scheme),
    axis: schemeColor(AXIS_COLOR, scheme),
    selection: SELECTION[scheme],
  };
}
