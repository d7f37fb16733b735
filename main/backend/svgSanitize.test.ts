/**
 * The SVG export gate: known SVG-XSS vectors come out inert (or are refused), and every figure
 * FusionScope draws itself comes through unchanged, pixel for pixel.
 */
import * as echarts from 'echarts';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

import { evolutionCurvesOption } from '../common/charts/evolutionCurves.ts';
import { fusionCurveOption } from '../common/charts/fusionCurve.ts';
import { FusionError } from '../common/errors.ts';
import { caTriptychSvg } from '../engine/report/figures/caTriptych.ts';
import { layerStripSvg } from '../engine/report/figures/layerStrip.ts';
import { overlaySvg } from '../engine/report/overlay/vector.ts';
import { renderChartSvg } from '../engine/report/renderChartSvg.ts';
import { svgToPng } from '../engine/report/svgToPng.ts';
import { tableSvg } from '../engine/report/table/svg.ts';
import { gridRects, solidImage } from '../engine/report/testing.ts';
import { sanitizeSvg } from './svgSanitize.ts';

const OPEN =
  '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="30">';
const wrap = (body: string) => `${OPEN}${body}</svg>`;

function pngDataUri(): string {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(200);
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Whatever a browser could run or fetch, in any spelling the sanitiser's output could still hold. */
const DANGER = [
  /<(\w+:)?(script|set|animate\w*|discard|foreignObject|iframe|embed|object|a|handler|listener)[\s/>]/i,
  /\son\w+\s*=/i,
  /javascript|vbscript|alert/i,
  /https?:|\/\/evil|example\.com/i,
  /@import|expression\s*\(|behavior|binding/i,
  /<!DOCTYPE|<!ENTITY|<\?xml-stylesheet|<!\[CDATA\[/i,
  /data:(?!image\/png;base64,iVBOR)/i,
  /xml:base|xlink:(actuate|show|type)|ev:event/i,
];

const VECTORS: Record<string, string> = {
  script: wrap('<script>alert(1)</script>'),
  'script, mixed case': wrap('<ScRiPt>alert(1)</ScRiPt>'),
  'script with an external source': wrap('<script xlink:href="https://evil/x.js"/>'),
  'svg:script (namespace prefix)': wrap(
    '<svg:script xmlns:svg="http://www.w3.org/2000/svg">alert(1)</svg:script>',
  ),
  'html:script (XHTML namespace)': wrap(
    '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>',
  ),
  'set href to javascript:': wrap(
    '<a><set attributeName="href" to="javascript:alert(1)"/><rect width="5" height="5"/></a>',
  ),
  'set xlink:href, prefixed': wrap(
    '<svg:set xmlns:svg="http://www.w3.org/2000/svg" attributeName="xlink:href" to="javascript:alert(1)"/>',
  ),
  'animate href values': wrap(
    '<a><animate attributeName="href" values="javascript:alert(1)"/><text>x</text></a>',
  ),
  'animateTransform / animateMotion / discard': wrap(
    '<animateTransform attributeName="transform" begin="0s" onbegin="alert(1)"/>' +
      '<animateMotion path="M0 0" onend="alert(1)"/><discard onbegin="alert(1)"/>',
  ),
  'a href javascript:': wrap('<a href="javascript:alert(1)"><rect width="5" height="5"/></a>'),
  'a xlink:href javascript:': wrap('<a xlink:href="javascript:alert(1)"><rect width="5" height="5"/></a>'),
  'event attributes, any case, root included':
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="alert(1)">' +
    '<rect onclick="alert(1)" ONMOUSEOVER="alert(1)" width="5" height="5"/><g onfocusin="alert(1)"/></svg>',
  'foreignObject with HTML': wrap(
    '<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(1)"/></foreignObject>',
  ),
  'iframe / embed / object': wrap(
    '<iframe src="https://evil/"/><embed src="https://evil/x.swf"/><object data="https://evil/x"/>',
  ),
  'image from the network': wrap('<image href="https://example.com/x.png" width="5" height="5"/>'),
  'image xlink:href javascript:': wrap('<image xlink:href="javascript:alert(1)" width="5" height="5"/>'),
  'image of SVG (data URI)': wrap(
    `<image href="data:image/svg+xml;base64,${Buffer.from('<svg onload="alert(1)"/>').toString('base64')}"/>`,
  ),
  'image mislabelled as PNG': wrap(
    `<image href="data:image/png;base64,${Buffer.from('<svg onload="alert(1)"/>').toString('base64')}"/>`,
  ),
  'image with an onerror handler': wrap(`<image href="${pngDataUri()}" onerror="alert(1)"/>`),
  'use of an external document': wrap('<use href="https://evil/sprite.svg#icon"/>'),
  'use of a data: document': wrap(
    '<use xlink:href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+#x"/>',
  ),
  'xlink prefix bound to another namespace': wrap(
    '<use xmlns:xlink="http://evil/" xlink:href="#a"/><rect id="a" width="1" height="1"/>',
  ),
  'style attribute url() to the network': wrap('<rect style="fill:url(http://example.com/p)" width="5"/>'),
  'style attribute javascript: url': wrap(`<rect style="background:url('javascript:alert(1)')"/>`),
  'style attribute expression()': wrap('<rect style="width:expression(alert(1))"/>'),
  'style attribute behavior / binding': wrap(
    '<rect style="behavior:url(#x);-moz-binding:url(#y)"/><g style="behavior: url(x.htc)"/>',
  ),
  'CSS escape spelling url(': wrap('<rect style="fill:\\75 rl(https://evil/p)"/>'),
  'CSS comment splitting url(': wrap('<rect style="fill:url(/**/https://evil/p)"/>'),
  'image-set()': wrap('<rect style="fill:image-set(&quot;https://evil/a.png&quot; 1x)"/>'),
  'presentation attribute url() to the network': wrap('<rect fill="url(https://evil/#g)" width="5"/>'),
  'style element @import': wrap('<style>@import url(https://evil/x.css);</style>'),
  'style element @import, quoted and upper case': wrap('<style>@IMPORT "https://evil/x.css";</style>'),
  'style element in CDATA with url()': wrap(
    '<style><![CDATA[rect{fill:url(https://evil/p)}]]></style><rect width="5"/>',
  ),
  'style element with a script type': wrap('<style type="text/javascript">alert(1)</style>'),
  'xml-stylesheet processing instruction': `<?xml-stylesheet href="https://evil/x.css"?>${wrap('')}`,
  'entity-encoded javascript:': wrap('<a href="&#106;avascript&#x3A;alert(1)"><text>x</text></a>'),
  'tab and newline inside javascript:': wrap(
    '<use href="jav&#x09;ascript:alert(1)"/><use href=" java&#10;script:alert(1)"/>',
  ),
  'NUL inside javascript:': wrap(
    '<use href="java&#0;script:alert(1)"/><rect style="fill:ur&#0;l(https://evil/p)"/>',
  ),
  'xml:base and XLink behaviour attributes': wrap(
    '<g xml:base="javascript:alert(1)//"><use xlink:href="#a" xlink:show="embed" xlink:actuate="onLoad"/></g>',
  ),
  'XML Events attributes': wrap(
    '<rect xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click" width="5"/>',
  ),
  'handler and listener elements': wrap(
    '<handler type="application/ecmascript">alert(1)</handler><listener event="click"/>',
  ),
};

describe('sanitizeSvg: SVG-XSS vectors', () => {
  for (const [name, svg] of Object.entries(VECTORS)) {
    it(`makes inert: ${name}`, () => {
      const clean = sanitizeSvg(svg);
      const withoutNamespaces = clean.svg.replace(/ xmlns(:xlink)?="[^"]*"/g, '');
      for (const pattern of DANGER) expect(withoutNamespaces).not.toMatch(pattern);
      expect(clean.dropped.length).toBeGreaterThan(0);
      // The output is a document the sanitiser itself keeps whole: nothing left to remove.
      const again = sanitizeSvg(clean.svg);
      expect(again).toEqual({ ...clean, dropped: [] });
    });
  }

  it('keeps what is allowed around what it drops', () => {
    const clean = sanitizeSvg(
      wrap(
        '<rect onclick="alert(1)" width="5" height="6" fill="url(#g)"/>' +
          '<use xmlns:l="http://www.w3.org/1999/xlink" l:href="#g"/>' +
          `<image href="${pngDataUri()}" width="2" height="2"/><script>alert(1)</script><text>a &lt; b</text>`,
      ),
    );
    expect(clean.svg).toBe(
      wrap(
        '<rect width="5" height="6" fill="url(#g)"/><use xlink:href="#g"/>' +
          `<image href="${pngDataUri()}" width="2" height="2"/><text>a &lt; b</text>`,
      ),
    );
    expect(clean.dropped).toEqual(['onclick on <rect>', '<script>']);
  });

  it('writes CDATA and escaped markup back as text, never as markup', () => {
    const clean = sanitizeSvg(
      wrap('<text><![CDATA[</text><script>alert(1)</script>]]>&lt;b&gt;&amp;</text>'),
    );
    expect(clean.svg).toBe(
      wrap('<text>&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;&amp;</text>'),
    );
    expect(clean.dropped).toEqual([]);
  });

  const refused: Record<string, [string, RegExp]> = {
    DOCTYPE: [`<!DOCTYPE svg>${wrap('')}`, /DOCTYPE and entity declarations are not allowed/],
    'entity declarations': [
      `<!DOCTYPE svg [<!ENTITY x "javascript:alert(1)">]>${wrap('<a href="&x;"/>')}`,
      /DOCTYPE/,
    ],
    'an undefined entity': [wrap('<text>&xxe;</text>'), /undefined entity "&xxe;"/],
    'a DOCTYPE after the root': [`${wrap('')}<!DOCTYPE x>`, /DOCTYPE/],
    'another root element': ['<html><svg/></html>', /root element must be <svg>, got <html>/],
    'a root in another namespace': [
      '<svg xmlns="http://www.w3.org/1999/xhtml" width="4" height="4"/>',
      /root element must be <svg>/,
    ],
    'mismatched tags': [wrap('<g><rect></g></rect>'), /<\/g> does not close <rect>/],
    'an unclosed element': [`${OPEN}<g>`, /is not closed/],
    'a duplicate attribute': [wrap('<rect width="1" width="2"/>'), /attribute width twice/],
    'an unbound prefix': [wrap('<x:rect/>'), /undeclared prefix "x"/],
    'a stray &': [wrap('<text>a & b</text>'), /"&" that starts no reference/],
    'an unquoted value': [wrap('<rect width=5/>'), /must be quoted/],
    'content after the root': [`${wrap('')}<svg/>`, /content after the root element/],
    'deep nesting': [wrap('<g>'.repeat(300) + '</g>'.repeat(300)), /nested deeper than 256/],
    'a page without a size': ['<svg xmlns="http://www.w3.org/2000/svg"/>', /width must be a number/],
  };
  for (const [name, [svg, why]] of Object.entries(refused)) {
    it(`refuses ${name}`, () => {
      let error: unknown;
      try {
        sanitizeSvg(svg);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FusionError);
      expect(error).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(why) });
    });
  }
});

/** The same figure before and after, as the exporter renders it. */
function expectSamePixels(before: string, after: string): void {
  expect(Buffer.from(svgToPng(after, { scale: 1 })).equals(Buffer.from(svgToPng(before, { scale: 1 })))).toBe(
    true,
  );
}

describe("sanitizeSvg: FusionScope's own figures", () => {
  const image = solidImage(40, 30, [90, 140, 200]);
  const tokenRects = gridRects(40, 30, 3, 4);
  const map = tokenRects.map((_, i) => i / tokenRects.length);
  const mean = Array.from({ length: 12 }, (_, l) => 0.6 - 0.02 * l);
  const figures: Record<string, string> = {
    'fusion curve': renderChartSvg(
      fusionCurveOption({
        title: 'Fusion <LLaVA> & "co"',
        metricLabel: 'VQA accuracy',
        xAxis: 'layer',
        series: [
          {
            model: 'llava',
            mean,
            lower: mean.map((v) => v - 0.05),
            upper: mean.map((v) => v + 0.05),
            baseline: 0.62,
            fusionLayers: [4],
            reviewLayers: [10],
          },
        ],
      }),
      { width: 720, height: 420 },
    ),
    'evolution curves': renderChartSvg(
      evolutionCurvesOption({
        layers: [0, 1, 2, 3],
        series: [
          { name: 'box mass', mean: [0.1, 0.2, 0.3, 0.4] },
          { name: 'Hellinger to final', mean: [0.5, 0.3, 0.2, 0] },
        ],
      }),
      { width: 600, height: 500 },
    ),
    overlay: overlaySvg({ image, map, tokenRects, colormap: 'viridis', opacity: 0.5 }),
    'layer strip': layerStripSvg({
      image,
      tokenRects,
      layers: [1, 5].map((layer) => ({ layer, map })),
      boxes: [[5, 5, 20, 20]],
      title: "Attention 'by' layer",
    }),
    'CA triptych': caTriptychSvg({
      image,
      tokenRects,
      pre: { layer: 2, map },
      final: { layer: 9, map: map.map((v) => 1 - v) },
    }),
    table: tableSvg({
      title: 'Baseline vs refined',
      columns: ['Model', { label: 'GQA', best: 'max' }],
      rows: [
        ['LLaVA-1.5', 61.93],
        ['Q & A <x>', 60],
      ],
    }),
  };

  for (const [name, svg] of Object.entries(figures)) {
    it(`keeps the ${name}: nothing dropped, the same pixels`, () => {
      const clean = sanitizeSvg(svg);
      expect(clean.dropped).toEqual([]);
      expectSamePixels(svg, clean.svg);
      // Hand-written SVG (everything but the ECharts charts) is even the same text.
      if (!name.includes('curve')) expect(clean.svg).toBe(svg);
    });
  }

  it('keeps an ECharts chart as the app exports it (hover CSS in CDATA, classes): same pixels', () => {
    const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 400, height: 300 });
    try {
      chart.setOption({
        animation: false,
        title: { text: 'hi <b>' },
        legend: {},
        xAxis: { type: 'category', data: ['a', 'b'] },
        yAxis: {},
        series: [
          {
            type: 'line',
            data: [1, 2],
            areaStyle: {
              color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
                { offset: 0, color: 'red' },
                { offset: 1, color: 'blue' },
              ]),
            },
          },
          { type: 'bar', data: [1, 2], emphasis: { focus: 'series' } },
        ],
      });
      const svg = chart.renderToSVGString();
      expect(svg).toContain('<style');
      const clean = sanitizeSvg(svg);
      // Only the server-side hydration hints go (the app's browser charts have none).
      expect(clean.dropped.every((what) => what.startsWith('ecmeta_'))).toBe(true);
      expect(clean.svg).toContain('<style>');
      expect(clean.svg).toContain('clip-path="url(#');
      expectSamePixels(svg, clean.svg);
    } finally {
      chart.dispose();
    }
  });

  it('keeps an attention overlay as the app serialises it (nested svg, clip, embedded image): same pixels', () => {
    // What renderer/src/lib/serializeSvg.ts writes for OverlayFigure + AttentionOverlay.
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="50" viewBox="0 0 60 50" ' +
      `font-family="'DejaVu Sans', Arial, sans-serif" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
      'style="font-family:&quot;DejaVu Sans&quot;, Arial, sans-serif;font-size:16px">' +
      '<rect width="100%" height="100%" fill="#ffffff" data-v-3f2a1c="" />' +
      '<!--v-if--><g data-panel-key="a" style="fill:rgb(0, 0, 0);opacity:1">' +
      '<svg x="5" y="5" width="40" height="30" viewBox="0 0 2 2" preserveAspectRatio="none">' +
      '<clipPath id="clip-7"><rect x="0" y="0" width="2" height="2"/></clipPath>' +
      `<g clip-path="url(#clip-7)"><image href="${pngDataUri()}" x="0" y="0" width="2" height="2" ` +
      'preserveAspectRatio="none"/><g opacity="0.5" shape-rendering="crispEdges">' +
      '<rect x="0" y="0" width="1" height="1" fill="#440154"/></g><g fill="none">' +
      '<rect x="0" y="0" width="1" height="1" stroke="#ffffff" stroke-width="0.1" stroke-dasharray="0.1 0.1"/>' +
      '</g></g></svg><text x="25" y="45" text-anchor="middle" dominant-baseline="central" font-size="12" ' +
      'fill="#222222" style="font-family:&quot;DejaVu Sans&quot;">layer 3</text></g>' +
      '<g class="colorbar"><linearGradient id="cb-1" x1="0" y1="1" x2="0" y2="0">' +
      '<stop offset="0" stop-color="#440154"/><stop offset="1" stop-color="#fde725"/></linearGradient>' +
      '<rect x="50" y="5" width="6" height="30" fill="url(#cb-1)" stroke="#444444" stroke-width="0.5"/></g></svg>';
    const clean = sanitizeSvg(svg);
    expect([...clean.dropped].sort()).toEqual(['data-panel-key on <g>', 'data-v-3f2a1c on <rect>']);
    expect(clean.svg).toContain(`href="${pngDataUri()}"`);
    expectSamePixels(svg, clean.svg);
  });
});
