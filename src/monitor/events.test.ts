import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, BUCKETS, LATENCY_BOUNDS, latencyBucket, mergeDelta, percentile } from './events.js';

describe('latency histogram', () => {
  it('puts each latency in the first bucket whose bound holds it', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    expect(latencyBucket(1.01)).toBe(1);
    expect(latencyBucket(30000)).toBe(LATENCY_BOUNDS.length - 1);
    expect(latencyBucket(1e9)).toBe(BUCKETS - 1);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (ms) => {
        const b = latencyBucket(ms);
        if (b < LATENCY_BOUNDS.length) expect(ms).toBeLessThanOrEqual(LATENCY_BOUNDS[b]!);
        if (b > 0) expect(ms).toBeGreaterThan(LATENCY_BOUNDS[b - 1]!);
      }),
    );
  });

  it('estimates percentiles within the bucket holding them', () => {
    const h = new Array<number>(BUCKETS).fill(0);
    expect(percentile(h, 0.5)).toBeNull();
    for (const ms of [4, 4, 4, 4, 4, 4, 4, 4, 4, 120]) h[latencyBucket(ms)]!++;
    const p50 = percentile(h, 0.5)!;
    expect(p50).toBeGreaterThan(3);
    expect(p50).toBeLessThanOrEqual(5);
    const p99 = percentile(h, 0.99)!;
    expect(p99).toBeGreaterThan(100);
    expect(p99).toBeLessThanOrEqual(150);
  });
});

describe('aggregator', () => {
  it('counts per minute for every scope, and merged deltas add up', () => {
    const a = new Aggregator();
    const t = Date.parse('2026-11-27T10:00:30Z');
    const base = { keyId: 'k', appId: 'a', route: '/r', method: 'GET', latencyMs: 2, ip: '1.2.3.4', bytesIn: 1, bytesOut: 2 };
    a.add({ ...base, ts: t, status: 200, code: null });
    a.add({ ...base, ts: t + 10_000, status: 429, code: 'rate_limited' });
    a.add({ ...base, ts: t + 40_000, status: 429, code: 'quota_exceeded' });
    a.add({ ...base, keyId: null, appId: null, ts: t, status: 401, code: 'invalid_api_key' });
    const deltas = a.take();
    expect(a.size).toBe(0);
    const get = (scope: string, minute: string) => deltas.find((d) => d.scope === scope && d.minute === Date.parse(minute))!;
    expect(get('all', '2026-11-27T10:00:00Z')).toMatchObject({ requests: 3, admitted: 1, s2xx: 1, s4xx: 2, throttled: 1, authRefused: 1 });
    expect(get('key', '2026-11-27T10:00:00Z')).toMatchObject({ requests: 2, throttled: 1 });
    expect(get('key', '2026-11-27T10:01:00Z')).toMatchObject({ requests: 1, quotaExceeded: 1 });
    expect(deltas.filter((d) => d.scope === 'app')).toHaveLength(2);
    const x = { ...get('all', '2026-11-27T10:00:00Z'), histogram: [...get('all', '2026-11-27T10:00:00Z').histogram] };
    mergeDelta(x, get('all', '2026-11-27T10:01:00Z'));
    expect(x.requests).toBe(4);
    expect(x.histogram.reduce((s, n) => s + n, 0)).toBe(4);
  });
});
