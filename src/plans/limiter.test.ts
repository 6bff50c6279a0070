import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { createLogger } from '../log.js';
import { LocalChangeBus } from '../store/bus.js';
import type { Plan, PlanStore } from '../store/interface.js';
import { MemoryCounterStore } from '../store/memory/counters.js';
import { PlanDirectory } from './directory.js';
import { decimal, Limiter } from './limiter.js';

describe('decimal', () => {
  it('writes every safe integer as String does, and anything else too', () => {
    fc.assert(fc.property(fc.oneof(fc.maxSafeNat(), fc.integer({ min: 2 ** 31 - 5, max: 2 ** 31 + 5 }), fc.double()), (n) => decimal(n) === String(n)));
  });
});

describe('rate-limit headers', () => {
  it('count down a quota far beyond 2^31', () => {
    const clock = new ManualClock(Date.parse('2026-11-28T12:00:00Z'));
    const plan: Plan = {
      id: 'plan_1', name: 'big', rate: 10, burst: 5, quota: { limit: 5_000_000_000_000, period: 'month', offset: null },
      timezone: 'UTC', overrides: [], autoSuspend: [], createdAt: 0, updatedAt: 0,
    };
    const directory = new PlanDirectory({} as PlanStore, new LocalChangeBus(), clock, createLogger('silent'), null);
    directory.apply(plan.id, plan);
    const limiter = new Limiter(directory, new MemoryCounterStore(null, null), clock);
    const principal = { keyId: 'key_1', appId: 'app_1', planId: 'plan_1', lineageId: 'key_1', metadata: null };
    const headers = () => (limiter.check(principal, '/demo', 'GET') as { headers: Record<string, string> }).headers;
    expect(headers()).toEqual({
      'ratelimit-policy': '"throttle";q=5;w=1, "quota";q=5000000000000;w=2592000',
      ratelimit: '"throttle";r=4;t=1, "quota";r=4999999999999;t=216000',
    });
    expect(headers().ratelimit).toBe('"throttle";r=3;t=1, "quota";r=4999999999998;t=216000');
  });
});
