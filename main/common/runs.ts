/**
 * Row and event shapes of the run store (main/engine/store), shared with the renderer: plain types only,
 * so a desktop view can show runs, samples and progress without importing engine code.
 */

/**
 * An analysis's name (sweep, evolve, contrast, eval, …): the engine's analysis registry
 * (main/engine/analyses/registry.ts) is the one list; the store and the API accept any name of this
 * shape and the registry refuses the ones it does not know.
 */
export type RunKind = string;
export const RUN_KIND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * running: owned by a live process. interrupted: its process died (crash, kill -9) — resumable.
 * cancelled: stopped on request — resumable. failed: the runner itself failed (storage, a bug) —
 * resumable once the cause is fixed. done: every item has a sample row (ok or error).
 */
export type RunStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

export type SampleStatus = 'ok' | 'error';

/** Element types an array blob may hold; float32 only for now (attention maps, logits). */
export type ArrayDType = 'float32';

export interface ModelRow {
  readonly id: number;
  readonly folder: string;
  /** Changes when config.json or any weight file changes (see store/fingerprint.ts). */
  readonly fingerprint: string;
  readonly info: unknown;
}

export interface DatasetRow {
  readonly id: number;
  readonly path: string;
  readonly format: string;
  readonly name: string;
  readonly itemCount: number;
  /** Hash of the ordered item ids: two datasets match only when they hold the same items. */
  readonly itemsHash: string;
}

/**
 * What produced a run: written when the run is created and never changed, so numbers can be traced to
 * code, runtime, weights and items. Runs made before FusionScope recorded it have none (null).
 */
export interface Provenance {
  readonly fusionscopeVersion: string;
  /** The git commit of the FusionScope checkout that computed the run; null outside a checkout. */
  readonly commit: string | null;
  /** True when that checkout had uncommitted changes. */
  readonly commitDirty: boolean;
  readonly onnxruntimeVersion: string;
  /** The execution provider the model's sessions ran on (cpu, cuda, webgpu, …). */
  readonly executionProvider: string;
  /** How the weights were held (fp32, fp16, bf16, or auto = as the checkpoint stores them). */
  readonly precision: string;
  /** sha256 over every file of the model folder, content included (main/engine/model/contentHash.ts). */
  readonly modelHash: string;
  /** The Hugging Face revision (snapshot commit) when the folder is a hub cache snapshot. */
  readonly modelRevision: string | null;
  /** sha256 over the items used: ids, questions, answers, boxes and image file sizes, in order. */
  readonly datasetHash: string;
  /**
   * How many items each image decoder reads, by the files' magic bytes, e.g. `{"fusionscope-jpeg":
   * 120, "sharp-webp/libvips 8.18.8": 3}` (`none`: not an image the engine decodes). Absent in runs
   * recorded before decoders were.
   */
  readonly imageDecoders?: Readonly<Record<string, number>>;
  /** The analysis's settings, every default filled in (the run's identity). */
  readonly settings: unknown;
  /** The prompt every item was asked in: the chat template applied to {question}, suffix included. */
  readonly promptTemplate: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

export interface RunRow {
  readonly id: number;
  readonly kind: RunKind;
  readonly model: ModelRow;
  readonly dataset: DatasetRow;
  /** The analysis's settings as parsed by its schema (defaults filled for runs made since v0.2). */
  readonly config: unknown;
  readonly provenance: Provenance | null;
  readonly status: RunStatus;
  readonly total: number;
  /** Items with a sample row, ok or error. */
  readonly done: number;
  /** Of `done`, the items whose sample is an error. */
  readonly failed: number;
  readonly error: string | null;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface SampleRow<R = unknown> {
  readonly itemId: string;
  readonly status: SampleStatus;
  /** null when status is 'error'. */
  readonly result: R | null;
  readonly error: string | null;
  readonly durationMs: number | null;
  readonly createdAt: number;
}

export interface LayerMetricValue {
  readonly layer: number;
  readonly name: string;
  /** NaN is stored as SQL NULL and read back as NaN. */
  readonly value: number;
}

export interface StoredArray {
  readonly name: string;
  readonly dtype: ArrayDType;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** One metric at one layer across a run's samples; `values[i]` belongs to `itemIds[i]`. */
export interface LayerCurvePoint {
  readonly layer: number;
  readonly itemIds: readonly string[];
  readonly values: readonly number[];
}

export interface RunProgress {
  readonly runId: number;
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  /** null until a sample has been timed in this session. */
  readonly etaSeconds: number | null;
  /** The item just recorded; null for the event sent when a run starts or resumes. */
  readonly itemId: string | null;
}

/** An array a sample produces, e.g. one layer's attention map over the image grid. */
export interface ArrayOutput {
  readonly name: string;
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** What one sample yields: a JSON result, optional per-layer metrics and optional large arrays. */
export interface SampleOutput<R = unknown> {
  readonly result: R;
  readonly metrics?: readonly LayerMetricValue[];
  readonly arrays?: readonly ArrayOutput[];
}
