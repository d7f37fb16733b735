/**
 * Browser mode: the backend behind `npm run serve`. Calls are POST /api/<method> with a JSON body and
 * the access token as a bearer header; events arrive on the WebSocket /events; images load from
 * /files?path=…&token=… (an <img> cannot send headers). The token comes from the URL the server
 * printed (?token=…) and is kept for the tab's lifetime in sessionStorage.
 */
import {
  FILE_ROUTE,
  type ApiEvent,
  type ApiMethod,
  type ApiParamsIn,
  type ApiReply,
  type ApiResults,
  type ExportedFile,
  type Transport,
} from '../../../main/common/api/index.ts';
import { ApiCallError } from './errors.ts';
import { downloadFile } from './download.ts';

const TOKEN_KEY = 'fusionscope-token';

export function accessToken(location: Location = window.location): string {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
  return fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function createHttpTransport(base: URL = new URL('.', window.location.href)): Transport {
  const token = accessToken();
  const listeners = new Set<(event: ApiEvent) => void>();
  let socket: WebSocket | undefined;
  let retry = 500;

  function connect(): void {
    const url = new URL('events', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    socket = new WebSocket(url);
    socket.onopen = () => (retry = 500);
    socket.onmessage = (message) => {
      const event = JSON.parse(String(message.data)) as ApiEvent;
      for (const listener of listeners) listener(event);
    };
    // The server may restart (or the laptop sleep): reconnect with backoff, events resume.
    socket.onclose = () => {
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  }

  return {
    async call<M extends ApiMethod>(method: M, params: ApiParamsIn<M>): Promise<ApiResults[M]> {
      const response = await fetch(new URL(`api/${method}`, base), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(params ?? {}),
      });
      const reply = (await response.json()) as ApiReply<ApiResults[M]>;
      if (!reply.ok) throw new ApiCallError(method, reply.error.code, reply.error.message);
      return reply.value;
    },
    onEvent(listener) {
      if (!socket) connect();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fileUrl(path: string): string {
      const url = new URL(FILE_ROUTE.slice(1), base);
      url.searchParams.set('path', path);
      url.searchParams.set('token', token);
      return url.toString();
    },
    saveFile: async (file: ExportedFile) => downloadFile(file),
  };
}
