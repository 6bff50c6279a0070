import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log.js';

/**
 * Opens a Redis client for `url`. Commands fail fast while disconnected (no offline queue):
 * callers have a failure policy for an unreachable Redis and must not wait on a dead socket.
 * The client reconnects by itself, backing off up to 2 s.
 */
export function openRedis(url: string, logger: Logger, name: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    connectionName: `keygate-${name}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
    ...extra,
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ redis: name, err: err.message }, 'redis connection failed; retrying');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ redis: name }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Resolves once `client` is ready, or rejects after `timeoutMs` with a clear message. */
export async function waitReady(client: Redis, url: string, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis at ${redactUrl(url)} is not reachable`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** A URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
