/**
 * Several overlays of one image side by side, each with a label underneath, in groups that each end
 * with their own colour bar (a strip of layers shares one; the CA triptych has one for attention and
 * one for CA). The image is embedded once and reused by every panel. A group may open with the image
 * untouched (`imagePanel`), so what an overlay tints (a colour the question asks about) stays visible,
 * with rectangles outlined on it (the crops a refinement fed back).
 */
import { FONT_FAMILY, FONT_SIZE, MUTED_TEXT_COLOR, TEXT_COLOR } from '../../../common/charts/theme.ts';
import { FusionError } from '../../../common/errors.ts';
import type { Rect, RgbImage } from '../../image/index.ts';
import { measureFigureText } from '../fonts.ts';
import { checkImage, type PreparedOverlay } from '../overlay/prepare.ts';
import { imageElement, overlayMarkup } from '../overlay/vector.ts';
import { attrs, escapeXml, num, svgDocument } from '../svg.ts';
import { colorbarMarkup, colorbarWidth, type ColorbarSpec } from './colorbar.ts';

/** A rectangle outlined on a panel in its colour, with a small tag naming it. */
export interface PanelMark {
  rect: Rect;
  color: string;
  label: string;
}

export interface Panel {
  label: string;
  overlay: PreparedOverlay;
  marks?: readonly PanelMark[];
}

/** The image with nothing drawn over it but `marks`. */
export function imagePanel(image: RgbImage, label: string, marks: readonly PanelMark[] = []): Panel {
  checkImage(image);
  const overlay: PreparedOverlay = {
    image,
    scale: 1,
    opacity: 0,
    colormap: 'viridis',
    range: [0, 1],
    cells: [],
    boxes: [],
    noise: [],
  };
  return { label, overlay, marks };
}

const TAG_FONT = 10;

/** Marks in image units (the panel's group is scaled by `zoom`), so strokes and tags keep screen size. */
function marksMarkup(marks: readonly PanelMark[], zoom: number): string {
  const w = (screenPixels: number) => screenPixels / zoom;
  return marks
    .map(({ rect, color, label }, i) => {
      const box = { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
      const outline = [
        `<rect${attrs({ ...box, fill: 'none', stroke: '#000000', 'stroke-width': w(4) })}/>`,
        `<rect${attrs({ ...box, fill: 'none', stroke: color, 'stroke-width': w(2) })}/>`,
      ];
      // Tags alternate corners (top left, bottom right), so two crops that coincide both stay named.
      const tagWidth = w(measureFigureText(label, TAG_FONT) + 6);
      const tagHeight = w(TAG_FONT + 4);
      const x = i % 2 === 0 ? rect.x : rect.x + rect.width - tagWidth;
      const y = i % 2 === 0 ? rect.y : rect.y + rect.height - tagHeight;
      const tag = [
        `<rect${attrs({ x, y, width: tagWidth, height: tagHeight, fill: color })}/>`,
        `<text${attrs({
          x: x + w(3),
          y: y + tagHeight / 2,
          'font-family': FONT_FAMILY,
          'font-size': w(TAG_FONT),
          'dominant-baseline': 'central',
          fill: '#ffffff',
        })}>${escapeXml(label)}</text>`,
      ];
      return [...outline, ...tag].join('\n');
    })
    .join('\n');
}

export interface PanelGroup {
  panels: readonly Panel[];
  colorbar: ColorbarSpec;
}

export interface PanelFigureOptions {
  title?: string;
  /** A second line under the title (smaller, grey). */
  subtitle?: string;
  /** Width of each panel in CSS pixels; the height follows the image's aspect ratio. Default 180. */
  panelWidth?: number;
}

const MARGIN = 14;
const GAP = 10;
const GROUP_GAP = 22;
const LABEL_HEIGHT = 22;
const TITLE_HEIGHT = 30;
const SUBTITLE_HEIGHT = 18;

export function panelFigureSvg(groups: readonly PanelGroup[], options: PanelFigureOptions = {}): string {
  const first = groups[0]?.panels[0];
  if (!first) throw new FusionError('BAD_ARGUMENT', 'a panel figure needs at least one panel');
  const panelWidth = options.panelWidth ?? 180;
  if (!Number.isFinite(panelWidth) || panelWidth < 32 || panelWidth > 2048) {
    throw new FusionError('BAD_ARGUMENT', `panelWidth must lie in [32, 2048], got ${panelWidth}`);
  }
  const { width: iw, height: ih } = first.overlay.image;
  const k = panelWidth / iw;
  const panelHeight = ih * k;
  const top =
    MARGIN + (options.title ? TITLE_HEIGHT : 0) + (options.title && options.subtitle ? SUBTITLE_HEIGHT : 0);
  const labelY = top + panelHeight + LABEL_HEIGHT / 2 + 2;

  // The panels' width decides the figure's, unless a title is wider: then the panels are centred.
  const panelsWidth =
    groups.reduce(
      (sum, group, g) =>
        sum +
        (g > 0 ? GROUP_GAP : 0) +
        group.panels.length * panelWidth +
        (group.panels.length - 1) * GAP +
        GAP +
        colorbarWidth(group.colorbar),
      0,
    ) +
    2 * MARGIN;
  const titleWidth = Math.max(
    options.title ? measureFigureText(options.title, FONT_SIZE.title, true) : 0,
    options.title && options.subtitle ? measureFigureText(options.subtitle, FONT_SIZE.subtitle) : 0,
  );
  const width = Math.ceil(Math.max(panelsWidth, titleWidth + 2 * MARGIN));
  const height = Math.ceil(top + panelHeight + LABEL_HEIGHT + MARGIN);

  const body: string[] = [];
  body.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  body.push(`<defs>${imageElement(first.overlay, 'fs-image')}</defs>`);
  const image = '<use xlink:href="#fs-image"/>';
  let x = MARGIN + (width - Math.ceil(panelsWidth)) / 2;
  let panelIndex = 0;
  groups.forEach((group, g) => {
    if (g > 0) x += GROUP_GAP;
    group.panels.forEach((panel, p) => {
      if (p > 0) x += GAP;
      const { width: pw, height: ph } = panel.overlay.image;
      if (pw !== iw || ph !== ih) {
        throw new FusionError('BAD_ARGUMENT', 'all panels of a figure must show the same image');
      }
      const clipId = `fs-clip-${panelIndex++}`;
      body.push(`<g transform="translate(${num(x)} ${num(top)}) scale(${num(k)})">`);
      body.push(overlayMarkup(panel.overlay, image, clipId, k));
      if (panel.marks?.length) {
        body.push(`<g clip-path="url(#${clipId})">\n${marksMarkup(panel.marks, k)}\n</g>`);
      }
      body.push('</g>');
      body.push(
        `<text${attrs({
          x: x + panelWidth / 2,
          y: labelY,
          'font-family': FONT_FAMILY,
          'font-size': FONT_SIZE.axisName,
          'text-anchor': 'middle',
          'dominant-baseline': 'central',
          fill: TEXT_COLOR,
        })}>${escapeXml(panel.label)}</text>`,
      );
      x += panelWidth;
    });
    x += GAP;
    body.push(colorbarMarkup(group.colorbar, `fs-colorbar-${g}`, x, top, panelHeight, labelY));
    x += colorbarWidth(group.colorbar);
  });
  if (options.title) {
    body.push(
      `<text${attrs({
        x: width / 2,
        y: MARGIN + FONT_SIZE.title / 2 + 2,
        'font-family': FONT_FAMILY,
        'font-size': FONT_SIZE.title,
        'font-weight': 'bold',
        'text-anchor': 'middle',
        'dominant-baseline': 'central',
        fill: TEXT_COLOR,
      })}>${escapeXml(options.title)}</text>`,
    );
    if (options.subtitle) {
      body.push(
        `<text${attrs({
          x: width / 2,
          y: MARGIN + TITLE_HEIGHT + SUBTITLE_HEIGHT / 2 - 4,
          'font-family': FONT_FAMILY,
          'font-size': FONT_SIZE.subtitle,
          'text-anchor': 'middle',
          'dominant-baseline': 'central',
          fill: MUTED_TEXT_COLOR,
        })}>${escapeXml(options.subtitle)}</text>`,
      );
    }
  }
  return svgDocument(width, height, body.join('\n') + '\n');
}
