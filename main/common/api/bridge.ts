/**
 * How the renderer reaches the backend: through the Electron preload (`window.fusionscope`) or over
 * HTTP/WebSocket in browser mode. Both implement `Transport`; the renderer never knows which.
 */
import type { ApiMethod, ApiParamsIn, ApiResults } from './methods.ts';
import type { ApiEvent, ApiReply } from './protocol.ts';
import type { ExportedFile } from './types.ts';

export interface Transport {
  call<M extends ApiMethod>(method: M, params: ApiParamsIn<M>): Promise<ApiResults[M]>;
  /** Returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** A URL the renderer can load an image from (only files under folders the backend serves). */
  fileUrl(path: string): string;
  /** Saves an export where the user chooses; resolves to the chosen path (browser: the file name), null if cancelled. */
  saveFile(file: ExportedFile): Promise<string | null>;
  /** Native folder picker (desktop only); browser mode types the path instead. */
  readonly chooseFolder?: (title: string) => Promise<string | null>;
  /**
   * Where a dropped file or folder lives (desktop only; null for one that is not on disk). A browser
   * never tells a page where a dropped file lives, so browser mode has no such function.
   */
  readonly pathForFile?: (file: File) => string | null;
}

/** What the Electron preload exposes on `window.fusionscope` (contextBridge: plain functions and data). */
export interface PreloadBridge {
  call(method: string, params: unknown): Promise<ApiReply>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
  saveFile(file: ExportedFile): Promise<string | null>;
  chooseFolder(title: string): Promise<string | null>;
  /** Electron's webUtils.getPathForFile: a dropped file's path, "" when it has none. */
  pathForFile(file: File): string;
  /** The custom protocol images are served through, e.g. "fusionscope-file". */
  readonly fileScheme: string;
}

/** The custom protocol (Electron) and path prefix (browser mode) files are served under. */
export const FILE_SCHEME = 'fusionscope-file';
export const FILE_ROUTE = '/files';
