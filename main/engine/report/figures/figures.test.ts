import { describe, expect, it } from 'vitest';
import { rgbToHex, sampleColormap } from '../../../common/charts/colormaps.ts';
import { decodePng, gridRects, pixel, solidImage } from '../testing.ts';
import { caTriptychPng, caTriptychSvg } from './caTriptych.ts';
import { formatTick } from './colorbar.ts';
import { layerStripPng, layerStripSvg } from './layerStrip.ts';

const image = solidImage(40, 30, [128, 128, 128]);
const tokenRects = gridRects(40, 30, 3, 4);
const mapAt = (layer: number) => tokenRects.map((_, i) => (i === 6 ? layer / 10 : 0.01));

describe('layerStrip', () => {
  const input = {
    image,
    tokenRects,
    layers: [2, 8, 20].map((layer) => ({ layer, map: mapAt(layer) })),
    boxes: [[20, 10, 40, 30]] as [number, number, number, number][],
    title: 'Attention <by> layer',
  };

  it('lays out one labelled overlay per layer with one colour bar, image embedded once', () => {
    const svg = layerStripSvg(input);
    for (const layer of [2, 8, 20]) expect(svg).toContain(`>layer ${layer}</text>`);
    expect(svg).toContain('>Attention &lt;by&gt; layer</text>');
    expect(svg.match(/data:image\/png;base64,/g)).toHaveLength(1);
    expect(svg.match(/<use xlink:href="#fs-image"\/>/g)).toHaveLength(3);
    expect(svg.match(/<linearGradient/g)).toHaveLength(1);
    expect(svg).toContain('>attention</text>');
    // shared scale: the colour bar spans the smallest and largest values of all layers
    expect(svg).toContain(`>${formatTick(0.01)}</text>`);
    expect(svg).toContain(`>${formatTick(2)}</text>`);
    // the top value of the strip is the hot cell at layer 20
    expect(svg).toContain(`fill="${rgbToHex(sampleColormap('viridis', 1))}"`);
  });

  it("normalises each map on its own with normalise: 'each'", () => {
    const svg = layerStripSvg({ ...input, normalise: 'each' });
    expect(svg.match(new RegExp(`fill="${rgbToHex(sampleColormap('viridis', 1))}"`, 'g'))).toHaveLength(3);
    expect(svg).toContain('>high</text>');
  });

  it('rasterises at the requested scale, deterministically', () => {
    const one = decodePng(layerStripPng(input, { scale: 1 }));
    const two = decodePng(layerStripPng(input, { scale: 2 }));
    expect(two.width).toBe(one.width * 2);
    expect(two.height).toBe(one.height * 2);
    expect(layerStripPng(input, { scale: 2 })).toEqual(layerStripPng(input, { scale: 2 }));
  });
});

describe('caTriptych', () => {
  const pre = tokenRects.map((_, i) => (i === 0 ? 0.5 : 0.05));
  const final = tokenRects.map((_, i) => (i === 0 ? 0.5 : i === 6 ? 0.3 : 0.05));

  it('shows pre-integration, final and CA panels with two colour bars', () => {
    const svg = caTriptychSvg({
      image,
      tokenRects,
      pre: { layer: 2, map: pre },
      final: { layer: 31, map: final },
    });
    expect(svg).toContain('>pre-integration (layer 2)</text>');
    expect(svg).toContain('>final (layer 31)</text>');
    expect(svg).toContain('>CA = final \u2212 pre</text>');
    expect(svg.match(/<linearGradient/g)).toHaveLength(2);
    expect(svg).toContain('>CA</text>');
    // shared noise (token 0) cancels: CA 0 is the neutral centre of coolwarm
    expect(svg).toContain('fill="#dddddd"');
    expect(svg).toContain(`fill="${rgbToHex(sampleColormap('coolwarm', 1))}"`);
  });

  it('draws the CA panel in coolwarm, neutral where CA = 0', () => {
    const png = decodePng(
      caTriptychPng(
        {
          image,
          tokenRects,
          pre: { layer: 2, map: pre },
          final: { layer: 31, map: final },
          opacity: 1,
          panelWidth: 160,
        },
        { scale: 1 },
      ),
    );
    // layout: margin 14, two 160-px panels with a 10-px gap, then a colour bar, then the CA panel.
    // Sample the middle of token 0's cell (top-left) in the last panel: find it from the right edge.
    const panelHeight = 160 * (30 / 40);
    const y = 14 + Math.round(panelHeight / 6);
    const row: string[] = [];
    for (let x = 0; x < png.width; x++) row.push(rgbToHex(pixel(png, x, y)));
    expect(row).toContain('#dddddd');
  });

  it('rejects maps of different lengths', () => {
    expect(() =>
      caTriptychSvg({ image, tokenRects, pre: { layer: 2, map: [1] }, final: { layer: 31, map: final } }),
    ).toThrow(/pre.map has 1 values/);
  });
});

describe('untouched image panel, marks and subtitle', () => {
  const pre = tokenRects.map((_, i) => (i === 0 ? 0.5 : 0.05));
  const final = tokenRects.map((_, i) => (i === 6 ? 0.5 : 0.05));

  it('opens a strip with the image untouched, so no colour of it is tinted', () => {
    const strip = {
      image,
      tokenRects,
      layers: [2, 8].map((layer) => ({ layer, map: mapAt(layer) })),
      title: 'what color is the square? \u2014 gold: grey',
      subtitle: 'fusion layers 2 \u00b7 final 8',
    };
    const svg = layerStripSvg({ ...strip, original: true });
    expect(svg).toContain('>image</text>');
    expect(svg).toContain('>fusion layers 2 \u00b7 final 8</text>');
    expect(svg.match(/data:image\/png;base64,/g)).toHaveLength(1);
    expect(svg.match(/<use xlink:href="#fs-image"\/>/g)).toHaveLength(3);
    // The first panel is the image itself: its pixels are the image's grey, at full opacity 1.
    const png = decodePng(layerStripPng({ ...strip, original: true, opacity: 1 }, { scale: 1 }));
    const plain = decodePng(layerStripPng({ ...strip, opacity: 1 }, { scale: 1 }));
    const top = 14 + 30 + 18;
    expect(pixel(png, 14 + 90, top + 20)).toEqual([128, 128, 128]);
    expect(png.width).toBeGreaterThan(plain.width);
  });

  it('outlines the crops on the triptych’s image panel, each tagged with its method', () => {
    const svg = caTriptychSvg({
      image,
      tokenRects,
      pre: { layer: 2, map: pre },
      final: { layer: 31, map: final },
      original: {
        label: 'image, crops fed back',
        marks: [
          { rect: { x: 10, y: 0, width: 20, height: 20 }, color: '#D55E00', label: 'CA crop' },
          { rect: { x: 0, y: 10, width: 30, height: 20 }, color: '#0072B2', label: 'ViCrop' },
        ],
      },
      title: 'q',
      subtitle: 'no refinement: a \u00b7 CA crop: b',
    });
    expect(svg).toContain('>image, crops fed back</text>');
    expect(svg).toContain('>CA crop</text>');
    expect(svg).toContain('>ViCrop</text>');
    expect(svg).toMatch(/<rect x="10" y="0" width="20" height="20" fill="none" stroke="#D55E00"/);
    expect(svg).toMatch(/<rect x="0" y="10" width="30" height="20" fill="none" stroke="#0072B2"/);
    expect(svg).toContain('>no refinement: a \u00b7 CA crop: b</text>');
    // pre, final, CA and the image: four panels, the image embedded once
    expect(svg.match(/<use xlink:href="#fs-image"\/>/g)).toHaveLength(4);
  });

  it('widens the figure for a title wider than its panels, never cutting it', () => {
    const title = 'a question long enough to be wider than one small panel and its colour bar';
    const svg = layerStripSvg({
      image,
      tokenRects,
      layers: [{ layer: 0, map: mapAt(0) }],
      title,
      panelWidth: 40,
    });
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThan(400);
    expect(svg).toContain(`>${title}</text>`);
  });
});
