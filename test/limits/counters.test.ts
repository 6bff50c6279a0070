import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { bucketParams, takeToken } from '../../src/limits/token-bucket.js';
import { Metrics } from '../../src/monitor/metrics.js';
import type { CounterStore, LimitStateStore } from '../../src/store/interface.js';
import { MemoryCounterStore } from '../../src/store/memory/counters.js';
import { RedisCounterStore } from '../../src/store/redis/counters.js';

/** A LimitStateStore in a Map (the SQL one is exercised by the gateway tests). */
class MapState implements LimitStateStore {
  quotas = new Map<string, { used: number; windowEnd: number }>();
  async loadQuotas(now: number) {
    return [...this.quotas].filter(([, q]) => q.windowEnd > now).map(([key, q]) => ({ key, ...q }));
  }
  async getQuota(key: string) {
    return this.quotas.get(key)?.used ?? 0;
  }
  async raiseQuotas(rows: Array<{ key: string; used: number; windowEnd: number }>) {
    for (const r of rows) if ((this.quotas.get(r.key)?.used ?? -1) < r.used) this.quotas.set(r.key, { used: r.used, windowEnd: r.windowEnd });
  }
  async setQuota(key: string, used: number, windowEnd: number) {
    this.quotas.set(key, { used, windowEnd });
  }
  async loadBuckets() {
    return [];
  }
  async saveBuckets() {}
  async prune() {}
}

const logger = createLogger('silent');
const redisUrl = inject('redisUrl');

const stores: Array<{ name: string; skip: string | null; make: () => Promise<CounterStore & { close(): Promise<void> }> }> = [
  { name: 'memory', skip: null, make: async () => new MemoryCounterStore(null, logger) },
  {
    name: 'redis (Lua)',
    skip: redisUrl ? null : inject('serverSkip'),
    make: async () => {
      const redis = new Redis(redisUrl!);
      const store = new RedisCounterStore(redis, new MapState(), {
        prefix: `t${Math.random().toString(36).slice(2)}:`,
        failClosed: false,
        passClock: true,
        logger,
        metrics: new Metrics({ defaults: false }),
      });
      return Object.assign(store, {
        close: async () => {
          redis.disconnect();
        },
      });
    },
  },
];

describe.each(stores)('counter store: $name', ({ skip, make }) => {
  describe.skipIf(skip !== null)(skip ? `SKIPPED: ${skip}` : 'decisions', () => {
    let store: CounterStore;
    beforeAll(async () => {
      store = await make();
    });
    afterAll(() => store?.close());

    it('decides exactly as the pure token bucket, for random plans and arrivals', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.double({ min: 0.05, max: 2000, noNaN: true }),
          fc.integer({ min: 1, max: 50 }),
          fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3_000_000 })), { minLength: 1, maxLength: 60 }),
          async (rate, burst, gaps) => {
            const p = bucketParams(rate, burst);
            const key = `b:prop${run++}`;
            let tat: number | undefined;
            let now = 1_800_000_000_000_000;
            for (const gap of gaps) {
              now += gap;
              const expected = takeToken(tat, now, p);
              if (expected.allowed) tat = expected.tat;
              const got = await store.decide({ bucketKey: key, bucket: p, quota: null, now: now / 1000 });
              expect(got.allowed).toBe(expected.allowed);
              expect(got.remaining).toBe(expected.remaining);
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it('decides concurrent calls of several keys exactly as one after another, in order, beyond one batch', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ rate: fc.double({ min: 0.05, max: 100, noNaN: true }), burst: fc.integer({ min: 1, max: 400 }), limit: fc.integer({ min: 0, max: 600 }) }), { minLength: 1, maxLength: 3 }),
          fc.array(fc.nat(2), { minLength: 1, maxLength: 1200 }),
          async (plans, calls) => {
            const id = run++;
            const now = Date.parse('2026-11-27T10:00:00Z');
            const windowEnd = Date.parse('2026-12-01T00:00:00Z');
            const tats = new Map<number, number>();
            const used = new Map<number, number>();
            const expected = calls.map((call) => {
              const k = call % plans.length;
              const plan = plans[k]!;
              const taken = takeToken(tats.get(k), now * 1000, bucketParams(plan.rate, plan.burst));
              if (!taken.allowed) return 'rate_limited';
              if (plan.limit > 0 && (used.get(k) ?? 0) >= plan.limit) return 'quota_exceeded';
              tats.set(k, taken.tat);
              used.set(k, (used.get(k) ?? 0) + 1);
              return null;
            });
            const got = await Promise.all(
              calls.map((call) => {
                const k = call % plans.length;
                const plan = plans[k]!;
                return store.decide({
                  bucketKey: `b:batch${id}:${k}`,
                  bucket: bucketParams(plan.rate, plan.burst),
                  quota: plan.limit > 0 ? { key: `q:batch${id}:${k}`, limit: plan.limit, windowEnd } : null,
                  now,
                });
              }),
            );
            expect(got.map((d) => d.refusal)).toEqual(expected);
            for (const [k, plan] of plans.entries()) {
              if (plan.limit > 0) expect(await store.quotaUsed(`q:batch${id}:${k}`)).toBe(used.get(k) ?? 0);
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it('takes quota only for admitted calls, atomically with the token', async () => {
      const p = bucketParams(1000, 1000);
      const quota = { key: 'q:atomic', limit: 10, windowEnd: Date.parse('2027-01-01T00:00:00Z') };
      const now = Date.parse('2026-11-27T10:00:00Z');
      const results = await Promise.all(Array.from({ length: 25 }, () => store.decide({ bucketKey: 'b:atomic', bucket: p, quota, now })));
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
      expect(results.filter((r) => r.refusal === 'quota_exceeded')).toHaveLength(15);
      expect(await store.quotaUsed('q:atomic')).toBe(10);
      expect(await store.adjustQuota('q:atomic', { add: -3 }, quota.windowEnd)).toBe(7);
      expect(await store.adjustQuota('q:atomic', { reset: true }, quota.windowEnd)).toBe(0);
    });
  });
});
