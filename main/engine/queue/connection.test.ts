import { describe, expect, it } from 'vitest';

import { parseQueueAddress } from './address.ts';
import { connectRedis } from './connection.ts';
import { freePort, redisAvailable, startRedis } from './redisServer.testing.ts';

describe('reaching the queue', () => {
  it('nothing listening: QUEUE, naming the address without its password, and what to check', async () => {
    const port = await freePort();
    const failure = connectRedis(parseQueueAddress(`redis://u:secret@127.0.0.1:${port}`, {}));
    await expect(failure).rejects.toMatchObject({ code: 'QUEUE' });
    await expect(failure).rejects.toThrow(
      `cannot use the queue at redis://u:***@127.0.0.1:${port}: nothing answers there (is redis-server running, on that port?)`,
    );
  });

  it.skipIf(!redisAvailable())('a server with a password refuses a wrong one, by name', async () => {
    const redis = await startRedis(['--requirepass', 'right']);
    try {
      const wrong = connectRedis(parseQueueAddress(`redis://:wrong@127.0.0.1:${redis.port}`, {}));
      await expect(wrong).rejects.toThrow(/it refused the login .*FUSIONSCOPE_QUEUE_PASSWORD/);
      const right = await connectRedis(
        parseQueueAddress(`redis://127.0.0.1:${redis.port}`, { FUSIONSCOPE_QUEUE_PASSWORD: 'right' }),
      );
      expect(await right.ping()).toBe('PONG');
      right.disconnect();
    } finally {
      await redis.stop();
    }
  });
});
