/**
 * SVG figure to a one-page vector PDF (pdfkit + svg-to-pdfkit): paths stay paths and text stays text in
 * the bundled DejaVu Sans, so a figure prints sharp at any size and looks as the PNG does.
 */
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';

import { FusionError } from '../common/errors.ts';
import { figureFontFiles } from '../engine/report/fonts.ts';

const REGULAR = 'DejaVuSans';
const BOLD = 'DejaVuSans-Bold';

/** `size` in SVG user units, drawn as points: one page exactly the figure's size. */
export function svgToPdf(svg: string, size: { width: number; height: number }): Promise<Uint8Array> {
  const fonts = figureFontFiles();
  const doc = new PDFDocument({ size: [size.width, size.height], margin: 0, autoFirstPage: true });
  doc.registerFont(REGULAR, fonts.regular);
  doc.registerFont(BOLD, fonts.bold);
  const chunks: Buffer[] = [];
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on('error', reject);
  });
  try {
    SVGtoPDF(doc, svg, 0, 0, {
      width: size.width,
      height: size.height,
      assumePt: true,
      // Every family maps to the bundled font: no system fonts, as for PNGs.
      fontCallback: (_family, bold) => (bold ? BOLD : REGULAR),
      // Embedded images only (the SVG check already refused external links).
      documentCallback: () => undefined,
      // Unsupported features are skipped silently rather than printed to the console.
      warningCallback: () => {},
    });
  } catch (error) {
    throw new FusionError('BAD_ARGUMENT', `SVG could not be drawn as PDF: ${(error as Error).message}`, {
      cause: error,
    });
  }
  doc.end();
  return done;
}
