/**
 * The gate an exported SVG passes before it is saved or rendered: an SVG document (root <svg>) that
 * is self-contained and inert. Scripts, event handlers, <foreignObject> (HTML inside SVG), DOCTYPEs
 * (entity expansion) and links to anything but the document itself or embedded raster images are
 * refused, so a saved figure cannot run code or fetch anything when opened in a browser.
 */
import { FusionError } from '../common/errors.ts';

/** Largest page side accepted, in SVG user units (a figure is a few thousand at most). */
const MAX_SIDE = 20_000;
const EMBEDDED_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,/i;

function refuse(why: string): never {
  throw new FusionError('BAD_ARGUMENT', `exportFigure: the SVG is refused: ${why}`);
}

function length(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(["'])(.*?)\\1`, 's').exec(tag);
  return match?.[2];
}

/** Checks `svg`; returns its size in user units (width/height attributes, else the viewBox). */
export function checkSvg(svg: string): { width: number; height: number } {
  const body = svg
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[^>]*\?>/, '')
    .replace(/^(\s*<!--[\s\S]*?-->)*\s*/, '');
  if (/<!DOCTYPE|<!ENTITY/i.test(svg)) refuse('DOCTYPE and entity declarations are not allowed');
  if (!/^<svg[\s>]/.test(body)) refuse('the root element must be <svg>');
  if (!/<\/svg>\s*$/.test(body)) refuse('the document does not end with </svg>');
  if (/<(\w+:)?script[\s>/]/i.test(svg)) refuse('it contains <script>');
  if (/<(\w+:)?foreignObject[\s>/]/i.test(svg)) refuse('it contains <foreignObject>');
  if (/@import/i.test(svg)) refuse('style sheets may not @import');
  for (const [tag] of svg.matchAll(/<[a-zA-Z][^>]*>/g)) {
    const handler = /\s(on[a-z]+)\s*=/i.exec(tag);
    if (handler) refuse(`it contains the event handler attribute "${handler[1]}"`);
  }
  for (const match of svg.matchAll(/\s(?:xlink:)?href\s*=\s*(["'])(.*?)\1/gs)) {
    const link = match[2].trim();
    if (!link.startsWith('#') && !EMBEDDED_IMAGE.test(link)) {
      refuse(`external link ${JSON.stringify(link.slice(0, 80))} (only #fragments and embedded images)`);
    }
  }
  for (const match of svg.matchAll(/url\(\s*(["']?)([^"')]*)\1\s*\)/gi)) {
    const link = match[2].trim();
    if (!link.startsWith('#') && !EMBEDDED_IMAGE.test(link)) {
      refuse(`external url(${JSON.stringify(link.slice(0, 80))})`);
    }
  }
  const root = /^<svg[^>]*>/.exec(body)?.[0] ?? '';
  const viewBox = attribute(root, 'viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number);
  const width = length(attribute(root, 'width')) ?? viewBox?.[2];
  const height = length(attribute(root, 'height')) ?? viewBox?.[3];
  for (const [name, side] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (side === undefined || !Number.isFinite(side) || side <= 0 || side > MAX_SIDE) {
      refuse(
        `its ${name} must be a number of pixels in (0, ${MAX_SIDE}] (width/height or viewBox), got ${side}`,
      );
    }
  }
  return { width: width as number, height: height as number };
}
