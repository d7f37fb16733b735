/**
 * The backend every transport wraps: the API handlers over the engine, the event stream, and the gate
 * for serving files. Plain Node (no Electron), so the desktop shell and browser mode share it.
 */
import type { ApiEvent, ApiHandlers, ApiReply } from '../common/api/index.ts';
import type { ProviderRequest } from '../engine/runtime/providers.ts';
import type { Precision } from '../engine/model/precision.ts';

export interface BackendOptions {
  /** Workspace folder (created when missing); its SQLite file keeps every run. */
  readonly workspace: string;
  readonly mode: 'electron' | 'browser';
  /** Open the embedded demo model and import its test split at start (default true). */
  readonly preloadDemo?: boolean;
  readonly provider?: ProviderRequest;
  /** How opened models store their weights, unless an openModel call says otherwise (default auto). */
  readonly precision?: Precision;
  /** The model preloaded with preloadDemo (default: the embedded demo model). */
  readonly demoModelFolder?: string;
  /**
   * The engine worker's entry. Default: `engineWorker.mjs` beside the backend's sources, which registers
   * tsx and loads engineWorker.ts; a bundled app passes the URL of its bundled worker.
   */
  readonly engineWorker?: URL;
}

export interface Backend {
  readonly handlers: ApiHandlers;
  /** Validates an untrusted call (validateCall), runs it, and never throws: errors become replies. */
  call(method: unknown, params: unknown): Promise<ApiReply>;
  /** Returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /**
   * The real path of a file the renderer asked for, only when it lies under a folder the app serves
   * (the workspace, opened model folders, imported dataset folders); FORBIDDEN / NOT_FOUND otherwise.
   */
  resolveServedFile(path: string): Promise<string>;
  /** Cancels running jobs (they stay resumable), stops the engine worker, closes the workspace. */
  close(): Promise<void>;
}
