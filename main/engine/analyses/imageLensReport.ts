/**
 * The image-lens run's report section: the per-layer curves (figure and CSV), then for a few samples
 * across the question families the image-token grid at a few recorded layers, each cell labelled with
 * its top-1 token and coloured by its probability, titled with the question, the gold answer and the
 * model's own answer where a sweep of the same items recorded it.
 */
import type { ImageLensItemResult, ImageLensSummary, SweepSummary } from '../../common/analysis.ts';
import {
  imageLensOption,
  imageLensTable,
  lensGridOption,
  lensGridSize,
  type LensGridPanel,
} from '../../common/charts/imageLens.ts';
import { evenlySpacedLayers } from '../../common/charts/overlay.ts';
import type { RunRow } from '../../common/runs.ts';
import { imageTokenLayout, type TokenGrid } from '../analysis/imageTokens.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { preprocessImage } from '../image/index.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { toCsv } from '../report/table/csv.ts';
import { storedLensLayer } from './imageLensReads.ts';
import { acrossFamilies, modelAnswers, sampleTitle } from './reportSamples.ts';

/** Grid figures per report: few, since each labels every image token at every shown layer. */
const GRID_SAMPLES = 2;
/** Layers spread over the recorded ones (first and last included), plus the sweep's fusion layers. */
const GRID_LAYERS = 4;

/** The recorded layers a grid figure shows. */
export function gridLayers(recorded: readonly number[], fusionLayers: readonly number[] = []): number[] {
  if (recorded.length === 0) return [];
  const include = fusionLayers.map((l) => recorded.indexOf(l)).filter((i) => i >= 0);
  return evenlySpacedLayers(recorded.length, GRID_LAYERS, include).map((i) => recorded[i]);
}

/** The token grid of `item`'s image as the run prepared it (no padding): its primary grid. */
async function primaryGrid(report: ReportContext, item: DatasetItem): Promise<TokenGrid | undefined> {
  const { image } = await report.sampleView(item);
  const { spec, imageConfig } = report.model;
  return imageTokenLayout(spec, preprocessImage(image, imageConfig), imageConfig).grids[0];
}

function gridPanel(
  report: ReportContext,
  run: RunRow,
  item: DatasetItem,
  grid: TokenGrid,
  layer: number,
): LensGridPanel {
  const { result, tokens, probs } = storedLensLayer(report.workspace, run.id, item.id, layer);
  return {
    label: `layer ${layer}`,
    rows: grid.rows,
    cols: grid.cols,
    cells: grid.cells.map((t) => {
      if (t === null || t >= tokens.length) return null;
      const token = tokens[t];
      return {
        text: result.texts[String(token)] ?? `#${token}`,
        prob: probs[t],
        gold: token === result.goldToken,
      };
    }),
  };
}

function gridSubtitle(result: ImageLensItemResult, grid: TokenGrid, drawn: number): string {
  const gold =
    result.goldText === null ? '' : ` · white outline: the gold token ${JSON.stringify(result.goldText)}`;
  return [
    'label: each image token’s top-1 token read through the final norm and LM head · colour: its probability (0–1)',
    `n = ${drawn} of the ${result.tokens} image tokens (the ${grid.rows} × ${grid.cols} ${grid.label} grid)${gold}`,
  ].join('\n');
}

export async function imageLensReport(
  report: ReportContext,
  run: RunRow,
  summary: ImageLensSummary,
): Promise<object> {
  const sweep = report.summaryOf<SweepSummary>('sweep');
  const option = imageLensOption(summary, {
    fusionLayers: sweep?.labels.fusionLayers,
    reviewLayers: sweep?.labels.reviewLayers,
  });
  if (option) await report.addChart('image-lens', option, { width: 720, height: 720 }, run);
  const table = imageLensTable(summary);
  report.addFile('image-lens.csv', toCsv(table.columns, table.rows));

  const results = new Map(
    report.workspace
      .readSamples<ImageLensItemResult>(run.id)
      .flatMap((s) => (s.status === 'ok' && s.result ? [[s.itemId, s.result] as const] : [])),
  );
  const answers = modelAnswers(report, run);
  const drawn: { itemId: string; layers: number[] }[] = [];
  const items = (await report.doneItems(run)).filter((item) => results.get(item.id)?.onImage);
  for (const item of acrossFamilies(items, Math.min(report.samples, GRID_SAMPLES))) {
    const result = results.get(item.id) as ImageLensItemResult;
    const grid = await primaryGrid(report, item);
    if (!grid) continue;
    const layers = gridLayers(result.layers, sweep?.labels.fusionLayers);
    const panels = layers.map((layer) => gridPanel(report, run, item, grid, layer));
    const input = {
      title: sampleTitle(item, answers.get(item.id)),
      subtitle: gridSubtitle(result, grid, grid.cells.filter((t) => t !== null).length),
      panels,
    };
    await report.addChart(`image-lens-${item.id}`, lensGridOption(input), lensGridSize(input), run);
    drawn.push({ itemId: item.id, layers });
  }
  return {
    runId: run.id,
    samples: summary.sampleCount,
    topK: summary.topK,
    curves: Object.fromEntries(
      Object.entries(summary.curves).map(([name, stats]) => [name, stats.map((s) => s.mean)]),
    ),
    drawnSamples: drawn,
  };
}
