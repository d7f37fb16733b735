/**
 * A figure's provenance footer: small grey lines under the figure (FusionScope and ONNX Runtime
 * versions, commit, provider, precision, model and dataset hashes, settings), added by nesting the
 * figure in a taller SVG so the figure itself is untouched.
 */
import { FusionError } from '../../common/errors.ts';
import { FIGURE_FONT_FAMILY, measureFigureText } from './fonts.ts';
import { attrs, escapeXml, num, svgDocument } from './svg.ts';

const FONT_SIZE = 9;
const LINE_HEIGHT = 12;
const MARGIN = 8;

/** The root element's pixel size, read from its width/height attributes. */
function rootSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const read = (name: string) => Number(new RegExp(`\\s${name}="([\\d.]+)"`).exec(root)?.[1]);
  const width = read('width');
  const height = read('height');
  if (!(width > 0) || !(height > 0)) {
    throw new FusionError('INTERNAL', 'a report figure has no pixel width and height to add a footer to');
  }
  return { width, height };
}

/** Cuts a line to what fits `width` in the footer font, with an ellipsis. */
function fitted(line: string, width: number): string {
  if (measureFigureText(line, FONT_SIZE) <= width) return line;
  let text = line;
  while (text.length > 1 && measureFigureText(`${text}…`, FONT_SIZE) > width) text = text.slice(0, -1);
  return `${text}…`;
}

export function withFooter(svg: string, lines: readonly string[]): string {
  if (lines.length === 0) return svg;
  const { width, height } = rootSize(svg);
  const inner = svg.replace(/^<\?xml[^>]*>\s*/, '');
  const total = height + MARGIN / 2 + lines.length * LINE_HEIGHT;
  const text = lines
    .map(
      (line, i) =>
        `<text${attrs({
          x: MARGIN,
          y: height + (i + 1) * LINE_HEIGHT,
          'font-family': FIGURE_FONT_FAMILY,
          'font-size': FONT_SIZE,
          fill: '#666666',
        })}>${escapeXml(fitted(line, width - 2 * MARGIN))}</text>`,
    )
    .join('\n');
  return svgDocument(
    width,
    total,
    `<rect width="100%" height="100%" fill="#ffffff"/>\n${inner}\n<g data-provenance="">\n${text}\n</g>\n`,
    `0 0 ${num(width)} ${num(total)}`,
  );
}
