/** Item and result shapes shared by every dataset format (see README.md). */
import type { Box, Choice, CircularSlot, Metric } from '../../common/analysis.ts';
export type { Box, Choice, CircularSlot, Metric } from '../../common/analysis.ts';

/** The original `fusionscope-vqa` item; every format's items are also `VqaItem`s. */
export interface VqaItem {
  readonly id: string;
  /** Absolute path of the image file. */
  readonly imagePath: string;
  readonly question: string;
  /** Acceptable answers, the consensus answer first; empty only when `metric` is `none`. */
  readonly answers: readonly string[];
  /** The grouping analyses report per-group results by (question family, answer type, category...). */
  readonly family: string;
  readonly subtype: string | null;
  /** Question-relevant regions, [x0, y0, x1, y1] in image pixels. */
  readonly boxes: readonly Box[];
}

export interface DatasetItem extends VqaItem {
  readonly metric: Metric;
  readonly answerType?: string;
  readonly questionType?: string;
  /** Every annotator's answer in file order (10 for VQAv2, VizWiz, TextVQA), for VQA soft accuracy. */
  readonly annotatorAnswers?: readonly string[];
  /** Format-specific extras (source ids, GQA full answers, DocVQA document ids...). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /**
   * Multiple-choice options in the order the question lists them (metric `choice`: `answers[0]` is
   * the gold label). The question text already lists them, as the benchmark's harness asks it.
   */
  readonly choices?: readonly Choice[];
  /** VLMEvalKit circular evaluation: which question this item rotates, and how. */
  readonly circular?: CircularSlot;
}

export type FormatName =
  | 'fusionscope-vqa'
  | 'llava-jsonl'
  | 'vqav2'
  | 'vqacp'
  | 'textvqa'
  | 'vizwiz'
  | 'gqa'
  | 'pope'
  | 'docvqa'
  | 'vlmevalkit-tsv'
  | 'hf-parquet'
  | 'aokvqa'
  | 'image-folder';

/** An entry that could not become an item, and why. `line` for line-based files, else `id`/`index`. */
export interface SkippedItem {
  readonly file: string;
  readonly line?: number;
  /** Position in the file's list (0-based) when the entry has no usable id. */
  readonly index?: number;
  readonly id?: string;
  readonly reason: string;
}

export interface OpenedDataset {
  readonly name: string;
  readonly format: FormatName;
  /** The dataset folder (the folder holding the file that was opened). */
  readonly folder: string;
  readonly items: readonly DatasetItem[];
  readonly skipped: readonly SkippedItem[];
}

export interface OpenDatasetOptions {
  /** Default `auto`: detected from a `dataset.json` manifest, file names, then JSON shape. */
  readonly format?: 'auto' | FormatName;
  /**
   * Gold answers paired with a question file by question id: the VQAv2/OKVQA annotation JSON, or for
   * LLaVA question files an answers JSONL or a VQAv2-style annotation JSON. Default: a sibling file.
   */
  readonly answers?: string;
  /** Folder the items' image names are relative to. Default: per-format candidates inside the dataset. */
  readonly images?: string;
  /** GQA: a scene-graph JSON, to turn the questions' object annotations into boxes. */
  readonly sceneGraphs?: string;
  /** Image folder: one question asked of every image (instead of `questions.csv`). */
  readonly question?: string;
  /** Default true: items whose image file is absent are skipped. False skips the file checks. */
  readonly checkImages?: boolean;
  /**
   * Where images embedded in dataset files (VLMEvalKit TSV, Parquet) are written, one file per distinct
   * image. Default: `FUSIONSCOPE_IMAGE_CACHE`, else `dataset-images` beside the model cache.
   */
  readonly imageCache?: string;
}
