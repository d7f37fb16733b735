/**
 * Browser mode: the renderer and the backend API over HTTP on a loopback port (docs: main/web/README.md).
 *
 *   GET  /, /assets/…            the built renderer (no token: it holds no data)
 *   POST /api/<method>           JSON params → ApiReply JSON (HTTP 200 even when ok is false)
 *   GET  /files?path=…&token=…   an image under a folder the backend serves
 *   WS   /events?token=…         backend events, one JSON text frame each
 *
 * HTTP error statuses are for transport problems only: 400 unreadable request, 401 missing or wrong
 * token, 403 refused Host/Origin or file, 404, 405, 413 body too large.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { FILE_ROUTE } from '../common/api/index.ts';
import { errorToResult } from '../common/errors.ts';
import type { Backend } from '../backend/types.ts';
import { CONTENT_SECURITY_POLICY, SERVED_FILE_POLICY } from '../backend/csp.ts';
import { createEventHub, refuseUpgrade } from './events.ts';
import { contentType, imageContentType, resolveStaticFile } from '../backend/staticFiles.ts';
import { allowedHosts, bearerToken, hostAllowed, originAllowed, tokensEqual } from './guards.ts';

export interface ServerOptions {
  readonly backend: Backend;
  /** The built renderer (renderer/dist). */
  readonly staticDir: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Loopback by default; anything else exposes the API (token-protected, unencrypted) to the network. */
  readonly host?: string;
  /** Default: 32 random bytes, hex. */
  readonly token?: string;
  /** Largest accepted API body; exportFigure carries whole SVGs (default 64 MiB). */
  readonly maxBodyBytes?: number;
}

export interface RunningServer {
  /** The address to open, token included. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Stops listening and drops every connection; the backend stays open (its owner closes it). */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const API_PREFIX = '/api/';
const EVENTS_ROUTE = '/events';

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function setCommonHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  // The page URL carries the token: never send it anywhere as a referrer.
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('cache-control', 'no-store');
}

/** The body, or undefined once it exceeds `limit` (reading stops; the caller answers 413). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { backend, staticDir } = options;
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (token.length < 16) throw new Error('startServer: the access token must have at least 16 characters');
  let hosts: ReadonlySet<string> = new Set();

  const authorised = (req: IncomingMessage, url: URL) =>
    tokensEqual(bearerToken(req.headers.authorization) ?? url.searchParams.get('token') ?? '', token);

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, 'API calls are POST requests');
    }
    if (!tokensEqual(bearerToken(req.headers.authorization) ?? '', token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, 'missing or wrong access token (open the URL the server printed)');
    }
    if (!originAllowed(req.headers.origin, req.headers.host)) {
      return send(res, 403, `cross-origin request refused (Origin ${req.headers.origin})`);
    }
    const body = await readBody(req, maxBody);
    if (!body) {
      res.setHeader('connection', 'close');
      return send(res, 413, `request body larger than ${maxBody} bytes`);
    }
    let method: string;
    let params: unknown;
    try {
      method = decodeURIComponent(url.pathname.slice(API_PREFIX.length));
      params = body.length ? JSON.parse(body.toString('utf8')) : undefined;
    } catch {
      return send(res, 400, 'the request body is not valid JSON');
    }
    // backend.call validates (unknown method, bad params → ok:false BAD_REQUEST) and never throws.
    const reply = await backend.call(method, params).catch(errorToResult);
    send(res, 200, JSON.stringify(reply), 'application/json; charset=utf-8');
  }

  async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'files are read with GET');
    }
    if (!authorised(req, url)) return send(res, 401, 'missing or wrong access token');
    const requested = url.searchParams.get('path');
    if (!requested) return send(res, 400, 'missing ?path=');
    let real: string;
    try {
      real = await backend.resolveServedFile(requested);
    } catch (error) {
      const { code, message } = errorToResult(error).error;
      return send(res, code === 'NOT_FOUND' ? 404 : code === 'FORBIDDEN' ? 403 : 400, message);
    }
    const type = imageContentType(real);
    if (!type) return send(res, 403, 'only images are served');
    const info = await stat(real).catch(() => undefined);
    if (!info?.isFile()) return send(res, 404, 'not a file');
    res.writeHead(200, {
      'content-type': type,
      'content-length': info.size,
      'content-security-policy': SERVED_FILE_POLICY,
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(real)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed');
    }
    const file = await resolveStaticFile(staticDir, url.pathname);
    // Browsers ask for /favicon.ico on their own; "none" is not an error worth a console line.
    if (!file && url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (!file) return send(res, 404, 'not found');
    const info = await stat(file);
    res.writeHead(200, {
      'content-type': contentType(file),
      'content-length': info.size,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      // Vite content-hashes everything under assets/; index.html must always be revalidated.
      'cache-control': url.pathname.startsWith('/assets/')
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setCommonHeaders(res);
    if (!hostAllowed(req.headers.host, hosts)) {
      const expected = [...hosts].slice(0, 2).join(' or ');
      return send(
        res,
        403,
        `refused Host header "${req.headers.host ?? ''}": expected ${expected} (through an SSH tunnel, forward the same port number)`,
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(API_PREFIX)) return handleApi(req, res, url);
    if (url.pathname === FILE_ROUTE) return handleFile(req, res, url);
    if (url.pathname === EVENTS_ROUTE) return send(res, 426, 'this route is a WebSocket');
    return handleStatic(req, res, url);
  }

  const hub = createEventHub(backend);
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== EVENTS_ROUTE) return refuseUpgrade(socket, 404, 'Not Found');
    if (!hostAllowed(req.headers.host, hosts) || !originAllowed(req.headers.origin, req.headers.host)) {
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (!tokensEqual(url.searchParams.get('token') ?? '', token)) {
      return refuseUpgrade(socket, 401, 'Unauthorized');
    }
    hub.accept(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  const shownHost = ['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
