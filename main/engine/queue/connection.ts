/**
 * Connections to the queue's Redis: the options BullMQ and our own keys share, and a first contact that
 * turns "nothing answers" or "wrong password" into an error naming the address, before any job is sent.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

import { FusionError } from '../../common/errors.ts';
import type { QueueAddress } from './address.ts';

const CONNECT_TIMEOUT_MS = 5000;

/**
 * Options for every connection to `address`. BullMQ's blocking worker connections need
 * maxRetriesPerRequest null (a command waits for a reconnect instead of failing).
 */
export function redisOptions(address: QueueAddress): RedisOptions {
  return {
    host: address.host,
    port: address.port,
    db: address.db,
    ...(address.username !== undefined ? { username: address.username } : {}),
    ...(address.password !== undefined ? { password: address.password } : {}),
    ...(address.tls ? { tls: { servername: address.host } } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: null,
  };
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|Connection is closed/.test(text))
    return 'nothing answers there (is redis-server running, on that port?)';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'the host name does not resolve';
  if (/ETIMEDOUT|timeout/i.test(text)) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(text))
    return `it refused the login (${text.slice(0, 200)}); give the password in the URL or FUSIONSCOPE_QUEUE_PASSWORD`;
  return text.slice(0, 300);
}

/** The same options, typed as BullMQ's Queue and Worker take them. */
export function bullConnection(address: QueueAddress): ConnectionOptions {
  return redisOptions(address) as ConnectionOptions;
}

/** A connection that answered PING; refuses with QUEUE naming the address and why. */
export async function connectRedis(address: QueueAddress): Promise<Redis> {
  const redis = new Redis({
    ...redisOptions(address),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
  });
  // A failed connect rejects with "Connection is closed"; the 'error' event before it says why.
  let cause: unknown;
  redis.on('error', (error) => (cause ??= error));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const why = cause ?? error;
    throw new FusionError('QUEUE', `cannot use the queue at ${address.shown}: ${reason(why)}`, {
      cause: why,
    });
  }
  return redis;
}
