import { describe, expect, it } from 'vitest';
import { bucketParams } from '../../src/limits/token-bucket.js';
import type { LimitStateStore } from '../../src/store/interface.js';
import { MemoryCounterStore } from '../../src/store/memory/counters.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/monitor/metrics.js';
import { openRedis } from '../../src/store/redis/connection.js';
import { RedisCounterStore } from '../../src/store/redis/counters.js';
import { freePort } from '../support/servers.js';

/**
 * The in-memory store of the embedded mode drops, on its minutely sweep, buckets that are full
 * again and quota windows that are over, once written to the database; but only KEEP_AFTER
 * later (a minute for buckets, an hour for windows). A clock that steps back by less than that
 * finds the state again: no second `limit` in one window, no second burst for one stretch of
 * time. (Before, they were dropped at once, and such a step restarted the counts from nothing.)
 */

/** A database that accepts every write and holds nothing (enough to make flushes clear the dirty sets). */
const database: LimitStateStore = {
  loadQuotas: async () => [],
  getQuota: async () => 0,
  raiseQuotas: async () => {},
  setQuota: async () => {},
  loadBuckets: async () => [],
  saveBuckets: async () => {},
  prune: async () => {},
};

describe('memory counter store with a database, the clock going back', () => {
  it('keeps counting a quota window that is over when the clock goes back into it', async () => {
    const store = new MemoryCounterStore(database, null);
    const p = bucketParams(1000, 1000);
    const november = { key: 'q:k:nov', limit: 2, windowEnd: Date.parse('2026-12-01T00:00:00Z') };
    const at = (iso: string) => Date.parse(iso);
    const refusals: Array<string | null> = [];
    for (const t of ['2026-11-30T23:59:00Z', '2026-11-30T23:59:01Z', '2026-11-30T23:59:02Z']) {
      refusals.push(store.decide({ bucketKey: 'b:k', bucket: p, quota: november, now: at(t) }).refusal);
    }
    expect(refusals).toEqual([null, null, 'quota_exceeded']);
    await store.flush();
    // Another key's call two minutes later runs the sweep, which keeps November's window (an hour).
    store.decide({ bucketKey: 'b:other', bucket: p, quota: { key: 'q:other:dec', limit: 2, windowEnd: at('2027-01-01T00:00:00Z') }, now: at('2026-12-01T00:01:00Z') });
    // Back to November: the window still has its 2 calls, so the model refuses.
    const again = store.decide({ bucketKey: 'b:k', bucket: p, quota: november, now: at('2026-11-30T23:59:10Z') });
    expect(again.refusal).toBe('quota_exceeded');
    expect(await store.quotaUsed(november.key)).toBe(2);
  });

  it('never admits more than burst + rate * (latest time seen - first call) when the clock goes back', async () => {
    const store = new MemoryCounterStore(database, null);
    const p = bucketParams(1, 1); // one call a second
    const t0 = Date.parse('2026-11-27T10:00:00Z');
    let admitted = 0;
    for (let i = 0; i <= 100; i++) if (store.decide({ bucketKey: 'b:k', bucket: p, quota: null, now: t0 + i * 1000 }).allowed) admitted++;
    expect(admitted).toBe(101); // one every second for 100 s; the TAT is now t0 + 101 s
    await store.flush();
    // Another key's call at t0 + 122 s runs the sweep, which keeps the bucket (full again for 21 s).
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: t0 + 122_000 });
    const latest = t0 + 122_000;
    // Back to t0: the model's bucket is 101 s from full, so the first call is refused ...
    const first = store.decide({ bucketKey: 'b:k', bucket: p, quota: null, now: t0 });
    expect(first.allowed).toBe(false);
    if (first.allowed) admitted++;
    for (let i = 1; i <= 100; i++) if (store.decide({ bucketKey: 'b:k', bucket: p, quota: null, now: t0 + i * 1000 }).allowed) admitted++;
    // ... and the second pass over [t0, t0 + 100 s] admits nothing it had not already refilled.
    expect(admitted).toBeLessThanOrEqual(1 + (latest - t0) / 1000);
  });

  it('still lets go of them after KEEP_AFTER (memory stays bounded): a step back further finds a fresh window', async () => {
    const store = new MemoryCounterStore(database, null);
    const p = bucketParams(1000, 1000);
    const at = (iso: string) => Date.parse(iso);
    const november = { key: 'q:k:nov', limit: 1, windowEnd: at('2026-12-01T00:00:00Z') };
    expect(store.decide({ bucketKey: 'b:k', bucket: p, quota: november, now: at('2026-11-30T23:59:00Z') }).refusal).toBeNull();
    await store.flush();
    // 59 minutes after the window: kept.
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-01T00:59:00Z') });
    expect(await store.quotaUsed(november.key)).toBe(1);
    // Past the hour: dropped from memory.
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-01T01:00:30Z') });
    expect(await store.quotaUsed(november.key)).toBe(0);
  });
});

describe('memory counter store without a database (the Redis store outage fallback)', () => {
  it('lets go of windows and buckets after KEEP_AFTER too, though it writes nothing', async () => {
    const store = new MemoryCounterStore(null, null);
    const p = bucketParams(1, 1); // one call a second, no burst
    const at = (iso: string) => Date.parse(iso);
    const november = { key: 'q:k:nov', limit: 5, windowEnd: at('2026-12-01T00:00:00Z') };
    expect(store.decide({ bucketKey: 'b:k', bucket: p, quota: november, now: at('2026-11-30T23:59:59Z') }).allowed).toBe(true);
    // Another key's calls run the sweep. 59 minutes after the window, 30 s after the bucket was
    // full again: both kept (a call back in time is refused by the bucket, the window counted).
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-01T00:00:30Z') });
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-01T00:59:00Z') });
    expect(await store.quotaUsed(november.key)).toBe(1);
    // Past the hour: the window and the bucket are dropped, so memory stays bounded in a long outage.
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-01T01:00:30Z') });
    expect(await store.quotaUsed(november.key)).toBe(0);
    expect(store.decide({ bucketKey: 'b:k', bucket: p, quota: null, now: at('2026-11-30T23:59:59.500Z') }).allowed).toBe(true);
  });

  it('keeps a window still in progress, however long the outage', async () => {
    const store = new MemoryCounterStore(null, null);
    const p = bucketParams(1000, 1000);
    const at = (iso: string) => Date.parse(iso);
    const month = { key: 'q:k:dec', limit: 5, windowEnd: at('2027-01-01T00:00:00Z') };
    store.decide({ bucketKey: 'b:k', bucket: p, quota: month, now: at('2026-12-01T00:00:00Z') });
    store.decide({ bucketKey: 'b:other', bucket: p, quota: null, now: at('2026-12-20T00:00:00Z') });
    expect(store.drainQuotaCounts()).toEqual([{ key: 'q:k:dec', used: 1, windowEnd: month.windowEnd }]);
  });
});

describe('Redis counter store during an outage', () => {
  it('lets go of the seed of a window that ended over an hour ago once the local count is gone, and keeps the others', async () => {
    // A real client on a port nothing listens on: every command fails, as in an outage.
    const redis = openRedis(`redis://127.0.0.1:${await freePort()}`, createLogger('silent'), 'outage-test');
    const store = new RedisCounterStore(redis, database, { prefix: 't:', failClosed: false, passClock: true, logger: createLogger('silent'), metrics: new Metrics({ defaults: false }) });
    try {
      const p = bucketParams(1000, 1000);
      const now = Date.now();
      const ended = { key: 'q:k:ended', limit: 5, windowEnd: now - 2 * 3_600_000 };
      const current = { key: 'q:k:current', limit: 5, windowEnd: now + 3_600_000 };
      // A call while the older window was open, decided locally.
      expect((await store.decide({ bucketKey: 'b:k', bucket: p, quota: ended, now: ended.windowEnd - 1000 })).refusal).toBeNull();
      expect(store.outageSeedCount()).toBe(1);
      // Its window is over, but the local store still holds its count: the seed stays with it.
      await store.flush();
      expect(store.outageSeedCount()).toBe(1);
      // A call now: the local store's sweep lets go of the ended window, and the flush of its seed.
      expect((await store.decide({ bucketKey: 'b:k', bucket: p, quota: current, now })).refusal).toBeNull();
      expect(store.outageSeedCount()).toBe(2);
      await store.flush();
      expect(store.outageSeedCount()).toBe(1);
      expect(await store.quotaUsed(current.key)).toBe(1);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });
});
