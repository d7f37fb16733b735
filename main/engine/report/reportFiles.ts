/**
 * The files of a report folder being built: figures (SVG, and PNG at 2×, each with the provenance
 * footer of the runs that made it, so a figure that leaves the folder still says what made it),
 * charts, tables with their CSV, and plain files; written into a temporary folder and renamed, so a
 * failed report leaves nothing half written. A model's report (reportContext.ts) and the comparison
 * of several models (compare/) both build on it.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { EChartsOption } from 'echarts';

import { FusionError } from '../../common/errors.ts';
import type { RunRow } from '../../common/runs.ts';
import { withFooter } from './footer.ts';
import type { ChartSize } from './renderChartSvg.ts';
import { svgToPng } from './svgToPng.ts';
import { toCsv } from './table/csv.ts';
import { tableSvg } from './table/svg.ts';
import type { TableInput } from './table/types.ts';

/** Files that mark a folder as a report this code wrote (a model's, or a comparison). */
const REPORT_MARKERS = new Set(['report.json', 'compare.json']);

const holdsMarker = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).some((name) => REPORT_MARKERS.has(name));

/** Absent, empty, a report, or a folder of reports only (several models' layout). */
async function mayReplace(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  if (entries.length === 0 || entries.some((e) => e.isFile() && REPORT_MARKERS.has(e.name))) return true;
  for (const entry of entries) {
    if (!entry.isDirectory() || !(await holdsMarker(join(dir, entry.name)))) return false;
  }
  return true;
}

export class ReportFiles {
  readonly files = new Map<string, string | Uint8Array>();

  constructor(
    /** The footer's lines for a figure made from `run`. */
    private readonly footer: (run: RunRow) => readonly string[],
  ) {}

  /** SVG and PNG (2×) of a figure made from `run` (or several), with the provenance footer. */
  addFigure(name: string, svg: string, run: RunRow | readonly RunRow[]): void {
    const runs: readonly RunRow[] = Array.isArray(run) ? run : [run as RunRow];
    // Runs of one model on one set of items share the first line; each keeps its settings line.
    const footed = withFooter(svg, [...new Set(runs.flatMap((r) => this.footer(r)))]);
    this.files.set(`${name}.svg`, footed);
    this.files.set(`${name}.png`, svgToPng(footed, { scale: 2 }));
  }

  /**
   * An ECharts option drawn as SVG. The server-side chart renderer (ECharts and its font metrics, some
   * 80 MiB) is loaded on the first chart, so the analyses that import the report context's type for
   * their report sections do not load it into every process that only runs them (runner, engine worker).
   */
  async chartSvg(option: EChartsOption, size: ChartSize): Promise<string> {
    const { renderChartSvg } = await import('./renderChartSvg.ts');
    return renderChartSvg(option, size);
  }

  /** `chartSvg` added as a figure. */
  async addChart(
    name: string,
    option: EChartsOption,
    size: ChartSize,
    run: RunRow | readonly RunRow[],
  ): Promise<void> {
    this.addFigure(name, await this.chartSvg(option, size), run);
  }

  /** A table as a figure and as CSV. */
  addTable(name: string, table: TableInput, run: RunRow | readonly RunRow[]): void {
    this.addFigure(name, tableSvg(table), run);
    this.files.set(`${name}.csv`, toCsv(table.columns, table.rows));
  }

  addFile(name: string, content: string | Uint8Array): void {
    this.files.set(name, content);
  }

  /**
   * Writes the files into `outDir`, replacing it whole; returns their names, sorted. A folder that is
   * neither empty nor an earlier report (report.json or compare.json in it) is refused, not replaced:
   * `--out .` must not wipe the working directory.
   */
  async writeTo(outDir: string): Promise<string[]> {
    if (!(await mayReplace(outDir))) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `${outDir} holds files and is not an earlier report (no ${[...REPORT_MARKERS].join(' or ')}): it would be replaced whole; name a new or empty folder with --out`,
      );
    }
    const temp = `${outDir}.tmp-${process.pid}`;
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
    for (const [name, content] of this.files) await writeFile(join(temp, name), content);
    await rm(outDir, { recursive: true, force: true });
    await rename(temp, outDir);
    return [...this.files.keys()].sort();
  }
}
