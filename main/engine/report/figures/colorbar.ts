/** A vertical colour bar for overlay figures: gradient, tick labels on the right, a caption below. */
import { colorbarTicks as ticks, type ColorbarSpec } from '../../../common/charts/overlay.ts';
import { rgbToHex, sampleColormap } from '../../../common/charts/colormaps.ts';
import { FONT_FAMILY, TEXT_COLOR } from '../../../common/charts/theme.ts';
import { measureFigureText } from '../fonts.ts';
import { attrs, escapeXml, num } from '../svg.ts';

export { formatTick } from '../../../common/charts/overlay.ts';
export type { ColorbarSpec };

export const COLORBAR = { barWidth: 12, tickGap: 4, fontSize: 11 };

/** Width the bar and its labels take. */
export function colorbarWidth(spec: ColorbarSpec): number {
  const labelWidth = Math.max(...ticks(spec).map((t) => measureFigureText(t.label, COLORBAR.fontSize)));
  const captionWidth = measureFigureText(spec.caption, COLORBAR.fontSize);
  return Math.ceil(Math.max(COLORBAR.barWidth + COLORBAR.tickGap + labelWidth, captionWidth));
}

/** The bar at (x, y), height h; its caption is centred vertically on captionY. */
export function colorbarMarkup(
  spec: ColorbarSpec,
  id: string,
  x: number,
  y: number,
  h: number,
  captionY: number,
): string {
  const stops = Array.from({ length: 33 }, (_, i) => {
    const t = i / 32;
    return `<stop${attrs({ offset: t, 'stop-color': rgbToHex(sampleColormap(spec.colormap, t)) })}/>`;
  }).join('');
  const text = (tx: number, ty: number, label: string, anchor: string) =>
    `<text${attrs({
      x: tx,
      y: ty,
      'font-family': FONT_FAMILY,
      'font-size': COLORBAR.fontSize,
      'text-anchor': anchor,
      'dominant-baseline': 'central',
      fill: TEXT_COLOR,
    })}>${escapeXml(label)}</text>`;
  const lines = [
    `<linearGradient${attrs({ id, x1: 0, y1: 1, x2: 0, y2: 0 })}>${stops}</linearGradient>`,
    `<rect${attrs({ x, y, width: COLORBAR.barWidth, height: h, fill: `url(#${id})`, stroke: '#444444', 'stroke-width': 0.5 })}/>`,
  ];
  for (const tick of ticks(spec)) {
    const ty = y + h * (1 - tick.t);
    lines.push(
      `<path d="M${num(x + COLORBAR.barWidth)} ${num(ty)}h3" stroke="#444444" stroke-width="0.8"/>`,
      text(x + COLORBAR.barWidth + COLORBAR.tickGap, ty, tick.label, 'start'),
    );
  }
  lines.push(
    `<text${attrs({
      x,
      y: captionY,
      'font-family': FONT_FAMILY,
      'font-size': COLORBAR.fontSize,
      'dominant-baseline': 'central',
      fill: TEXT_COLOR,
    })}>${escapeXml(spec.caption)}</text>`,
  );
  return lines.join('\n') + '\n';
}
