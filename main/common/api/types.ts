/**
 * What the backend returns to the renderer: plain, JSON-serialisable views of models, datasets, runs
 * and samples. Shared by every transport (Electron IPC, HTTP/WebSocket) and by the renderer.
 *
 * Non-finite numbers (NaN, ±Infinity) arrive as null on every transport, in replies and events alike:
 * a `number` that has no value (a mean over zero scored samples, a NaN metric, a NaN array element)
 * reads null, never NaN.
 */
import type {
  AttentionShareSummary,
  Box,
  ContrastSummary,
  EvalSummary,
  EvolutionSummary,
  LabelParams,
  LogitLensSummary,
  Rect,
  SweepSummary,
  HeadKnockoutSummary,
  ImageLensSummary,
  QuestionContrastSummary,
} from '../analysis.ts';
import type { FailureGroup } from '../failureReasons.ts';
import type { LayerMetricValue, RunKind, RunRow, SampleStatus } from '../runs.ts';

export interface AppInfo {
  readonly version: string;
  /** Absolute path of the workspace folder (its SQLite database holds every run). */
  readonly workspace: string;
  readonly demoModelFolder: string;
  readonly demoDatasetPath: string;
  /** 'electron' inside the desktop app, 'browser' when served over HTTP. */
  readonly mode: 'electron' | 'browser';
  /** What went wrong while starting (e.g. the demo model did not load), for the UI to show. */
  readonly startupProblems: readonly string[];
}

/** Where a model folder came from when it is a snapshot of the local Hugging Face hub cache. */
export interface HubSnapshot {
  /** `org/name` on the hub. */
  readonly repoId: string;
  /** As asked (a branch, a tag or a commit), or the ref naming the snapshot when it was opened directly. */
  readonly revision: string;
  /** The commit the snapshot holds (its folder's name). */
  readonly commit: string;
}

export interface ModelView {
  /** Stable id: the model's absolute checkpoint folder. */
  readonly id: string;
  readonly folder: string;
  /** The hub repo and revision when the folder is a Hugging Face cache snapshot. */
  readonly hub: HubSnapshot | null;
  /** Short display name (the folder's name, or "demo"). */
  readonly name: string;
  readonly isDemo: boolean;
  readonly modelType: string;
  readonly weightsDtype: string;
  readonly parameterCount: number;
  /** How the weights are stored in memory (the --precision asked for; auto keeps the checkpoint's). */
  readonly precision: string;
  /** Bytes the stored weights take in memory once loaded (mapped from the model cache). */
  readonly memoryBytes: number;
  readonly executionProvider: string;
  /** Why each preferred provider was skipped (e.g. "webgpu: libvulkan.so.1 not found"). */
  readonly providerFallbacks: readonly string[];
  readonly layers: number;
  readonly heads: number;
  readonly hiddenSize: number;
  /** null when the count varies per image (LLaVA-NeXT); imageGrid is then the base image's grid. */
  readonly imageTokensPerImage: number | null;
  readonly imageGrid: { readonly rows: number; readonly cols: number; readonly leadingTokens: number };
  /**
   * How image tokens are laid out: a fixed patch grid (LLaVA-1.5), any-resolution tiles (LLaVA-NeXT),
   * merged patches at the image's own resolution (Qwen2-VL; imageGrid is then 0 × 0), or Q-Former
   * queries (InstructBLIP; imageGrid is the patch grid overlays are drawn on).
   */
  readonly imageTokenScheme: 'fixed-grid' | 'anyres' | 'merged-patches' | 'queries';
  /** Architecture facts for the model view (vision tower, projector, decoder). */
  readonly summary: Readonly<Record<string, string | number | boolean>>;
}

export interface SkippedView {
  readonly where: string;
  readonly reason: string;
}

export interface DatasetView {
  /** Stable id: the dataset's absolute path as imported. */
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly format: string;
  readonly itemCount: number;
  /** Items per family (question family, answer type, category...). */
  readonly families: Readonly<Record<string, number>>;
  readonly skippedCount: number;
  /** The first skipped entries, with reasons. */
  readonly skipped: readonly SkippedView[];
  readonly isDemo: boolean;
}

export interface ItemView {
  readonly id: string;
  readonly question: string;
  readonly answers: readonly string[];
  readonly family: string;
  readonly metric: string;
  readonly boxes: readonly Box[];
  /** Absolute path; the renderer turns it into a URL through its transport (fileUrl). */
  readonly imagePath: string;
}

export interface ItemPage {
  readonly total: number;
  readonly offset: number;
  readonly items: readonly ItemView[];
}

/**
 * A run's summary, tagged by its analysis. The views that draw one kind know its summary's shape (the
 * paper's four, then the per-layer read-outs); `lines` is the same summary as text, what the CLI
 * prints, for any analysis.
 */
export type RunSummaryView = (
  | { readonly kind: 'sweep'; readonly summary: SweepSummary }
  | { readonly kind: 'evolve'; readonly summary: EvolutionSummary }
  | { readonly kind: 'contrast'; readonly summary: ContrastSummary }
  | { readonly kind: 'eval'; readonly summary: EvalSummary }
  | { readonly kind: 'logit-lens'; readonly summary: LogitLensSummary }
  | { readonly kind: 'attention-share'; readonly summary: AttentionShareSummary }
  | { readonly kind: 'image-lens'; readonly summary: ImageLensSummary }
  | { readonly kind: 'head-knockout'; readonly summary: HeadKnockoutSummary }
  | { readonly kind: 'question-contrast'; readonly summary: QuestionContrastSummary }
) & { readonly lines: readonly string[] };

/**
 * One setting of an analysis, derived from its schema (main/engine/analyses): the CLI's flag and the
 * app's form field are both made from this, so neither restates names, ranges or defaults.
 */
export interface ConfigField {
  /** The key in the run's config. */
  readonly name: string;
  /** The command-line flag, without "--". */
  readonly flag: string;
  readonly label: string;
  readonly help: string;
  readonly type: 'number' | 'integer' | 'boolean' | 'string' | 'choice' | 'integers' | 'choices';
  /** `choice` and `choices`: the allowed values. */
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Absent when leaving the setting out means something else (e.g. "read off the newest sweep"). */
  readonly default?: unknown;
  /** What leaving it out means, when it has no default. */
  readonly whenOmitted?: string;
  /** Shown only while another setting has this value (e.g. scale only in hidden mode). */
  readonly onlyWhen?: { readonly field: string; readonly equals: unknown };
}

/** An analysis the engine offers (listAnalyses). */
export interface AnalysisView {
  readonly kind: string;
  readonly title: string;
  readonly description: string;
  readonly fields: readonly ConfigField[];
}

export interface SampleListEntry {
  readonly itemId: string;
  readonly status: SampleStatus;
  readonly result: unknown;
  readonly error: string | null;
  readonly durationMs: number | null;
  /** The dataset item (null when the dataset can no longer be read). */
  readonly item: ItemView | null;
}

export interface SamplePage {
  readonly total: number;
  readonly offset: number;
  readonly samples: readonly SampleListEntry[];
  /** Every failed sample of the run (not only this page's) counted per reason. */
  readonly failures: readonly FailureGroup[];
}

/** Everything one sample of a run needs to be drawn on its image. */
export interface SampleDetail {
  readonly runId: number;
  readonly kind: RunKind;
  readonly item: ItemView;
  readonly image: { readonly width: number; readonly height: number };
  /**
   * Per display cell, the original-image pixels it covers (null: no spatial extent). Cells are the
   * image tokens, except for query tokens (InstructBLIP), drawn on the vision patches through the
   * Q-Former's cross-attention.
   */
  readonly tokenRects: readonly (Rect | null)[];
  /** The grid the image tokens form (LLaVA-NeXT: its tile grid); null when they form none. */
  readonly grid: { readonly rows: number; readonly cols: number } | null;
  readonly result: unknown;
  readonly metrics: readonly LayerMetricValue[];
  /**
   * Stored arrays by name, as nested arrays over display cells ("token" below): evolve → maps [layer][token] (head mean) and, when
   * recorded, per_head [layer][head][token]; contrast → ca [token], pre [token], final [token];
   * sweep → baseline_attention [layer][token].
   */
  readonly arrays: Readonly<Record<string, NestedNumbers>>;
}

export type NestedNumbers = number[] | NestedNumbers[];

/** One image token of an image-lens layer, placed on the image: what it reads as at that layer. */
export interface ImageLensCell {
  /** The token's index within the image's tokens (the stored arrays' column). */
  readonly index: number;
  /** Original-image pixels it covers. */
  readonly rect: Rect;
  /** Its top-1 vocabulary token read through the final norm and LM head, decoded, and its probability. */
  readonly token: number;
  readonly text: string;
  readonly prob: number;
}

/** One recorded layer of an image-lens sample (imageLensLayer), ready to draw over the item's image. */
export interface ImageLensLayerView {
  readonly runId: number;
  readonly item: ItemView;
  readonly image: { readonly width: number; readonly height: number };
  readonly layer: number;
  /** Every layer the run recorded, ascending (the stops of a layer slider). */
  readonly layers: readonly number[];
  /** Image tokens that have a rectangle, in token order. */
  readonly cells: readonly ImageLensCell[];
  /** Image tokens of the image in all. */
  readonly tokens: number;
  /**
   * Why some tokens are not drawn: tokens without a rectangle (a kept CLS, image_newline) are simply
   * left out; learned queries (InstructBLIP) have no place in the image at all, and `cells` is empty.
   */
  readonly onImage: boolean;
  readonly goldToken: number | null;
  readonly goldText: string | null;
  /** The sample's image-lens metrics at this layer, by name (patch_top1_prob, …). */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface JobView {
  readonly jobId: number;
  readonly kind: RunKind;
  readonly modelId: string;
  readonly datasetId: string;
  readonly state: 'queued' | 'running' | 'finished';
  /** Known once the run row exists (a queued job has none yet). */
  readonly runId: number | null;
  readonly done: number;
  readonly total: number;
  readonly etaSeconds: number | null;
  /** Final run status once finished ('done', 'cancelled', 'failed'). */
  readonly outcome: RunRow['status'] | null;
  readonly error: string | null;
  /** The queue whose workers compute the items (its URL, password shown as ***); null: computed here. */
  readonly queue: string | null;
  /** A queued job's live workers as last seen while it ran; null until seen (and for a local job). */
  readonly workers: readonly WorkerView[] | null;
  /** While a queued job runs: why no live worker takes its items (null when one does). */
  readonly unserved: string | null;
}

/** A checkpoint a queue worker holds, named by content (the same folder name may hold other weights). */
export interface ServedModelView {
  readonly name: string;
  readonly contentHash: string;
  readonly precision: string;
}

/** One live worker of a job queue, as it last reported itself (main/engine/queue/workers.ts). */
export interface WorkerView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** The execution provider it computes with (cpu, cuda, ...). */
  readonly provider: string;
  /** The accelerator's name where known, else null. */
  readonly card: string | null;
  readonly models: readonly ServedModelView[];
  /** Jobs it computes at once. */
  readonly concurrency: number;
  /** Samples replied (ok or error), and jobs that failed on it. */
  readonly samples: number;
  readonly failures: number;
  /** Jobs in progress now. */
  readonly busy: number;
  /** null until it has replied to a sample. */
  readonly meanSampleMs: number | null;
  /** When it started, in milliseconds since the epoch. */
  readonly startedAt: number;
}

/** The workers live on a queue (listWorkers). */
export interface WorkersView {
  /** The queue's URL, password shown as ***. */
  readonly queue: string;
  readonly workers: readonly WorkerView[];
}

/** The two lists the app remembers across restarts (main/backend/recentItems.ts). */
export type RecentKind = 'model' | 'dataset';

/** A model folder opened or a dataset imported before, newest first in its list. */
export interface RecentItem {
  /** Absolute path: the model id, or the dataset id as imported. */
  readonly path: string;
  readonly name: string;
  /** ISO 8601 time it was last opened or imported. */
  readonly usedAt: string;
  /** Datasets: the import options it needs to be read again. */
  readonly options?: { readonly format?: string; readonly answers?: string; readonly images?: string };
}

export interface RecentView {
  readonly models: readonly RecentItem[];
  readonly datasets: readonly RecentItem[];
  /** Why the remembered lists could not be read or saved (a damaged file set aside), else null. */
  readonly notice: string | null;
}

/** What a dropped (or typed) path holds, as the backend found it; the open or import still checks it all. */
export interface PathKind {
  readonly kind: 'model' | 'dataset' | 'image';
  /** Absolute path to open with (a model's checkpoint folder, a dropped config.json's folder). */
  readonly path: string;
  readonly name: string;
  /** What gave it away, for the notice: "config.json", "PNG image", "file name items.jsonl"… */
  readonly why: string;
}

/** An exported file: bytes as base64 so every transport carries it as JSON. */
export interface ExportedFile {
  readonly fileName: string;
  readonly mime: string;
  readonly base64: string;
}

export type { LabelParams };
