import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { MAX_OFFSET_MS, quotaWindow, type Period } from '../../src/limits/quota-window.js';
import { bucketParams } from '../../src/limits/token-bucket.js';
import { Metrics } from '../../src/monitor/metrics.js';
import { PlanDirectory } from '../../src/plans/directory.js';
import { Limiter } from '../../src/plans/limiter.js';
import { LocalChangeBus } from '../../src/store/bus.js';
import type { CounterStore, LimitStateStore, Plan, PlanStore } from '../../src/store/interface.js';
import { MemoryCounterStore } from '../../src/store/memory/counters.js';
import { RedisCounterStore } from '../../src/store/redis/counters.js';
import { ReferenceBucket } from '../support/reference-bucket.js';

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
const H = 3_600_000;
const MS_DAY = 86_400_000;

// The quota counting property's plans and clocks: schedules in UTC and two DST zones.
const quotaSchedule = fc.constantFrom<Period>('day', 'week', 'month').chain((period) =>
  fc.record({
    period: fc.constant(period),
    timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
    offsetMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: Math.floor(MAX_OFFSET_MS[period] / H) }).map((h) => h * H), fc.integer({ min: 0, max: MAX_OFFSET_MS[period] })),
  }),
);
// A throttle that is out of the way unless the clock goes back years (1e9 tokens, 10 a
// second), or a tight one that refuses often: only admitted calls use quota either way.
const quotaThrottle = fc.oneof(fc.constant({ rate: 10, burst: 1_000_000_000 }), fc.record({ rate: fc.double({ min: 0.001, max: 5, noNaN: true }), burst: fc.integer({ min: 1, max: 4 }) }));
// Start near a month end, Feb 29 of a leap year, the year end or a DST change.
const quotaBase = fc.constantFrom(
  Date.UTC(2028, 1, 29),
  Date.UTC(2028, 2, 1),
  Date.UTC(2027, 2, 1),
  Date.UTC(2027, 0, 1),
  Date.UTC(2026, 4, 1),
  Date.parse('2026-03-29T01:00:00Z'),
  Date.parse('2026-10-25T01:00:00Z'),
  Date.parse('2026-03-08T07:00:00Z'),
  Date.parse('2026-11-01T06:00:00Z'),
);
const quotaStart = fc.tuple(quotaBase, fc.integer({ min: -3 * MS_DAY, max: 3 * MS_DAY })).map(([b, d]) => b + d);
const quotaStep = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: 6 * H }),
  fc.integer({ min: 0, max: 3 * MS_DAY }),
  fc.integer({ min: 0, max: 40 * MS_DAY }),
  fc.integer({ min: -1000, max: 0 }),
  fc.integer({ min: -3 * MS_DAY, max: 0 }),
  fc.integer({ min: -40 * MS_DAY, max: 0 }),
  // To a boundary of the current window: its last instant, the next window's first, the
  // previous window's last (back across it), its own first.
  fc.constantFrom('end-1', 'end', 'start-1', 'start'),
);

const stores: Array<{ name: string; skip: string | null; make: () => Promise<CounterStore & { close(): Promise<void> }> }> = [
  // With a database it is not flushed to here: unwritten state is never let go, so the models
  // below (which forget nothing) hold however far the clock jumps. Letting go after KEEP_AFTER
  // is tested in backward-clock.test.ts.
  { name: 'memory', skip: null, make: async () => new MemoryCounterStore(new MapState(), logger) },
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

    it('throttles exactly as the reference bucket, for random plans and arrivals, the clock jumping back too', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.double({ min: 0.05, max: 2000, noNaN: true }),
          fc.integer({ min: 1, max: 50 }),
          // Gaps in ms (the gateway's clock): none, short, long, and backward jumps up to a day.
          fc.array(
            fc.oneof(
              fc.constant(0),
              fc.integer({ min: 0, max: 3 }),
              fc.integer({ min: 0, max: 3000 }),
              fc.integer({ min: -3, max: 0 }),
              fc.integer({ min: -3000, max: 0 }),
              fc.integer({ min: -MS_DAY, max: 0 }),
            ),
            { minLength: 1, maxLength: 60, size: 'max' },
          ),
          async (rate, burst, gaps) => {
            const p = bucketParams(rate, burst);
            const ref = new ReferenceBucket(p.intervalUs, burst);
            const key = `b:prop${run++}`;
            let now = Date.parse('2026-11-27T10:00:00Z');
            const first = now + gaps[0]!;
            let latest = first;
            let admitted = 0;
            for (const gap of gaps) {
              now += gap;
              latest = Math.max(latest, now);
              const expected = ref.peek(now * 1000);
              if (expected.allowed) ref.take(now * 1000);
              const got = await store.decide({ bucketKey: key, bucket: p, quota: null, now });
              expect({ allowed: got.allowed, remaining: got.remaining, retryAfterUs: got.retryAfterUs, resetUs: got.resetUs }).toEqual(expected);
              expect(got.refusal).toBe(expected.allowed ? null : 'rate_limited');
              if (got.allowed) admitted++;
              // Going back and forth over the same stretch of time refills it once.
              expect(admitted).toBeLessThanOrEqual(burst + (rate * (latest - first)) / 1000 + 1e-9);
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it('counts quota per window as a simple model does, the clock jumping back and forth across window and month ends', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(quotaSchedule, quotaThrottle, fc.integer({ min: 1, max: 6 }), quotaStart, fc.array(quotaStep, { minLength: 1, maxLength: 60, size: 'max' }), async (s, t, limit, t0, steps) => {
          const clock = new ManualClock(t0);
          const plan: Plan = {
            id: `plan_q${run}`,
            name: `q${run}`,
            rate: t.rate,
            burst: t.burst,
            quota: { limit, period: s.period, offset: s.offsetMs === 0 ? null : `${s.offsetMs}ms` },
            timezone: s.timezone,
            overrides: [],
            autoSuspend: [],
            createdAt: 0,
            updatedAt: 0,
          };
          const directory = new PlanDirectory({} as PlanStore, new LocalChangeBus(), clock, logger, null);
          directory.apply(plan.id, plan);
          const limiter = new Limiter(directory, store, clock);
          const lineageId = `key_q${run++}`;
          const principal = { keyId: lineageId, appId: 'app_1', planId: plan.id, lineageId, metadata: null };
          // The model: a count per window start, admitted while below the limit. Its windows
          // come from quotaWindow (checked on its own in src/limits/quota-window.test.ts), not
          // from the limiter's cache.
          const bucket = new ReferenceBucket(bucketParams(t.rate, t.burst).intervalUs, t.burst);
          const counts = new Map<number, number>();
          let now = t0;
          for (const st of steps) {
            const w = quotaWindow(now, s);
            now = typeof st === 'number' ? now + st : st === 'end-1' ? w.end - 1 : st === 'end' ? w.end : st === 'start-1' ? w.start - 1 : w.start;
            clock.set(now);
            const window = quotaWindow(now, s);
            const used = counts.get(window.start) ?? 0;
            let refusal: string | null = null;
            if (!bucket.peek(now * 1000).allowed) refusal = 'rate_limited';
            else if (used >= limit) refusal = 'quota_exceeded';
            else {
              bucket.take(now * 1000);
              counts.set(window.start, used + 1);
            }
            const outcome = (await limiter.check(principal, '/r', 'GET', now))!;
            const expected = { at: new Date(now).toISOString(), refusal, quotaUsed: counts.get(window.start) ?? 0, window };
            expect({ at: expected.at, refusal: outcome.decision.refusal, quotaUsed: outcome.decision.quotaUsed, window: outcome.window }).toEqual(expected);
            expect((await limiter.quota(lineageId, plan.id))?.used).toBe(counts.get(window.start) ?? 0);
          }
          for (const [windowStart, count] of counts) expect(await store.quotaUsed(`q:${lineageId}:${windowStart}`)).toBe(count);
        }),
        { numRuns: 40 },
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
            const buckets = plans.map((plan) => new ReferenceBucket(bucketParams(plan.rate, plan.burst).intervalUs, plan.burst));
            const used = new Map<number, number>();
            const expected = calls.map((call) => {
              const k = call % plans.length;
              const plan = plans[k]!;
              if (!buckets[k]!.peek(now * 1000).allowed) return 'rate_limited';
              if (plan.limit > 0 && (used.get(k) ?? 0) >= plan.limit) return 'quota_exceeded';
              buckets[k]!.take(now * 1000);
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
