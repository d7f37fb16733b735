/**
 * The backend's API: every method the renderer may call, with the schema its parameters must pass at
 * the boundary (Electron IPC, HTTP, WebSocket) and the type it returns. Unknown methods, unknown keys,
 * wrong types and out-of-range values are refused before any backend code runs, so a hostile or
 * buggy renderer message cannot reach the engine.
 */
import { z } from 'zod';

import type { SweepComparison } from '../analysis.ts';
import { RUN_KIND_PATTERN, type RunRow } from '../runs.ts';
import {
  DEFAULT_PLAYGROUND_NEW_TOKENS,
  MAX_PLAYGROUND_IMAGE_BASE64,
  MAX_PLAYGROUND_NEW_TOKENS,
  MAX_PLAYGROUND_QUESTION_CHARS,
  type PlaygroundResult,
} from './playground.ts';
import type {
  AnalysisView,
  AppInfo,
  DatasetView,
  ExportedFile,
  ImageLensLayerView,
  ItemPage,
  JobView,
  ModelView,
  PathKind,
  RecentView,
  RunSummaryView,
  SampleDetail,
  SamplePage,
  WorkersView,
} from './types.ts';

const MAX_PATH = 4096;
/** The deepest decoder any layer index in a request may name. */
export const MAX_LAYERS = 1024;
/** An exported SVG (charts with embedded images included) may not exceed this many characters. */
export const MAX_SVG_CHARS = 32 * 1024 * 1024;

const path = z.string().min(1).max(MAX_PATH);
const id = z.string().min(1).max(MAX_PATH);
const runId = z.number().int().min(1);
const fraction = z.number().min(0).max(1);

/**
 * An analysis's settings as the caller wrote them: plain JSON here; the analysis's own schema (its module
 * in main/engine/analyses, which fills the defaults) checks them as startRun is handled, before anything
 * is queued, and refuses with BAD_REQUEST naming the setting.
 */
const MAX_CONFIG_CHARS = 8 * 1024 * 1024;
const MAX_CONFIG_DEPTH = 8;

/** Why `value` is not plain, shallow JSON (finite numbers, no foreign objects), or null when it is. */
function jsonProblem(value: unknown): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length) {
    const { value: v, depth } = stack.pop() as { value: unknown; depth: number };
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'numbers must be finite';
      continue;
    }
    if (typeof v !== 'object') return `a ${typeof v} is not JSON`;
    if (depth >= MAX_CONFIG_DEPTH) return `nested deeper than ${MAX_CONFIG_DEPTH} levels`;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== Array.prototype) return 'only plain objects and arrays';
    for (const child of Object.values(v)) stack.push({ value: child, depth: depth + 1 });
  }
  return JSON.stringify(value).length > MAX_CONFIG_CHARS
    ? `settings may not exceed ${MAX_CONFIG_CHARS} characters as JSON`
    : null;
}

const config = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'a setting name'), z.unknown())
  .superRefine((value, context) => {
    const problem = jsonProblem(value);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  });

/** An analysis name; which names exist is the engine's registry's to say (listAnalyses). */
const kind = z.string().regex(RUN_KIND_PATTERN, 'an analysis name: lowercase letters, digits and "-"');

const runTarget = {
  modelId: id,
  datasetId: id,
  /** Only the first N items. */
  limit: z.number().int().min(1).max(10_000_000).optional(),
  /** Only these items (in dataset order): e.g. one sample compared across models. */
  itemIds: z.array(z.string().min(1).max(1000)).min(1).max(100_000).optional(),
};

/** A queue URL may not exceed this many characters (a host, a user and a percent-encoded password fit). */
export const MAX_QUEUE_URL = 2048;

/**
 * A job queue's Redis, written as `fusionscope --queue` takes it. Only its shape is checked here (the
 * scheme, printable ASCII: a password's other characters are percent-encoded); the backend reads it
 * with the engine's parser, which refuses what it cannot read, naming the part (no host, a database
 * that is not a number...).
 */
const queueUrl = z
  .string()
  .max(MAX_QUEUE_URL)
  .regex(
    /^rediss?:\/\/[\x21-\x7e]+$/i,
    'a redis:// or rediss:// URL (redis://[user:password@]host:port[/db]), printable ASCII only',
  );

export const startRunSchema = z.strictObject({
  kind,
  config: config.default({}),
  ...runTarget,
  /** Hand the items to the workers of this queue instead of computing them here. */
  queue: queueUrl.optional(),
});

const labelParamsSchema = z.strictObject({
  criterion: z.enum(['drop', 'marginal']).optional(),
  correction: z.enum(['none', 'holm', 'bh']).optional(),
  scale: z.enum(['relative', 'absolute']).optional(),
  minDrop: z.number().min(0).max(1e6).optional(),
  plateauDrop: z.number().min(0).max(1e6).optional(),
  plateauLength: z
    .union([z.number().int().min(1).max(MAX_LAYERS), z.strictObject({ fraction: fraction })])
    .optional(),
  minReviewDrop: z.number().min(0).max(1e6).optional(),
  minSamples: z.number().int().min(1).max(1_000_000).optional(),
});

const page = {
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
};

export const figureFormatSchema = z.enum(['png', 'svg', 'pdf']);
export type FigureFormat = z.infer<typeof figureFormatSchema>;

const fileBase = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only');

/** The Playground's image: base64 bytes (checked to be an image by the backend, decoded by the engine). */
const playgroundImage = z.strictObject({
  base64: z
    .string()
    .min(1)
    .max(MAX_PLAYGROUND_IMAGE_BASE64, 'the image is larger than the Playground accepts (32 MiB)')
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64 (A–Z, a–z, 0–9, "+", "/", "=" padding)'),
  /** The file's name, for messages only. */
  name: z.string().min(1).max(255).default('image'),
});

const playgroundMask = z
  .strictObject({
    mode: z.enum(['knockout', 'attention', 'hidden']),
    layers: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(MAX_LAYERS - 1),
      )
      .min(1)
      .max(MAX_LAYERS),
    scale: z.number().min(0).max(1000).optional(),
  })
  .refine((mask) => mask.mode !== 'knockout' || mask.scale === undefined, {
    message: 'knockout takes no scale (it is attention × 0)',
    path: ['scale'],
  });

/** Parameter schemas, one per method. */
export const API_PARAMS = {
  appInfo: z.strictObject({}),

  listModels: z.strictObject({}),
  openModel: z.strictObject({
    /** A model folder, a Hugging Face cache folder (models--org--name) or a hub id (org/name). */
    folder: path,
    /** For a hub id or cache folder: a branch, tag or full commit hash (default main). */
    revision: z.string().min(1).max(256).optional(),
    provider: z.enum(['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml']).optional(),
    precision: z.enum(['auto', 'fp32', 'fp16', 'bf16']).optional(),
  }),
  closeModel: z.strictObject({ modelId: id }),

  listDatasets: z.strictObject({}),
  importDataset: z.strictObject({
    path,
    format: z.string().min(1).max(64).optional(),
    answers: path.optional(),
    images: path.optional(),
  }),
  datasetItems: z.strictObject({
    datasetId: id,
    ...page,
    family: z.string().max(200).optional(),
  }),

  /** Every analysis the engine offers, with its settings as form fields (derived from its schema). */
  listAnalyses: z.strictObject({}),
  startRun: startRunSchema,
  listJobs: z.strictObject({}),
  /** The workers live on a queue now (what they hold, how busy they are). */
  listWorkers: z.strictObject({ queue: queueUrl }),
  cancelJob: z.strictObject({ jobId: z.number().int().min(1) }),
  listRuns: z.strictObject({
    kind: kind.optional(),
    modelId: id.optional(),
  }),
  resumeRun: z.strictObject({ runId, queue: queueUrl.optional() }),
  deleteRun: z.strictObject({ runId }),
  runSummary: z.strictObject({
    runId,
    metric: z.enum(['score', 'gold_prob']).optional(),
    labels: labelParamsSchema.optional(),
    /** Only the items of this question family (the dataset's `family` field). */
    family: z.string().min(1).max(200).optional(),
  }),
  /** Do two sweeps' drop curves differ? Permutation test on normalised depth. */
  compareSweeps: z.strictObject({
    runIds: z.tuple([runId, runId]),
    metric: z.enum(['score', 'gold_prob']).optional(),
  }),
  runSamples: z.strictObject({ runId, ...page }),
  sampleDetail: z.strictObject({ runId, itemId: z.string().min(1).max(1000) }),
  /** One recorded layer of an image-lens sample: each image token's top-1 token, placed on its image. */
  imageLensLayer: z.strictObject({
    runId,
    itemId: z.string().min(1).max(1000),
    layer: z
      .number()
      .int()
      .min(0)
      .max(MAX_LAYERS - 1),
  }),

  /** Converts an SVG drawn by the renderer (chart or panel) into the chosen format. */
  exportFigure: z.strictObject({
    svg: z.string().min(1).max(MAX_SVG_CHARS),
    format: figureFormatSchema,
    scale: z.union([z.literal(1), z.literal(2), z.literal(4)]).optional(),
    name: fileBase,
  }),
  exportRunData: z.strictObject({ runId, format: z.enum(['csv', 'json']) }),
  /** The report of a run's model (its newest sweep, evolve and contrast runs) as a zip archive. */
  exportReport: z.strictObject({ runId }),

  /** Model folders and datasets used before (kept in the workspace), newest first. */
  listRecent: z.strictObject({}),
  /** Forgets one: a dataset also leaves the imported list (runs that used it still show it). */
  forgetRecent: z.strictObject({ kind: z.enum(['model', 'dataset']), path }),
  /** What a dropped path is (model folder, dataset, image), judged by the files themselves. */
  inspectPath: z.strictObject({ path }),

  /** One question about one image on an open model: the answer and each generated token's maps. */
  askImage: z.strictObject({
    modelId: id,
    image: playgroundImage,
    question: z.string().trim().min(1).max(MAX_PLAYGROUND_QUESTION_CHARS),
    maxNewTokens: z
      .number()
      .int()
      .min(1)
      .max(MAX_PLAYGROUND_NEW_TOKENS)
      .default(DEFAULT_PLAYGROUND_NEW_TOKENS),
    /** Also answer with the image masked at these layers. */
    mask: playgroundMask.optional(),
  }),
} as const;

export type ApiMethod = keyof typeof API_PARAMS;
/** Parameters as the caller writes them (defaults may be omitted). */
export type ApiParamsIn<M extends ApiMethod> = z.input<(typeof API_PARAMS)[M]>;
/** Parameters after validation (defaults filled). */
export type ApiParams<M extends ApiMethod> = z.output<(typeof API_PARAMS)[M]>;

export interface ApiResults {
  appInfo: AppInfo;
  listModels: ModelView[];
  openModel: ModelView;
  closeModel: { closed: boolean };
  listDatasets: DatasetView[];
  importDataset: DatasetView;
  datasetItems: ItemPage;
  listAnalyses: AnalysisView[];
  startRun: JobView;
  listJobs: JobView[];
  listWorkers: WorkersView;
  cancelJob: JobView;
  listRuns: RunRow[];
  resumeRun: JobView;
  deleteRun: { deleted: boolean };
  runSummary: RunSummaryView;
  compareSweeps: SweepComparison;
  runSamples: SamplePage;
  sampleDetail: SampleDetail;
  imageLensLayer: ImageLensLayerView;
  exportFigure: ExportedFile;
  exportRunData: ExportedFile;
  exportReport: ExportedFile;
  listRecent: RecentView;
  forgetRecent: RecentView;
  inspectPath: PathKind;
  askImage: PlaygroundResult;
}

/** What the backend implements (validated parameters in)... */
export type ApiHandlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResults[M]> };
/** ...and what the renderer calls (parameters before defaults). */
export type FusionApi = { [M in ApiMethod]: (params: ApiParamsIn<M>) => Promise<ApiResults[M]> };

export const API_METHODS = Object.keys(API_PARAMS) as ApiMethod[];

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API_PARAMS, name);
}
