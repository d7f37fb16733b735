/** Desktop mode: the preload's `window.fusionscope` bridge (contextBridge; no Node in the renderer). */
import type {
  ApiMethod,
  ApiParamsIn,
  ApiResults,
  PreloadBridge,
  Transport,
} from '../../../main/common/api/index.ts';
import { ApiCallError } from './errors.ts';

export function createElectronTransport(bridge: PreloadBridge): Transport {
  return {
    async call<M extends ApiMethod>(method: M, params: ApiParamsIn<M>): Promise<ApiResults[M]> {
      const reply = await bridge.call(method, params ?? {});
      if (!reply.ok) throw new ApiCallError(method, reply.error.code, reply.error.message);
      return reply.value as ApiResults[M];
    },
    onEvent: (listener) => bridge.onEvent(listener),
    // fusionscope-file://local/<encoded absolute path>; the host's protocol handler checks the folder.
    fileUrl: (path) => `${bridge.fileScheme}://local/${encodeURIComponent(path)}`,
    saveFile: (file) => bridge.saveFile(file),
    chooseFolder: (title) => bridge.chooseFolder(title),
    pathForFile: (file) => bridge.pathForFile(file) || null,
  };
}
