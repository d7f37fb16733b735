/**
 * Error codes shared by the engine, the CLI and (later) the IPC boundary. Messages quote the bad value
 * and say what was expected; the code lets callers branch without parsing text.
 */
export type FusionErrorCode =
  | 'BAD_ARGUMENT' // a CLI flag or API argument is out of range or malformed
  | 'BAD_CONFIG' // config.json / preprocessor_config.json / tokenizer_config.json field is wrong
  | 'UNSUPPORTED_MODEL' // model_type or sub-architecture the engine cannot build
  | 'MISSING_FILE' // a file the model folder must contain is absent
  | 'BAD_WEIGHTS' // safetensors corrupt, tensors missing/unused/misshaped
  | 'BAD_TOKENIZER' // tokenizer.json malformed or uses a component we do not implement
  | 'BAD_IMAGE' // not a decodable image
  | 'IMAGE_TOO_LARGE' // pixel cap exceeded (decompression-bomb guard)
  | 'BAD_PROMPT' // prompt lacks or misuses the image placeholder
  | 'BAD_DATASET' // dataset manifest or item lines malformed
  | 'RUNTIME' // ONNX Runtime failed to create a session or run
  | 'STORE' // the workspace database cannot be opened, is from a newer FusionScope, or a write failed
  | 'CANCELLED'
  | 'BAD_REQUEST' // an API message failed validation at the boundary (unknown method, wrong params)
  | 'NOT_FOUND' // an API call names a model, dataset, run, job or item that does not exist
  | 'FORBIDDEN' // a file request outside the folders the app may serve, or a missing access token
  | 'BUSY' // the resource is in use (deleting a running run, closing a model a job uses)
  | 'INSUFFICIENT_RESOURCES' // the model, its cache or a prompt cannot fit the memory or disk available
  | 'QUEUE' // the job queue (Redis) cannot be reached, refuses the login, or a queued run cannot go on
  | 'INTERNAL';

/** Every code once: the record's type makes the list exhaustive, so a new code cannot be missed here. */
const CODES: Record<FusionErrorCode, true> = {
  BAD_ARGUMENT: true,
  BAD_CONFIG: true,
  UNSUPPORTED_MODEL: true,
  MISSING_FILE: true,
  BAD_WEIGHTS: true,
  BAD_TOKENIZER: true,
  BAD_IMAGE: true,
  IMAGE_TOO_LARGE: true,
  BAD_PROMPT: true,
  BAD_DATASET: true,
  RUNTIME: true,
  STORE: true,
  CANCELLED: true,
  BAD_REQUEST: true,
  NOT_FOUND: true,
  FORBIDDEN: true,
  BUSY: true,
  INSUFFICIENT_RESOURCES: true,
  QUEUE: true,
  INTERNAL: true,
};

/** Whether a code read from outside this process (another process's output) is one of ours. */
export function isFusionErrorCode(code: string): code is FusionErrorCode {
  return Object.hasOwn(CODES, code);
}

export class FusionError extends Error {
  readonly code: FusionErrorCode;

  constructor(code: FusionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FusionError';
    this.code = code;
  }
}

/** The reply shape used at every boundary (CLI JSON, IPC): never a bare throw across processes. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

export function errorToResult(error: unknown): { ok: false; error: { code: string; message: string } } {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (error instanceof Error && typeof code === 'string') {
    return { ok: false, error: { code, message: error.message } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, error: { code: 'INTERNAL', message } };
}
