/**
 * `npm run serve`'s entry as a user runs it (a child process through tsx): the one stdout line with
 * the URL, a working API behind it, a clean exit on SIGTERM, and a clear refusal when the renderer
 * has not been built.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { writeFakeRenderer } from './testing.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const URL_LINE = /^FusionScope \(browser mode\): (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{64}))$/m;

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fusionscope-serve-'));
  await writeFakeRenderer(join(scratch, 'renderer'));
});

afterAll(() => rm(scratch, { recursive: true, force: true }));

function serve(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'main/web/serve.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

it('prints its URL on one stdout line, serves the API there, and stops cleanly on SIGTERM', async () => {
  const run = serve([
    '--port',
    '0',
    '--no-demo',
    '--workspace',
    join(scratch, 'workspace'),
    '--renderer',
    join(scratch, 'renderer'),
  ]);
  try {
    await expect.poll(() => URL_LINE.test(run.stdout()), { timeout: 60_000, interval: 100 }).toBe(true);
    const [, url, port, token] = URL_LINE.exec(run.stdout()) ?? [];
    expect((await fetch(url)).status).toBe(200);
    const reply = await fetch(`http://127.0.0.1:${port}/api/appInfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    }).then((res) => res.json());
    expect(reply).toMatchObject({
      ok: true,
      value: { mode: 'browser', workspace: join(scratch, 'workspace') },
    });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout().trim().split('\n')).toHaveLength(1);
  } finally {
    run.child.kill('SIGKILL');
  }
});

it('refuses to start without a built renderer and says how to build it', async () => {
  const run = serve([
    '--no-demo',
    '--workspace',
    join(scratch, 'other'),
    '--renderer',
    join(scratch, 'none'),
  ]);
  expect(await run.exited).toBe(2);
  expect(run.stderr()).toContain('npm run build:renderer');
  expect(run.stdout()).toBe('');
});

it('names a bad flag', async () => {
  const run = serve(['--port', 'eighty']);
  expect(await run.exited).toBe(2);
  expect(run.stderr()).toContain('--port: "eighty"');
});
