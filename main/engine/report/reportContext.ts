/**
 * What an analysis's report section may use (analyses/analysis.ts `report`): the files being written,
 * the other analyses' runs and summaries in the same report, and the model and images to draw on.
 * Every figure gets the provenance footer, so a figure that leaves the folder still says what made it.
 */
import type { EChartsOption } from 'echarts';

import type { RunRow } from '../../common/runs.ts';
import { displayCells, imageTokenLayout, type ImageTokenLayout } from '../analysis/imageTokens.ts';
import { openDataset, type DatasetItem } from '../datasets/index.ts';
import { loadImage, preprocessImage, type RgbImage } from '../image/index.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { Workspace } from '../store/workspace.ts';
import { withFooter } from './footer.ts';
import type { ChartSize } from './renderChartSvg.ts';
import { svgToPng } from './svgToPng.ts';
import { toCsv } from './table/csv.ts';
import { tableSvg } from './table/svg.ts';
import type { TableInput } from './table/types.ts';

/** What the report needs of a model: no sessions, so a model described from its config will do. */
export type ReportModel = Pick<LoadedModel, 'folder' | 'spec' | 'imageConfig' | 'info'>;

export interface SampleView {
  readonly item: DatasetItem;
  readonly image: RgbImage;
  readonly tokenRects: ImageTokenLayout['rects'];
}

export class ReportContext {
  readonly files = new Map<string, string | Uint8Array>();
  private readonly summaries = new Map<string, unknown>();
  private readonly layouts = new Map<string, SampleView['tokenRects']>();

  constructor(
    readonly workspace: Workspace,
    readonly model: ReportModel,
    /** Samples drawn as overlays by each analysis that draws them. */
    readonly samples: number,
    private readonly runs: ReadonlyMap<string, RunRow>,
    /** The footer's lines for a figure made from `run`. */
    private readonly footer: (run: RunRow) => readonly string[],
  ) {}

  /** The report's run of `kind`, if it has one. */
  runOf(kind: string): RunRow | undefined {
    return this.runs.get(kind);
  }

  /**
   * The report's run of `kind` first, then, for every other value of `key` (a sweep's masking mode),
   * the newest finished run of the same model on the same items: the runs a section compares.
   */
  runsOf(kind: string, key: (run: RunRow) => string): RunRow[] {
    const own = this.runs.get(kind);
    if (!own) return [];
    const byKey = new Map([[key(own), own]]);
    for (const run of this.workspace.listRuns({ kind, status: 'done' })) {
      const same = run.model.folder === own.model.folder && run.dataset.itemsHash === own.dataset.itemsHash;
      if (same && !byKey.has(key(run))) byKey.set(key(run), run);
    }
    return [...byKey.values()];
  }

  /** The summary of the report's run of `kind` (set as each analysis's section is written). */
  summaryOf<S>(kind: string): S | undefined {
    return this.summaries.get(kind) as S | undefined;
  }

  setSummary(kind: string, summary: unknown): void {
    this.summaries.set(kind, summary);
  }

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
   * 80 MiB) is loaded on the first chart, so the analyses that import this context's type for their
   * report sections do not load it into every process that only runs them (runner, engine worker).
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
  addTable(name: string, table: TableInput, run: RunRow): void {
    this.addFigure(name, tableSvg(table), run);
    this.files.set(`${name}.csv`, toCsv(table.columns, table.rows));
  }

  addFile(name: string, content: string | Uint8Array): void {
    this.files.set(name, content);
  }

  /** The items of `run`'s dataset that have an ok sample, in dataset order. */
  async doneItems(run: RunRow): Promise<DatasetItem[]> {
    const dataset = await openDataset(run.dataset.path);
    const done = new Set(this.workspace.completedItems(run.id));
    return dataset.items.filter((item) => done.has(item.id));
  }

  /**
   * An item's image and its display cells, laid out as the run prepared it (no padding). The layout
   * depends on the image's size alone, so it is computed once per size (a report may read every item).
   */
  async sampleView(item: DatasetItem): Promise<SampleView> {
    const image = await loadImage(item.imagePath);
    const size = `${image.width}x${image.height}`;
    let tokenRects = this.layouts.get(size);
    if (!tokenRects) {
      const layout = imageTokenLayout(
        this.model.spec,
        preprocessImage(image, this.model.imageConfig),
        this.model.imageConfig,
      );
      tokenRects = displayCells(layout).rects;
      this.layouts.set(size, tokenRects);
    }
    return { item, image, tokenRects };
  }
}

/** Figure titles stay on one line; the full texts are in the CSV files. */
export function shorten(text: string, max = 72): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
