/**
 * An ECharts chart's SVG as a stable file. zrender names the CSS classes of its hover styles from one
 * counter shared by every chart on the page (zr0-cls-0, then zr0-cls-8 at the next export…), so the
 * same chart exported twice would differ in those names alone. They are renumbered here in order of
 * first use, so equal figures are equal files: exported again, or from the dark window.
 */
const ZR_CLASS = /\b(zr\d+)-cls-(\d+)\b/g;

export function stableClassNames(svg: string): string {
  const renamed = new Map<string, string>();
  return svg.replace(ZR_CLASS, (name: string, zr: string) => {
    let stable = renamed.get(name);
    if (stable === undefined) {
      stable = `${zr}-cls-${renamed.size}`;
      renamed.set(name, stable);
    }
    return stable;
  });
}
