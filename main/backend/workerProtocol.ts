/**
 * The messages between the backend (main thread) and its engine worker: one request/reply union, a
 * fire-and-forget cancel, and the events the worker pushes. Both sides import only these types, so a
 * message can never be spelled differently at its two ends.
 *
 *   main ──{kind:'request', id, request}──▶ worker ──{kind:'reply', id, reply}──▶ main
 *   main ──{kind:'cancel', jobId}─────────▶ worker
 *   worker ──{kind:'event', event}─▶ main   (model loading, per-sample progress, a queue's workers)
 */
import type { Rect } from '../common/analysis.ts';
import type {
  ApiEvent,
  FigureFormat,
  PlaygroundMask,
  PlaygroundResult,
  WorkerView,
} from '../common/api/index.ts';
import type { Result } from '../common/errors.ts';
import type { RunProgress } from '../common/runs.ts';
import type { OpenDatasetOptions } from '../engine/datasets/index.ts';
import type { ExperimentConfig } from '../engine/experiments/experiment.ts';
import type { ModelInfo } from '../engine/model/openModel.ts';
import type { QueueAddress } from '../engine/queue/address.ts';
import type { ProviderRequest } from '../engine/runtime/providers.ts';
import type { Precision } from '../engine/model/precision.ts';

/** `workerData` the worker starts with. */
export interface WorkerInit {
  /** Absolute workspace folder: the worker opens its own connection (SQLite WAL allows both). */
  readonly workspace: string;
}

/**
 * An analysis and its settings as parsed by the backend; the worker's runExperiment parses them again
 * (idempotent) and fills what they leave to other runs (contrast's layers, off the newest sweep).
 */
export type JobExperiment = ExperimentConfig;

export interface JobTarget {
  /** Absolute checkpoint folder (the model id). */
  readonly folder: string;
  readonly provider: ProviderRequest;
  readonly precision: Precision;
  readonly revision?: string;
  readonly dataset: string;
  readonly datasetOptions: OpenDatasetOptions;
  readonly limit?: number;
  readonly itemIds?: readonly string[];
}

/** What the backend needs of a loaded model for its ModelView. */
export interface ModelFacts {
  readonly info: ModelInfo;
  readonly layers: number;
  readonly heads: number;
  readonly hiddenSize: number;
}

export interface ImageGeometryReply {
  readonly width: number;
  readonly height: number;
  readonly tokenRects: (Rect | null)[];
  /** The primary grid of the image's token layout; null when its tokens form none. */
  readonly grid: { readonly rows: number; readonly cols: number } | null;
}

export type WorkerRequest =
  | {
      readonly type: 'openModel';
      readonly folder: string;
      readonly provider: ProviderRequest;
      readonly precision: Precision;
      /** The hub revision the folder (a cache snapshot) was resolved from, recorded with the model. */
      readonly revision?: string;
    }
  | { readonly type: 'closeModel'; readonly folder: string }
  | {
      readonly type: 'runJob';
      readonly jobId: number;
      readonly target: JobTarget;
      readonly experiment: JobExperiment;
      readonly resume?: number;
      /** Hand the items to this queue's workers (the backend has parsed the URL). */
      readonly queue?: QueueAddress;
    }
  | {
      readonly type: 'imageGeometry';
      readonly folder: string;
      readonly imagePath: string;
      /** The run's stored ModelInfo, used when the model is not loaded. */
      readonly info: unknown;
    }
  | {
      readonly type: 'renderFigure';
      readonly svg: string;
      readonly format: Exclude<FigureFormat, 'svg'>;
      readonly scale: 1 | 2 | 4;
      readonly size: { readonly width: number; readonly height: number };
    }
  | { readonly type: 'report'; readonly runId: number }
  | {
      readonly type: 'askImage';
      /** The model, loaded as the backend opened it (a restarted worker reloads it so). */
      readonly folder: string;
      readonly provider: ProviderRequest;
      readonly precision: Precision;
      readonly revision?: string;
      /** The image file's bytes, checked to start like an image (the engine decodes them). */
      readonly image: Uint8Array;
      readonly name: string;
      readonly question: string;
      readonly maxNewTokens: number;
      readonly mask?: PlaygroundMask;
    };

export interface WorkerResults {
  openModel: ModelFacts;
  closeModel: { readonly closed: boolean };
  runJob: { readonly runId: number; readonly status: 'done' | 'cancelled' };
  imageGeometry: ImageGeometryReply;
  renderFigure: Uint8Array;
  /** The report's files, zipped (store-only). */
  report: { readonly files: readonly string[]; readonly zip: Uint8Array };
  askImage: Omit<PlaygroundResult, 'modelId'>;
}

export type RequestType = WorkerRequest['type'];
export type RequestOf<T extends RequestType> = Extract<WorkerRequest, { type: T }>;

/**
 * Model loading is forwarded to the renderer as is; progress and a queued run's live workers are folded
 * into the job first.
 */
export type WorkerEvent =
  | Extract<ApiEvent, { type: 'model-loading' }>
  | { readonly type: 'progress'; readonly jobId: number; readonly progress: RunProgress }
  | {
      readonly type: 'workers';
      readonly jobId: number;
      readonly workers: readonly WorkerView[];
      readonly unserved: string | null;
    };

export type ToWorker =
  | { readonly kind: 'request'; readonly id: number; readonly request: WorkerRequest }
  | { readonly kind: 'cancel'; readonly jobId: number };

export type FromWorker =
  | { readonly kind: 'reply'; readonly id: number; readonly reply: Result<unknown> }
  | { readonly kind: 'event'; readonly event: WorkerEvent };
