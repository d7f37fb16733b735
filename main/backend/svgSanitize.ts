/**
 * The gate an exported SVG passes before it is saved or rendered. Saved figures are promised inert: a
 * figure opened in a browser must not run code or fetch anything. Checking the text for bad patterns
 * cannot keep that promise (SVG has too many ways to say "javascript:", e.g. <set attributeName="href">),
 * so the SVG is parsed (xmlTree.ts) and written again from an allowlist (svgAllowlist.ts): only known
 * drawing elements and attributes survive, links only to the figure itself or to embedded PNG/JPEG
 * images, CSS only without imports, escapes or outside url()s. A DOCTYPE (entities) or malformed XML
 * is refused outright; anything else not allowed is dropped, and listed in `dropped`.
 */
import { FusionError } from '../common/errors.ts';
import { escapeXml } from '../engine/report/svg.ts';
import {
  ATTRIBUTES,
  ELEMENTS,
  isEmbeddedRaster,
  isLocalFragment,
  LOCAL_LINK_ELEMENTS,
  unsafeCss,
  XML_ATTRIBUTES,
} from './svgAllowlist.ts';
import { parseXml, XML_NS, XMLNS_NS, type XmlAttribute, type XmlElement, type XmlNode } from './xmlTree.ts';

export const SVG_NS = 'http://www.w3.org/2000/svg';
export const XLINK_NS = 'http://www.w3.org/1999/xlink';

/** Largest page side accepted, in SVG user units (a figure is a few thousand at most). */
const MAX_SIDE = 20_000;

export interface SanitizedSvg {
  /** The figure rebuilt from what is allowed: the text to save and render. */
  readonly svg: string;
  /** Page size in user units (width/height attributes, else the viewBox). */
  readonly width: number;
  readonly height: number;
  /** What was removed, e.g. '<script>', 'onclick on <rect>'; empty for every figure the app draws. */
  readonly dropped: readonly string[];
}

function refuse(why: string): never {
  throw new FusionError('BAD_ARGUMENT', `exportFigure: the SVG is refused: ${why}`);
}

/** Writes the allowed part of a tree, noting what it leaves out. */
class Rebuild {
  readonly dropped = new Set<string>();
  usesXlink = false;
  /** Namespace declarations written on the root (each once, however often the input declared it). */
  private readonly declared = new Set<string>();

  drop(what: string): void {
    this.dropped.add(what);
  }

  /** The element as text, or '' when it is dropped (with everything inside it). */
  element(element: XmlElement, isRoot = false): string {
    const name = element.local;
    if ((element.ns !== SVG_NS && element.ns !== null) || !ELEMENTS.has(name)) {
      this.drop(`<${element.name}>`);
      return '';
    }
    if (name === 'style') return this.styleSheet(element);
    const attributes: string[] = [];
    let linked = false;
    for (const attribute of element.attributes) {
      if (attribute.ns === XMLNS_NS) {
        if (isRoot) attributes.push(...this.rootDeclaration(attribute));
        continue;
      }
      const isLink = attribute.local === 'href' && (attribute.ns === null || attribute.ns === XLINK_NS);
      if (isLink) {
        const kept = this.link(name, attribute);
        if (kept !== null) attributes.push(kept);
        linked ||= kept !== null;
        continue;
      }
      const kept = this.attribute(name, attribute);
      if (kept !== null) attributes.push(kept);
    }
    // An image shows only its embedded picture and a <use> only what it points at: without them, nothing.
    if ((name === 'image' || name === 'use') && !linked) {
      this.drop(`<${element.name}> without an allowed href`);
      return '';
    }
    const content = element.children.map((child) => this.node(child)).join('');
    const open = `<${name}${attributes.join('')}`;
    if (!isRoot) return content === '' ? `${open}/>` : `${open}>${content}</${name}>`;
    // The root declares the namespaces the output uses, where the input declared them if it did.
    const svgNs = this.declared.has(` xmlns="${SVG_NS}"`) ? '' : ` xmlns="${SVG_NS}"`;
    const xlinkNs =
      this.usesXlink && !this.declared.has(` xmlns:xlink="${XLINK_NS}"`) ? ` xmlns:xlink="${XLINK_NS}"` : '';
    return `<svg${svgNs}${xlinkNs}${attributes.join('')}>${content}</svg>`;
  }

  private node(node: XmlNode): string {
    return node.kind === 'text' ? escapeXml(node.text) : this.element(node);
  }

  /** Only the SVG and XLink namespaces are declared again, with their usual prefixes. */
  private rootDeclaration(attribute: XmlAttribute): string[] {
    const declaration =
      attribute.local === ''
        ? ` xmlns="${SVG_NS}"`
        : attribute.value === XLINK_NS
          ? ` xmlns:xlink="${XLINK_NS}"`
          : null;
    if (declaration === null || this.declared.has(declaration)) return [];
    this.declared.add(declaration);
    return [declaration];
  }

  /** href / xlink:href: a #fragment where a local link is expected, an embedded raster on <image>. */
  private link(element: string, attribute: XmlAttribute): string | null {
    const value = attribute.value.trim();
    const allowed =
      element === 'image'
        ? isEmbeddedRaster(value)
        : LOCAL_LINK_ELEMENTS.has(element) && isLocalFragment(value);
    const written = attribute.ns === XLINK_NS ? 'xlink:href' : 'href';
    if (!allowed) {
      this.drop(`${written} on <${element}>`);
      return null;
    }
    if (attribute.ns === XLINK_NS) this.usesXlink = true;
    return ` ${written}="${escapeXml(value)}"`;
  }

  private attribute(element: string, attribute: XmlAttribute): string | null {
    const { ns, local, value } = attribute;
    const written = ns === XML_NS ? `xml:${local}` : local;
    const allowed = ns === null ? ATTRIBUTES.has(local) : ns === XML_NS && XML_ATTRIBUTES.has(local);
    if (!allowed) {
      this.drop(`${ns === null || ns === XML_NS ? written : `{${ns}}${local}`} on <${element}>`);
      return null;
    }
    // Every value is CSS or CSS-like (fill="url(#g)"), so each gets the style checks.
    const unsafe = unsafeCss(value);
    if (unsafe !== null) {
      this.drop(`${written} on <${element}> (${unsafe})`);
      return null;
    }
    return ` ${written}="${escapeXml(value)}"`;
  }

  /** A <style> element: its CSS (CDATA or not) as plain text, and only when it is safe. */
  private styleSheet(element: XmlElement): string {
    if (element.children.some((child) => child.kind === 'element')) {
      this.drop('<style> with elements inside');
      return '';
    }
    const css = element.children.map((child) => (child.kind === 'text' ? child.text : '')).join('');
    const unsafe = unsafeCss(css);
    const type = element.attributes.find((a) => a.ns === null && a.local === 'type')?.value.trim();
    if (unsafe !== null || (type !== undefined && type !== '' && type.toLowerCase() !== 'text/css')) {
      this.drop(`<style> (${unsafe ?? `type ${JSON.stringify(type)}`})`);
      return '';
    }
    return `<style>${escapeXml(css)}</style>`;
  }
}

function length(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** The page size from the root's width/height, else its viewBox; refused when absent or absurd. */
function pageSize(root: XmlElement): { width: number; height: number } {
  const attribute = (name: string) => root.attributes.find((a) => a.ns === null && a.local === name)?.value;
  const viewBox = attribute('viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number);
  const width = length(attribute('width')) ?? viewBox?.[2];
  const height = length(attribute('height')) ?? viewBox?.[3];
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

/** Parses `svg`, keeps what is allowed, and measures the page; refuses what cannot be an SVG figure. */
export function sanitizeSvg(svg: string): SanitizedSvg {
  if (typeof svg !== 'string') refuse('it is not text');
  const document = parseXml(svg, refuse);
  const { root } = document;
  if (root.local !== 'svg' || (root.ns !== SVG_NS && root.ns !== null)) {
    refuse(`the root element must be <svg>, got <${root.name}>`);
  }
  const rebuild = new Rebuild();
  const body = rebuild.element(root, true);
  const size = pageSize(root);
  for (const what of document.removed) rebuild.drop(what);
  // The file is saved as UTF-8 whatever the source said.
  const declaration = document.declaration
    ? `<?xml version="${document.declaration.version}"${
        document.declaration.encoding === undefined ? '' : ' encoding="UTF-8"'
      }?>\n`
    : '';
  const trailing = /\n\s*$/.test(svg) ? '\n' : '';
  return { svg: `${declaration}${body}${trailing}`, ...size, dropped: [...rebuild.dropped] };
}
