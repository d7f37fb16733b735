/**
 * Any SVG on screen (an ECharts chart, an attention overlay over its image) as a standalone SVG file:
 * namespaces and size set, <image> hrefs inlined as data: URIs (the exporter must not fetch
 * anything), and the styles CSS applied through classes written onto the elements, since the file
 * is read without our stylesheet. Copied while figures show their light colours, so a figure
 * exported from a dark window is the same file as one exported from a light one.
 */
import { withPublicationColors } from '../composables/useColorScheme.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

/** Properties a stylesheet may set on SVG content that a standalone file must carry itself. */
const TEXT_PROPS = ['font-family', 'font-size', 'font-weight', 'font-style'] as const;
const PAINT_PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'opacity'] as const;

async function blobToDataUri(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the image'));
    reader.readAsDataURL(blob);
  });
}

/** The image's bytes as a data: URI; throws naming the URL when it cannot be fetched. */
export async function inlineImage(href: string): Promise<string> {
  if (href.startsWith('data:')) return href;
  const response = await fetch(href);
  if (!response.ok) throw new Error(`cannot embed image ${href}: HTTP ${response.status}`);
  return blobToDataUri(await response.blob());
}

function copyStyles(source: Element, target: Element, props: readonly string[]): void {
  const computed = getComputedStyle(source);
  const declarations = props
    .map((prop) => [prop, computed.getPropertyValue(prop)] as const)
    .filter(([, value]) => value !== '')
    .map(([prop, value]) => `${prop}:${value}`);
  if (!declarations.length) return;
  const existing = target.getAttribute('style');
  target.setAttribute('style', [existing, ...declarations].filter(Boolean).join(';'));
}

function size(svg: SVGSVGElement): { width: number; height: number } {
  const box = svg.getBoundingClientRect();
  const attr = (name: 'width' | 'height') => Number.parseFloat(svg.getAttribute(name) ?? '');
  const width = box.width || attr('width') || svg.viewBox.baseVal?.width || 0;
  const height = box.height || attr('height') || svg.viewBox.baseVal?.height || 0;
  return { width: Math.round(width), height: Math.round(height) };
}

/** The element copied with its size, namespaces and the paint its stylesheet gives it, now. */
function styledClone(svg: SVGSVGElement): SVGSVGElement {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('xmlns:xlink', XLINK_NS);
  const { width, height } = size(svg);
  if (width && height) {
    clone.setAttribute('width', String(width));
    clone.setAttribute('height', String(height));
    if (!clone.hasAttribute('viewBox')) clone.setAttribute('viewBox', `0 0 ${width} ${height}`);
  }
  clone.removeAttribute('class');

  // The clone has the same structure, so elements pair up in document order.
  const originals = [svg, ...svg.querySelectorAll('*')];
  const copies = [clone, ...clone.querySelectorAll('*')];
  originals.forEach((original, i) => {
    const copy = copies[i];
    const tag = original.localName;
    if (tag === 'svg' || tag === 'text' || tag === 'tspan') copyStyles(original, copy, TEXT_PROPS);
    // Only elements a stylesheet can reach by class need their paint spelled out.
    if (tag !== 'svg' && original.hasAttribute('class')) copyStyles(original, copy, PAINT_PROPS);
    copy.removeAttribute('class');
  });
  return clone;
}

export async function serializeSvg(svg: SVGSVGElement): Promise<string> {
  const clone = await withPublicationColors(() => styledClone(svg));
  await Promise.all(
    [...clone.querySelectorAll('image')].map(async (image) => {
      const href = image.getAttribute('href') ?? image.getAttributeNS(XLINK_NS, 'href');
      if (!href) return;
      const uri = await inlineImage(href);
      image.setAttribute('href', uri);
      image.removeAttributeNS(XLINK_NS, 'href');
    }),
  );

  return new XMLSerializer().serializeToString(clone);
}
