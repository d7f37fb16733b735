/** Small helpers for SVG written by hand (tables, overlays, multi-panel figures). */

/** Characters XML 1.0 cannot hold: C0 controls other than tab/newline/CR, U+FFFE/F, lone surrogates. */
/* eslint-disable no-control-regex -- matching control characters is the point */
export const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/* eslint-enable no-control-regex */

/** Escapes text for XML and drops what XML cannot hold at all: model answers can contain any byte. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Shortest decimal with at most 3 fractional digits: stable, compact coordinates. */
export function num(v: number): string {
  const rounded = Math.round(v * 1000) / 1000;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

export function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v as string)}"`)
    .join('');
}

/** A standalone SVG document of the given pixel size (viewBox defaults to the same size). */
export function svgDocument(width: number, height: number, body: string, viewBox?: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1"` +
    `${attrs({ width, height, viewBox: viewBox ?? `0 0 ${num(width)} ${num(height)}` })}>\n${body}</svg>\n`
  );
}
