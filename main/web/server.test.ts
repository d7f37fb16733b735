/**
 * The browser-mode server over the real backend (fresh workspace, no demo preloaded): authentication,
 * Host/Origin checks, the API's HTTP statuses, file serving and its refusals, static files and the
 * events socket.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import type { ApiEvent } from '../common/api/index.ts';
import { DEMO_MODEL_DIR } from '../engine/demo.ts';
import { CONTENT_SECURITY_POLICY, HEADER_ONLY_DIRECTIVES } from '../backend/csp.ts';
import { startServer, type RunningServer } from './server.ts';
import { rawRequest, writeFakeRenderer } from './testing.ts';

let scratch: string;
let workspace: string;
let backend: Backend;
let server: RunningServer;

function api(method: string, body: string, headers: Record<string, string> = {}) {
  return rawRequest(server.port, `/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

function fileUrl(path: string, token = server.token): string {
  return `/files?${new URLSearchParams({ path, token })}`;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fusionscope-web-'));
  workspace = join(scratch, 'workspace');
  const staticDir = join(scratch, 'renderer');
  await writeFakeRenderer(staticDir);
  await writeFile(join(scratch, 'outside.png'), PNG.sync.write(new PNG({ width: 2, height: 2 })));
  await writeFile(join(scratch, 'outside.txt'), 'secret');
  backend = await createBackend({ workspace, mode: 'browser', preloadDemo: false });
  server = await startServer({ backend, staticDir });
  await mkdir(join(workspace, 'figures'), { recursive: true });
  await writeFile(join(workspace, 'figures', 'plot.png'), PNG.sync.write(new PNG({ width: 3, height: 2 })));
  await writeFile(join(workspace, 'figures', 'notes.txt'), 'not an image');
  await symlink(join(scratch, 'outside.png'), join(workspace, 'figures', 'link.png'));
  await symlink(join(scratch, 'outside.txt'), join(staticDir, 'assets', 'leak.txt'));
});

afterAll(async () => {
  await server?.close();
  await backend?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('API calls', () => {
  it('answers a call with an ApiReply when the bearer token is right', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
    const res = await api('appInfo', '{}');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const reply = JSON.parse(res.text);
    expect(reply.ok).toBe(true);
    expect(reply.value.mode).toBe('browser');
    expect(reply.value.workspace).toContain('workspace');
  });

  it('refuses a missing or wrong token with 401', async () => {
    const none = await rawRequest(server.port, '/api/appInfo', { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    const wrong = await api('appInfo', '{}', { authorization: `Bearer ${'0'.repeat(64)}` });
    expect(wrong.status).toBe(401);
    // The token in the query string is for <img> only; API calls need the header.
    const query = await rawRequest(server.port, `/api/appInfo?token=${server.token}`, {
      method: 'POST',
      body: '{}',
    });
    expect(query.status).toBe(401);
  });

  it('refuses a Host header that is not this server (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const res = await api('appInfo', '{}', { host });
      expect(res.status, host).toBe(403);
    }
    const page = await rawRequest(server.port, '/', { headers: { host: `rebind.example:${server.port}` } });
    expect(page.status).toBe(403);
    expect((await api('appInfo', '{}', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('refuses a cross-origin POST and accepts a same-origin one', async () => {
    const cross = await api('appInfo', '{}', { origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    const same = await api('appInfo', '{}', { origin: `http://127.0.0.1:${server.port}` });
    expect(same.status).toBe(200);
  });

  it('answers an unknown method or bad parameters with ok:false BAD_REQUEST (HTTP 200)', async () => {
    const unknown = await api('dropTables', '{}');
    expect(unknown.status).toBe(200);
    expect(JSON.parse(unknown.text)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const bad = await api('deleteRun', '{"runId": "x"}');
    expect(JSON.parse(bad.text)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const missing = await api('runSummary', '{"runId": 99}');
    expect(JSON.parse(missing.text)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('uses HTTP statuses for transport problems: 400, 405, 404, 413', async () => {
    expect((await api('appInfo', '{"unclosed": ')).status).toBe(400);
    const get = await rawRequest(server.port, '/api/appInfo', {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await rawRequest(server.port, '/nothing-here')).status).toBe(404);
    const small = await startServer({ backend, staticDir: join(scratch, 'renderer'), maxBodyBytes: 1024 });
    try {
      const res = await rawRequest(small.port, '/api/exportFigure', {
        method: 'POST',
        headers: { host: `127.0.0.1:${small.port}`, authorization: `Bearer ${small.token}` },
        body: JSON.stringify({ svg: 'x'.repeat(2048), format: 'svg', name: 'big' }),
      });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

describe('/files', () => {
  it('serves an image under a served folder with its content type', async () => {
    const res = await rawRequest(server.port, fileUrl(join(workspace, 'figures', 'plot.png')));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain('sandbox');
    expect(PNG.sync.read(res.body).width).toBe(3);
  });

  it('refuses without the token', async () => {
    const res = await rawRequest(server.port, fileUrl(join(workspace, 'figures', 'plot.png'), 'nope'));
    expect(res.status).toBe(401);
  });

  it('refuses traversal, encoded traversal, symlinks out and non-images with 403', async () => {
    const refused = [
      join(workspace, '..', 'outside.png'),
      `${workspace}/figures/../../outside.png`,
      join(scratch, 'outside.png'),
      join(workspace, 'figures', 'link.png'),
      join(workspace, 'figures', 'notes.txt'),
      'figures/plot.png',
    ];
    for (const path of refused) {
      const res = await rawRequest(server.port, fileUrl(path));
      expect(res.status, path).toBe(403);
    }
    // Percent-encoded dots in the query decode to the same "..", which is refused the same way.
    const encoded = `/files?path=${encodeURIComponent(workspace)}%2F%2E%2E%2Foutside.png&token=${server.token}`;
    expect((await rawRequest(server.port, encoded)).status).toBe(403);
  });

  it('answers 404 for a missing file inside a served folder', async () => {
    const res = await rawRequest(server.port, fileUrl(join(workspace, 'figures', 'gone.png')));
    expect(res.status).toBe(404);
  });
});

describe('static renderer', () => {
  it('serves index.html for / with the CSP header, nosniff and no-cache', async () => {
    const res = await rawRequest(server.port, '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<div id="app">');
  });

  it('serves hashed assets as immutable JavaScript', async () => {
    const res = await rawRequest(server.port, '/assets/index-abc123.js');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('never lists folders or leaves the renderer folder', async () => {
    for (const path of [
      '/assets/',
      '/assets',
      '/../outside.txt',
      '/assets/..%2f..%2foutside.txt',
      '/%2e%2e/outside.txt',
      '/assets/leak.txt',
      '/assets%5c..%5c..%5coutside.txt',
    ]) {
      const res = await rawRequest(server.port, path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('secret');
    }
    expect((await rawRequest(server.port, '/', { method: 'DELETE' })).status).toBe(405);
  });

  it('states the policy of the meta tag in renderer/index.html, plus header-only directives', async () => {
    const html = await readFile(new URL('../../renderer/index.html', import.meta.url), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
    const directives = (policy: string) =>
      policy
        .split(';')
        .map((directive) => directive.trim().replace(/\s+/g, ' '))
        .filter(
          (directive) => directive && !HEADER_ONLY_DIRECTIVES.some((name) => directive.startsWith(name)),
        );
    expect(directives(meta)).toEqual(directives(CONTENT_SECURITY_POLICY));
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });

  it('answers a missing favicon with 204 (no console error in the tab)', async () => {
    expect((await rawRequest(server.port, '/favicon.ico')).status).toBe(204);
  });
});

describe('/events', () => {
  function connect(query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/events${query}`, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  it('refuses a connection without the right token or from another origin', async () => {
    await expect(connect('')).rejects.toThrow('HTTP 401');
    await expect(connect('?token=wrong-token-wrong-token')).rejects.toThrow('HTTP 401');
    await expect(connect(`?token=${server.token}`, { origin: 'http://evil.example' })).rejects.toThrow(
      'HTTP 403',
    );
    expect((await rawRequest(server.port, `/events?token=${server.token}`)).status).toBe(426);
  });

  it('pushes backend events to a connected client (model loading while the demo model opens)', async () => {
    const socket = await connect(`?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
    const events: ApiEvent[] = [];
    socket.on('message', (data) => events.push(JSON.parse(String(data)) as ApiEvent));
    try {
      const res = await api('openModel', JSON.stringify({ folder: DEMO_MODEL_DIR, provider: 'cpu' }));
      expect(JSON.parse(res.text)).toMatchObject({ ok: true, value: { isDemo: true } });
      await expect.poll(() => events.some((event) => event.type === 'model-loading')).toBe(true);
      const loading = events.find((event) => event.type === 'model-loading');
      expect(loading?.type === 'model-loading' && loading.total).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
  });
});
