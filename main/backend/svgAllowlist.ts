/**
 * What an exported figure may contain: the elements and attributes our own figures use (ECharts' SVG
 * renderer, the report's hand-written SVG, the app's attention overlays), and the rules for the values
 * that can point outside the document (href, url(), CSS). Everything else is dropped by svgSanitize.ts;
 * an allowlist, because a blocklist of dangerous names is always one SVG feature short.
 */
import { detectFormat } from '../engine/image/format.ts';

/** Drawing, grouping, text and paint servers. No script, animation, foreignObject, links or filters. */
export const ELEMENTS: ReadonlySet<string> = new Set([
  'svg',
  'g',
  'defs',
  'title',
  'desc',
  'style',
  'path',
  'rect',
  'circle',
  'ellipse',
  'line',
  'polyline',
  'polygon',
  'text',
  'tspan',
  'clipPath',
  'mask',
  'pattern',
  'linearGradient',
  'radialGradient',
  'stop',
  'image',
  'use',
]);

/** Elements whose href may name another element of the figure (a template, the shape to reuse). */
export const LOCAL_LINK_ELEMENTS: ReadonlySet<string> = new Set([
  'use',
  'linearGradient',
  'radialGradient',
  'pattern',
]);

/**
 * Unprefixed attributes kept (values still checked): geometry, paint, text, clipping and gradients.
 * No event handlers, no animation timing, no xml:base, no cursor (it takes a url()).
 */
export const ATTRIBUTES: ReadonlySet<string> = new Set([
  // identity and styling
  'id',
  'class',
  'style',
  'lang',
  // the viewport
  'version',
  'baseProfile',
  'viewBox',
  'preserveAspectRatio',
  'width',
  'height',
  'x',
  'y',
  // geometry
  'x1',
  'y1',
  'x2',
  'y2',
  'cx',
  'cy',
  'r',
  'rx',
  'ry',
  'fx',
  'fy',
  'fr',
  'd',
  'points',
  'pathLength',
  'transform',
  'dx',
  'dy',
  'rotate',
  'textLength',
  'lengthAdjust',
  // paint
  'fill',
  'fill-opacity',
  'fill-rule',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-linecap',
  'stroke-linejoin',
  'stroke-miterlimit',
  'stroke-dasharray',
  'stroke-dashoffset',
  'opacity',
  'color',
  'paint-order',
  'vector-effect',
  'display',
  'visibility',
  'overflow',
  'pointer-events',
  'shape-rendering',
  'text-rendering',
  'image-rendering',
  'color-interpolation',
  'color-rendering',
  // text
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'font-variant',
  'font-stretch',
  'letter-spacing',
  'word-spacing',
  'text-anchor',
  'text-decoration',
  'dominant-baseline',
  'alignment-baseline',
  'baseline-shift',
  'writing-mode',
  'direction',
  // clipping, masking, paint servers
  'clip-path',
  'clip-rule',
  'clipPathUnits',
  'mask',
  'maskUnits',
  'maskContentUnits',
  'patternUnits',
  'patternContentUnits',
  'patternTransform',
  'gradientUnits',
  'gradientTransform',
  'spreadMethod',
  'offset',
  'stop-color',
  'stop-opacity',
]);

/** xml:space and xml:lang (the XML namespace's own attributes); nothing else in a namespace but xlink:href. */
export const XML_ATTRIBUTES: ReadonlySet<string> = new Set(['space', 'lang']);

/** A reference to an element of the same document: "#id", nothing before or after. */
export function isLocalFragment(link: string): boolean {
  return /^#[\p{L}_][\p{L}\p{N}_.:-]*$/u.test(link);
}

const EMBEDDED_RASTER = /^data:image\/(png|jpeg);base64,([A-Za-z0-9+/]+={0,2})$/i;

/**
 * A PNG or JPEG embedded as base64 whose bytes are a PNG or JPEG (never SVG or HTML). Which of the two
 * the type names does not matter: a dataset's x.jpg may well be a PNG, and both are inert pictures.
 */
export function isEmbeddedRaster(link: string): boolean {
  const match = EMBEDDED_RASTER.exec(link);
  if (!match) return false;
  const format = detectFormat(Buffer.from(match[2].slice(0, 24), 'base64'));
  return format === 'png' || format === 'jpeg';
}

/** CSS that could fetch, run or import anything, after comments are removed and case is folded. */
const UNSAFE_CSS: readonly (readonly [RegExp, string])[] = [
  // Escapes would let "u\72 l(" spell url( past every check below; our figures never use them.
  [/\\/, 'a CSS escape'],
  [/@import/, '@import'],
  [/expression\s*\(/, 'expression()'],
  [/(java|vb)script\s*:/, 'a script URL'],
  [/-moz-binding|behavior\s*:/, 'a binding'],
  [/(image-set|image|cross-fade|element)\s*\(/, 'an image function'],
];

const URL_CALL = /url\s*\(/g;
const LOCAL_URL_CALL = /url\s*\(\s*(["']?)#[\p{L}_][\p{L}\p{N}_.:-]*\1\s*\)/gu;

/** Why `css` (a style sheet, a style attribute or a presentation value) is unsafe, or null when it is safe. */
export function unsafeCss(css: string): string | null {
  const withoutComments = css.replace(/\/\*[\s\S]*?\*\//g, ' ');
  if (withoutComments.includes('/*')) return 'an unterminated CSS comment';
  const text = withoutComments.toLowerCase();
  for (const [pattern, what] of UNSAFE_CSS) if (pattern.test(text)) return what;
  const calls = text.match(URL_CALL)?.length ?? 0;
  const local = text.match(LOCAL_URL_CALL)?.length ?? 0;
  return calls === local ? null : 'a url() to anything but a #fragment of the figure';
}
