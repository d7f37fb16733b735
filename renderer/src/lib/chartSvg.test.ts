import { describe, expect, it } from 'vitest';

import { stableClassNames } from './chartSvg.ts';

/** A chart as zrender writes it, its hover classes numbered from `first` (the page-wide counter). */
function chart(first: number): string {
  const a = `zr0-cls-${first}`;
  const b = `zr0-cls-${first + 3}`;
  return [
    '<svg width="10" height="10"><style>',
    `.${b}:hover {cursor:pointer;}`,
    `.${a}:hover {pointer-events:none;}`,
    '</style>',
    `<path d="M0 0L1 1" class="${a}"/><path d="M1 1L2 2" class="${a}"/>`,
    `<text class="${b}" clip-path="url(#zr0-c0)">zr0-cls-99 is text</text></svg>`,
  ].join('\n');
}

describe('stableClassNames', () => {
  it('gives the same chart exported at any point of the page-wide counter the same text', () => {
    expect(stableClassNames(chart(8))).toBe(stableClassNames(chart(0)));
    expect(chart(8)).not.toBe(chart(0));
  });

  it('numbers classes in order of first use, keeps other ids, and changes nothing else', () => {
    const stable = stableClassNames(chart(40));
    expect(stable).toContain('.zr0-cls-0:hover {cursor:pointer;}');
    expect(stable).toContain('.zr0-cls-1:hover {pointer-events:none;}');
    expect(stable).toContain('<path d="M0 0L1 1" class="zr0-cls-1"/><path d="M1 1L2 2" class="zr0-cls-1"/>');
    expect(stable).toContain('clip-path="url(#zr0-c0)"');
    expect(stable.replace(/zr0-cls-\d+/g, 'X')).toBe(chart(40).replace(/zr0-cls-\d+/g, 'X'));
  });

  it('leaves an SVG without zrender classes as it is', () => {
    const plain = '<svg><rect class="frame" fill="#ffffff"/></svg>';
    expect(stableClassNames(plain)).toBe(plain);
  });
});
