/**
 * The preload: the renderer's only door to the main process. It exposes exactly `PreloadBridge`
 * (main/common/api/bridge.ts) on `window.fusionscope` through contextBridge, never ipcRenderer itself,
 * and passes the renderer only event payloads (not IpcRendererEvent, whose `sender` would leak).
 * Runs sandboxed: bundled to one CommonJS file whose only require is `electron`.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';

// bridge.ts, not the api index: the index pulls zod in, which the preload does not need.
import { FILE_SCHEME, type PreloadBridge } from '../common/api/bridge.ts';
import type { ApiEvent, ApiReply } from '../common/api/protocol.ts';
import type { ExportedFile } from '../common/api/types.ts';
import { CHANNELS } from './channels.ts';

const bridge: PreloadBridge = {
  call: (method: string, params: unknown) =>
    ipcRenderer.invoke(CHANNELS.call, method, params) as Promise<ApiReply>,
  onEvent(listener: (event: ApiEvent) => void) {
    const relay = (_event: IpcRendererEvent, payload: ApiEvent) => listener(payload);
    ipcRenderer.on(CHANNELS.event, relay);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, relay);
    };
  },
  saveFile: (file: ExportedFile) => ipcRenderer.invoke(CHANNELS.saveFile, file) as Promise<string | null>,
  chooseFolder: (title: string) => ipcRenderer.invoke(CHANNELS.chooseFolder, title) as Promise<string | null>,
  // Runs here, not in the main process: only the renderer's File object knows its path, and it
  // cannot cross IPC. The path is a hint; the backend judges what is there (inspectPath).
  pathForFile: (file: File) => webUtils.getPathForFile(file),
  fileScheme: FILE_SCHEME,
};

contextBridge.exposeInMainWorld('fusionscope', bridge);
