/**
 * A real redis-server for the queue tests (Debian's package; `.ci/run` installs it when missing): on a
 * free loopback port, in memory only (no dump file, no append-only file), at most 512 MB, killed by
 * `stop()`.
 * Without redis-server the tests skip with a notice, unless FUSIONSCOPE_REQUIRE_REDIS is set (CI), where
 * they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import { Redis } from 'ioredis';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export const REDIS_SERVER = process.env.FUSIONSCOPE_REDIS_SERVER ?? 'redis-server';

export function redisAvailable(): boolean {
  const found = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found && process.env.FUSIONSCOPE_REQUIRE_REDIS) {
    throw new Error(
      `${REDIS_SERVER} is not installed, and FUSIONSCOPE_REQUIRE_REDIS is set (apt-get install redis-server)`,
    );
  }
  if (!found)
    console.warn(`queue tests skipped: ${REDIS_SERVER} is not installed (apt-get install redis-server)`);
  return found;
}

/** A loopback port nothing listens on now (taken, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        // Bounded: a test that floods the queue fails with OOM errors instead of eating the machine.
        '--maxmemory',
        '512mb',
        '--maxmemory-policy',
        'noeviction',
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      const probe = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      let refused = false;
      probe.on('error', (error) => (refused ||= /NOAUTH/.test(String(error))));
      try {
        await probe.connect();
        await probe.ping();
        up = true;
      } catch (error) {
        // A server started with --requirepass answers, with NOAUTH: it is up.
        up = refused || /NOAUTH/.test(String(error));
        if (!up) await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
      if (up) break;
    }
    if (up) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        child,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 2) throw new Error(`redis-server did not start on a loopback port (3 tries)`);
  }
}
