import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { backends, title } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startUpstream } from '../support/upstream.js';
import { eventually } from '../support/eventually.js';


const sum = (items: Array<Record<string, number>>, field: string) => items.reduce((a, i) => a + (i[field] ?? 0), 0);

/** A POST whose body is sent in chunks (Transfer-Encoding: chunked, no Content-Length). */
function chunkedPost(url: string, key: string, parts: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'x-api-key': key, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    for (const part of parts) req.write(part);
    req.end();
  });
}

describe.each(backends)('usage monitoring — $name', (backend) => {
  it.skipIf(backend.skip !== null)(`${title(backend)}: counts every call by key, app, route and refusal code; rollups add up; a restart keeps the series`, async () => {
    const up = await startUpstream();
    const storage = await backend.fresh();
    const clock = new ManualClock(Date.parse('2026-11-27T09:58:00Z'));
    const options = {
      clock,
      config: {
        monitoring: { flushSeconds: 0.2 },
        routes: [
          { path: '/demo', upstream: 'builtin:echo' },
          { path: '/api', upstream: up.url },
        ],
      },
    };
    let gw: TestGateway = await startTestGateway(storage, options);
    try {
      const plan = await gw.admin('POST', '/v1/plans', { name: 'metered', rate: 0.0001, burst: 10, quota: { limit: 12, period: 'day' } });
      const { key, id, appId } = await gw.newKey({ planId: plan.body.id });
      const other = await gw.newKey();
      // 09:58: 8 admitted on /demo, 2 upstream errors on /api
      for (let i = 0; i < 8; i++) expect((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await gw.proxy('/api/status/503', { headers: { 'x-api-key': key } })).status).toBe(503);
      // 09:59: 3 throttled (the bucket of 10 is empty), 2 invalid keys, 1 without a key
      clock.advance(60_000);
      for (let i = 0; i < 3; i++) expect((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).body.code).toBe('rate_limited');
      for (let i = 0; i < 2; i++) await gw.proxy('/demo/x', { headers: { 'x-api-key': 'not-a-key-but-long-enough-1' } });
      await gw.proxy('/demo/x');
      // 10:00 (next hour): 4 admitted for the other key
      clock.advance(60_000);
      for (let i = 0; i < 4; i++) await gw.proxy('/demo/y', { headers: { 'x-api-key': other.key } });

      const range = 'from=2026-11-27T09:58:00Z&to=2026-11-27T10:01:00Z&granularity=minute';
      const byKey = await eventually(
        () => gw.admin('GET', `/v1/usage?keyId=${id}&${range}`),
        (r) => r.status === 200 && sum(r.body.items, 'requests') === 13,
      );
      expect(byKey.body.items.map((i: { ts: string }) => i.ts)).toEqual(['2026-11-27T09:58:00.000Z', '2026-11-27T09:59:00.000Z', '2026-11-27T10:00:00.000Z']);
      expect(byKey.body.items[0]).toMatchObject({ requests: 10, admitted: 10, errors: 2, s2xx: 8, s5xx: 2, throttled: 0 });
      expect(byKey.body.items[1]).toMatchObject({ requests: 3, admitted: 0, throttled: 3, errors: 3, s4xx: 3 });
      expect(byKey.body.items[2]).toMatchObject({ requests: 0, p50: null });
      expect(byKey.body.items[0].p50).toEqual(expect.any(Number));
      expect(byKey.body.items[0].p99).toBeGreaterThanOrEqual(byKey.body.items[0].p50);

      const all = await eventually(() => gw.admin('GET', `/v1/usage?${range}`), (r) => sum(r.body.items, 'requests') === 20);
      expect(sum(all.body.items, 'authRefused')).toBe(3);
      const byApp = await gw.admin('GET', `/v1/usage?appId=${appId}&${range}`);
      expect(sum(byApp.body.items, 'requests')).toBe(13);
      const byRoute = await gw.admin('GET', `/v1/usage?route=/api&${range}`);
      expect(sum(byRoute.body.items, 's5xx')).toBe(2);

      // Rollups: hours add up to minutes, days to hours.
      const hours = await gw.admin('GET', '/v1/usage?from=2026-11-27T09:00:00Z&to=2026-11-27T11:00:00Z&granularity=hour');
      expect(hours.body.items.map((i: { requests: number }) => i.requests)).toEqual([16, 4]);
      const days = await gw.admin('GET', '/v1/usage?from=2026-11-27T00:00:00Z&to=2026-11-28T00:00:00Z&granularity=day');
      expect(days.body.items.map((i: { requests: number }) => i.requests)).toEqual([20]);
      expect(days.body.items[0].throttled).toBe(sum(all.body.items, 'throttled'));

      // AWS GetUsage-shaped daily report: used = admitted, remaining of the daily quota.
      const daily = await gw.admin('GET', `/v1/usage/daily?startDate=2026-11-26&endDate=2026-11-27&keyId=${id}`);
      expect(daily.body).toEqual({ startDate: '2026-11-26', endDate: '2026-11-27', items: { [id]: [[0, 12], [10, 2]] } });
      const appDaily = await gw.admin('GET', `/v1/usage/daily?startDate=2026-11-27&endDate=2026-11-27&appId=${other.appId}`);
      expect(appDaily.body.items).toEqual({ [other.id]: [[4, null]] });

      // Prometheus metrics count the same calls.
      const metrics = await gw.admin('GET', '/metrics');
      expect(metrics.text).toMatch(/keygate_requests_total\{route="\/demo",status_class="2xx",code="none"\} 12/);
      expect(metrics.text).toMatch(/keygate_requests_total\{route="\/demo",status_class="4xx",code="rate_limited"\} 3/);
      expect(metrics.text).toMatch(/keygate_requests_total\{route="\/demo",status_class="4xx",code="invalid_api_key"\} 2/);
      expect(metrics.text).toMatch(/keygate_requests_total\{route="\/demo",status_class="4xx",code="missing_api_key"\} 1/);
      expect(metrics.text).toMatch(/keygate_request_duration_seconds_count\{route="\/api"\} 2/);
      expect(metrics.text).toMatch(/keygate_key_cache_hit_ratio 0\.\d+/);
      expect(metrics.text).toMatch(/keygate_usage_events_dropped_total 0/);

      // A graceful restart keeps everything, including what was still in the buffer.
      for (let i = 0; i < 5; i++) await gw.proxy('/demo/z', { headers: { 'x-api-key': other.key } });
      await gw.close();
      gw = await startTestGateway(storage, options);
      const after = await gw.admin('GET', `/v1/usage?${range}`);
      expect(sum(after.body.items, 'requests')).toBe(25);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe.each(backends)('usage reports — $name', (backend) => {
  it.skipIf(backend.skip !== null)(`${title(backend)}: bytes both ways (a chunked upload too), quota refusals, a daily report that follows each plan's quota windows, request logs, retention`, async () => {
    const storage = await backend.fresh();
    const clock = new ManualClock(Date.parse('2026-11-29T12:00:00Z'));
    const options = { clock, config: { monitoring: { flushSeconds: 0.2 }, log: { requests: 1 } } };
    let gw: TestGateway = await startTestGateway(storage, options);
    try {
      const plan = async (name: string, quota: Record<string, unknown>, timezone?: string) =>
        (await gw.admin('POST', '/v1/plans', { name, rate: 1000, burst: 1000, quota, ...(timezone ? { timezone } : {}) })).body.id as string;
      const monthly = await gw.newKey({ planId: await plan('monthly', { limit: 100, period: 'month' }) });
      const daily = await gw.newKey({ planId: await plan('daily', { limit: 2, period: 'day' }) });
      const berlin = await gw.newKey({ planId: await plan('berlin', { limit: 50, period: 'day' }, 'Europe/Berlin') });
      const get = (key: string) => gw.proxy('/demo/x', { headers: { 'x-api-key': key } });

      // 2026-11-29: a GET, a POST with a Content-Length body of 10 bytes, a chunked POST of 3,345 bytes.
      let bytesOut = 0;
      for (const answer of [
        await get(monthly.key),
        await gw.proxy('/demo/x', { method: 'POST', headers: { 'x-api-key': monthly.key }, body: 'x'.repeat(10) }),
        await chunkedPost(`${gw.proxyUrl}/demo/x`, monthly.key, ['a'.repeat(1000), 'b'.repeat(2345)]),
      ]) {
        expect(answer.status).toBe(200);
        bytesOut += Buffer.byteLength(answer.text);
      }
      // 2026-11-30: 4 calls; 2026-12-01: 2 more, and the daily key's third call is over its quota.
      clock.set('2026-11-30T12:00:00Z');
      for (let i = 0; i < 4; i++) expect((await get(monthly.key)).status).toBe(200);
      clock.set('2026-12-01T12:00:00Z');
      for (let i = 0; i < 2; i++) expect((await get(monthly.key)).status).toBe(200);
      expect([(await get(daily.key)).status, (await get(daily.key)).status, (await get(daily.key)).body.code]).toEqual([200, 200, 'quota_exceeded']);
      expect((await get(berlin.key)).status).toBe(200);

      const days = 'from=2026-11-29T00:00:00Z&to=2026-12-02T00:00:00Z&granularity=day';
      // Every call written (9 + 3 + 1), whichever flush took it.
      await eventually(() => gw.admin('GET', `/v1/usage?${days}`), (r) => r.status === 200 && sum(r.body.items, 'requests') === 13);
      const m = await gw.admin('GET', `/v1/usage?keyId=${monthly.id}&${days}`);
      expect(sum(m.body.items, 'requests')).toBe(9);
      expect(m.body.items[0]).toMatchObject({ requests: 3, bytesIn: 3355, bytesOut });
      const d = await gw.admin('GET', `/v1/usage?keyId=${daily.id}&${days}`);
      expect(d.body.items[2]).toMatchObject({ requests: 3, admitted: 2, quotaExceeded: 1, s4xx: 1 });
      expect((await gw.admin('GET', '/metrics')).text).toMatch(/keygate_requests_total\{route="\/demo",status_class="4xx",code="quota_exceeded"\} 1/);

      // remaining: what the quota had left at the end of each day. The month began before
      // startDate (3 calls on the 29th count), and the daily key's window is each UTC day.
      const report = (q: string) => gw.admin('GET', `/v1/usage/daily?startDate=2026-11-30&endDate=2026-12-01&${q}`);
      expect((await report(`keyId=${monthly.id}`)).body.items).toEqual({ [monthly.id]: [[4, 93], [2, 98]] });
      expect((await report(`appId=${daily.appId}`)).body.items).toEqual({ [daily.id]: [[0, 2], [2, 0]] });
      // Berlin's days begin at 23:00 UTC: a UTC day's count cannot say what is left of them.
      expect((await report(`keyId=${berlin.id}`)).body.items).toEqual({ [berlin.id]: [[0, null], [1, null]] });
      const everyone = await report('');
      expect(Object.keys(everyone.body.items).sort()).toEqual([monthly.id, daily.id, berlin.id].sort());

      // Request lines: one per call, with the key's id and never its plaintext.
      const lines = gw.logs.filter((l) => l.includes('"msg":"request"'));
      expect(lines.filter((l) => l.includes(monthly.id))).toHaveLength(9);
      for (const k of [monthly, daily, berlin]) expect(gw.logs.some((l) => l.includes(k.key))).toBe(false);

      // Retention: minute buckets are kept 2 days, hour buckets 90 (the defaults); a gateway
      // prunes when it starts, and hourly.
      await gw.close();
      clock.set('2026-12-04T12:00:00Z');
      gw = await startTestGateway(storage, options);
      const minutes = 'from=2026-11-29T12:00:00Z&to=2026-11-29T12:01:00Z&granularity=minute';
      await eventually(() => gw.admin('GET', `/v1/usage?keyId=${monthly.id}&${minutes}`), (r) => r.body.items[0].requests === 0);
      const hours = await gw.admin('GET', `/v1/usage?keyId=${monthly.id}&from=2026-11-29T12:00:00Z&to=2026-11-29T13:00:00Z&granularity=hour`);
      expect(hours.body.items[0].requests).toBe(3);
    } finally {
      await gw.close();
    }
  });
});

describe('usage API validation', () => {
  it('refuses contradictory filters, bad times and huge ranges', async () => {
    const { sqliteBackend } = await import('../support/backends.js');
    const gw = await startTestGateway(await sqliteBackend.fresh());
    try {
      expect((await gw.admin('GET', '/v1/usage?keyId=key_a&appId=app_b')).status).toBe(400);
      expect((await gw.admin('GET', '/v1/usage?from=yesterday')).body.errors[0].field).toBe('query.from');
      expect((await gw.admin('GET', '/v1/usage?from=2026-11-27T10:00:00Z&to=2026-11-27T09:00:00Z')).status).toBe(400);
      expect((await gw.admin('GET', '/v1/usage?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=minute')).body.detail).toMatch(/at most 10000/);
      expect((await gw.admin('GET', '/v1/usage?granularity=week')).status).toBe(400);
      expect((await gw.admin('GET', '/v1/usage/daily?startDate=2026-11-27')).status).toBe(400);
      expect((await gw.admin('GET', '/v1/usage/daily?startDate=2026-11-27&endDate=2026-11-01')).body.errors[0].field).toBe('endDate');
      expect((await gw.admin('GET', '/v1/usage/daily?startDate=2026-02-30&endDate=2026-03-01')).body.errors[0].field).toBe('startDate');
      expect((await gw.admin('GET', '/v1/usage/daily?startDate=2026-11-01&endDate=2026-11-02&keyId=key_a&appId=app_b')).body.errors[0].field).toBe('appId');
    } finally {
      await gw.close();
    }
  });
});
