/**
 * What an analysis's report section may use (analyses/analysis.ts `report`): the files being written,
 * the other analyses' runs and summaries in the same report, and the model and images to draw on.
 * The files and their figures' provenance footers are ReportFiles' (reportFiles.ts).
 */
import type { RunRow } from '../../common/runs.ts';
import { displayCells, imageTokenLayout, type ImageTokenLayout } from '../analysis/imageTokens.ts';
import { openDataset, type DatasetItem } from '../datasets/index.ts';
import { loadImage, preprocessImage, type RgbImage } from '../image/index.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { Workspace } from '../store/workspace.ts';
import { ReportFiles } from './reportFiles.ts';

/** What the report needs of a model: no sessions, so a model described from its config will do. */
export type ReportModel = Pick<LoadedModel, 'folder' | 'spec' | 'imageConfig' | 'info'>;

export interface SampleView {
  readonly item: DatasetItem;
  readonly image: RgbImage;
  readonly tokenRects: ImageTokenLayout['rects'];
}

export class ReportContext extends ReportFiles {
  private readonly summaries = new Map<string, unknown>();
  private readonly layouts = new Map<string, SampleView['tokenRects']>();

  constructor(
    readonly workspace: Workspace,
    readonly model: ReportModel,
    /** Samples drawn as overlays by each analysis that draws them. */
    readonly samples: number,
    private readonly runs: ReadonlyMap<string, RunRow>,
    /** The footer's lines for a figure made from `run`. */
    footer: (run: RunRow) => readonly string[],
  ) {
    super(footer);
  }

  /** The report's run of `kind`, if it has one. */
  runOf(kind: string): RunRow | undefined {
    return this.runs.get(kind);
  }

  /** The summary of the report's run of `kind` (set as each analysis's section is written). */
  summaryOf<S>(kind: string): S | undefined {
    return this.summaries.get(kind) as S | undefined;
  }

  setSummary(kind: string, summary: unknown): void {
    this.summaries.set(kind, summary);
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

/**
 * `own` first, then, for every other value of `key` (a sweep's masking mode), the newest finished run
 * of the same kind, model and items: the runs a section compares (in a model's report and in the
 * comparison of models alike).
 */
export function runsBeside(workspace: Workspace, own: RunRow, key: (run: RunRow) => string): RunRow[] {
  const byKey = new Map([[key(own), own]]);
  for (const run of workspace.listRuns({ kind: own.kind, status: 'done' })) {
    const same = run.model.folder === own.model.folder && run.dataset.itemsHash === own.dataset.itemsHash;
    if (same && !byKey.has(key(run))) byKey.set(key(run), run);
  }
  return [...byKey.values()];
}

/** Figure titles stay on one line; the full texts are in the CSV files. */
export function shorten(text: string, max = 72): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
