/**
 * The two schemes the renderer loads from:
 *
 *   fusionscope-app://app/<path>                the built renderer (renderer/dist), nothing else
 *   fusionscope-file://local/<encoded abs path>  an image the backend agrees to serve
 *                                               (resolveServedFile: workspace, model, dataset folders)
 *
 * Both resolve to a real path first, so `..`, encoded separators and symlinks cannot reach other files;
 * refusals are plain 403/404 responses. The user's files are then opened once and the opened file
 * proved to be the one resolved (fileResponse.ts): a link swapped in after the check is not followed.
 * The renderer's own files sit in the app's read-only asar archive, which only Electron's net.fetch
 * (and its patched fs) can read, and which nobody can swap links into.
 */
import { pathToFileURL } from 'node:url';

import { net, protocol } from 'electron';

import type { Backend } from '../backend/types.ts';
import { FILE_SCHEME } from '../common/api/bridge.ts';
import { errorToResult } from '../common/errors.ts';
import { CONTENT_SECURITY_POLICY, SERVED_FILE_POLICY } from '../backend/csp.ts';
import { contentType, imageContentType, resolveStaticFile } from '../backend/staticFiles.ts';
import { fileResponse, SERVED_FILE_HEADERS } from './fileResponse.ts';
import { APP_HOST, APP_ORIGIN, APP_SCHEME } from './security.ts';

const FILE_HOST = 'local';

function refuse(status: 403 | 404, message: string): Response {
  return new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

async function serveAppFile(path: string, headers: Record<string, string>): Promise<Response> {
  const file = await net.fetch(pathToFileURL(path).toString());
  if (!file.ok) return refuse(404, 'not found');
  return new Response(file.body, {
    status: 200,
    headers: { ...SERVED_FILE_HEADERS, ...headers },
  });
}

export function registerProtocols(backend: Promise<Backend>, rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return refuse(404, 'not found');
    const file = await resolveStaticFile(rendererDir, url.pathname);
    if (!file) return refuse(404, 'not found');
    return serveAppFile(file, {
      'content-type': contentType(file),
      'content-security-policy': CONTENT_SECURITY_POLICY,
    });
  });

  protocol.handle(FILE_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== FILE_HOST) return refuse(404, 'not found');
    let real: string;
    try {
      real = await (await backend).resolveServedFile(decodeURIComponent(url.pathname.slice(1)));
    } catch (error) {
      const { code, message } = errorToResult(error).error;
      return refuse(code === 'NOT_FOUND' ? 404 : 403, message);
    }
    const type = imageContentType(real);
    if (!type) return refuse(403, 'only images are served');
    const response = await fileResponse(real, {
      'content-type': type,
      'content-security-policy': SERVED_FILE_POLICY,
      'access-control-allow-origin': APP_ORIGIN,
    });
    return response ?? refuse(404, 'not found');
  });
}
