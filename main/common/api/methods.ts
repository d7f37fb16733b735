/**
 * The backend's API: every method the renderer may call, with the schema its parameters must pass at
 * the boundary (Electron IPC, HTTP, WebSocket) and the type it returns. Unknown methods, unknown keys,
 * wrong types and out-of-range values are refused before any backend code runs, so a hostile or
 * buggy renderer message cannot reach the engine.
 */
import { z } from 'zod';

import { REFINEMENTS } from '../analysis.ts';
import type { RunRow } from '../runs.ts';
import type {
  AppInfo,
  DatasetView,
  ExportedFile,
  ItemPage,
  JobView,
  ModelView,
  RunSummaryView,
  SampleDetail,
  SamplePage,
} from './types.ts';

const MAX_PATH = 4096;
const MAX_LAYERS = 1024;
/** An exported SVG (charts with embedded images included) may not exceed this many characters. */
export const MAX_SVG_CHARS = 32 * 1024 * 1024;

const path = z.string().min(1).max(MAX_PATH);
const id = z.string().min(1).max(MAX_PATH);
const runId = z.number().int().min(1);
const layer = z.number().int().min(0).max(MAX_LAYERS);
const layers = z.array(layer).max(MAX_LAYERS);
const fraction = z.number().min(0).max(1);
const maxNewTokens = z.number().int().min(1).max(256);
const promptSuffix = z.string().max(1000);

const promptOptions = { promptSuffix: promptSuffix.optional() };

export const sweepConfigSchema = z.strictObject({
  mode: z.enum(['knockout', 'hidden']),
  scale: z.number().min(0).max(10).optional(),
  window: z.number().int().min(1).max(MAX_LAYERS).optional(),
  tokens: z.array(z.number().int().min(0).max(1_000_000)).max(1_000_000).optional(),
  maxNewTokens: maxNewTokens.optional(),
  ...promptOptions,
});

export const evolveConfigSchema = z.strictObject({
  rows: z.enum(['last', 'question']).optional(),
  perHead: z.boolean().optional(),
  noiseTopFraction: fraction.optional(),
  noiseMinLayers: fraction.optional(),
  ...promptOptions,
});

/** Candidate and review layers may be left out: the backend reads them off the newest finished sweep. */
export const contrastConfigSchema = z.strictObject({
  candidateLayers: layers.min(1).optional(),
  reviewLayer: layer.optional(),
  rho: fraction.optional(),
  lambda: z.number().min(0).max(10).optional(),
  maxNewTokens: maxNewTokens.optional(),
  methods: z.array(z.enum(REFINEMENTS)).min(1).max(REFINEMENTS.length).optional(),
  vicropLayer: layer.optional(),
  ...promptOptions,
});

export const evalConfigSchema = z.strictObject({ maxNewTokens: maxNewTokens.optional(), ...promptOptions });

const runTarget = {
  modelId: id,
  datasetId: id,
  /** Only the first N items. */
  limit: z.number().int().min(1).max(10_000_000).optional(),
  /** Only these items (in dataset order): e.g. one sample compared across models. */
  itemIds: z.array(z.string().min(1).max(1000)).min(1).max(100_000).optional(),
};

export const startRunSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sweep'), config: sweepConfigSchema, ...runTarget }),
  z.strictObject({ kind: z.literal('evolve'), config: evolveConfigSchema, ...runTarget }),
  z.strictObject({ kind: z.literal('contrast'), config: contrastConfigSchema, ...runTarget }),
  z.strictObject({ kind: z.literal('eval'), config: evalConfigSchema, ...runTarget }),
]);

const labelParamsSchema = z.strictObject({
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

/** Parameter schemas, one per method. */
export const API_PARAMS = {
  appInfo: z.strictObject({}),

  listModels: z.strictObject({}),
  openModel: z.strictObject({
    folder: path,
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

  startRun: startRunSchema,
  listJobs: z.strictObject({}),
  cancelJob: z.strictObject({ jobId: z.number().int().min(1) }),
  listRuns: z.strictObject({
    kind: z.enum(['sweep', 'evolve', 'contrast', 'eval']).optional(),
    modelId: id.optional(),
  }),
  resumeRun: z.strictObject({ runId }),
  deleteRun: z.strictObject({ runId }),
  runSummary: z.strictObject({
    runId,
    metric: z.enum(['score', 'gold_prob']).optional(),
    labels: labelParamsSchema.optional(),
  }),
  runSamples: z.strictObject({ runId, ...page }),
  sampleDetail: z.strictObject({ runId, itemId: z.string().min(1).max(1000) }),

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
  startRun: JobView;
  listJobs: JobView[];
  cancelJob: JobView;
  listRuns: RunRow[];
  resumeRun: JobView;
  deleteRun: { deleted: boolean };
  runSummary: RunSummaryView;
  runSamples: SamplePage;
  sampleDetail: SampleDetail;
  exportFigure: ExportedFile;
  exportRunData: ExportedFile;
  exportReport: ExportedFile;
}

/** What the backend implements (validated parameters in)... */
export type ApiHandlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResults[M]> };
/** ...and what the renderer calls (parameters before defaults). */
export type FusionApi = { [M in ApiMethod]: (params: ApiParamsIn<M>) => Promise<ApiResults[M]> };

export const API_METHODS = Object.keys(API_PARAMS) as ApiMethod[];

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API_PARAMS, name);
}
