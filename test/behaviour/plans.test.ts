import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import pg from 'pg';
import { PlanMissing } from '../../src/store/interface.js';
import { backends, title, type BackendConfig } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Parses `"throttle";r=3;t=1, "quota";r=5;t=100` into {throttle: {r: 3, t: 1}, quota: {...}}. */
function rateLimit(header: unknown): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of String(header).split(/,\s*/)) {
    const [name, ...params] = item.split(';');
    out[name!.replace(/"/g, '')] = Object.fromEntries(params.map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)]));
  }
  return out;
}

describe.each(backends)('usage plans — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    let gw: TestGateway;
    let storage: BackendConfig['storage'];
    const clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    let planCount = 0;

    beforeAll(async () => {
      const fresh = await backend.fresh();
      storage = fresh.storage;
      gw = await startTestGateway(fresh, {
        clock,
        config: {
          routes: [
            { path: '/demo', upstream: 'builtin:echo' },
            { path: '/gold', upstream: 'builtin:echo', plans: ['gold'] },
            { path: '/search', upstream: 'builtin:echo' },
          ],
        },
      });
    });
    afterAll(() => gw?.close());

    async function plan(body: Record<string, unknown>) {
      const res = await gw.admin('POST', '/v1/plans', { name: `plan-${++planCount}`, ...body });
      expect(res.status, res.text).toBe(201);
      return res.body as { id: string; name: string };
    }
    const call = (key: string, path = '/demo/x', method = 'GET') => gw.proxy(path, { method, headers: { 'x-api-key': key } });

    it('admits exactly the burst of 200 concurrent calls on rate 1, burst 50', async () => {
      const p = await plan({ rate: 1, burst: 50 });
      const { key } = await gw.newKey({ planId: p.id });
      const results = await Promise.all(Array.from({ length: 200 }, () => call(key)));
      const ok = results.filter((r) => r.status === 200);
      const limited = results.filter((r) => r.status === 429);
      expect(ok).toHaveLength(50);
      expect(limited).toHaveLength(150);
      expect(limited[0]!.body.code).toBe('rate_limited');
      expect(limited[0]!.headers['retry-after']).toBe('1');
      clock.advance(1000);
      expect((await call(key)).status).toBe(200);
      expect((await call(key)).status).toBe(429);
    });

    it('admits exactly 7 of 12 on a quota of 7 per day, then resets at midnight UTC', async () => {
      const p = await plan({ rate: 1000, burst: 1000, quota: { limit: 7, period: 'day' } });
      const { key, id } = await gw.newKey({ planId: p.id });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call(key)).status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      const refused = await call(key);
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('quota_exceeded');
      const toMidnight = (Date.parse('2026-11-28T00:00:00Z') - clock.now()) / 1000;
      expect(Number(refused.headers['retry-after'])).toBe(Math.ceil(toMidnight));
      expect(rateLimit(refused.headers.ratelimit).quota).toEqual({ r: 0, t: Math.ceil(toMidnight) });
      const quota = await gw.admin('GET', `/v1/keys/${id}/quota`);
      expect(quota.body).toMatchObject({ limit: 7, used: 7, remaining: 0, windowStart: '2026-11-27T00:00:00.000Z', windowEnd: '2026-11-28T00:00:00.000Z' });
      const saved = clock.now();
      clock.set('2026-11-28T00:00:00Z');
      expect((await call(key)).status).toBe(200);
      clock.set(saved);
    });

    it('sends IETF RateLimit and RateLimit-Policy headers on admitted and refused calls', async () => {
      const p = await plan({ rate: 2, burst: 3, quota: { limit: 100, period: 'week' } });
      const { key } = await gw.newKey({ planId: p.id });
      const first = await call(key);
      expect(first.headers['ratelimit-policy']).toBe('"throttle";q=3;w=2, "quota";q=100;w=604800');
      expect(rateLimit(first.headers.ratelimit)).toEqual({ throttle: { r: 2, t: 1 }, quota: { r: 99, t: expect.any(Number) } });
      await call(key);
      await call(key);
      const refused = await call(key);
      expect(refused.status).toBe(429);
      expect(refused.headers['ratelimit-policy']).toBeDefined();
      expect(rateLimit(refused.headers.ratelimit).throttle!.r).toBe(0);
      expect(rateLimit(refused.headers.ratelimit).quota!.r).toBe(97);
    });

    it('never uses quota for a throttled call, nor a token for a quota-refused one', async () => {
      const p = await plan({ rate: 0.001, burst: 2, quota: { limit: 5, period: 'day' } });
      const { key, id } = await gw.newKey({ planId: p.id });
      for (let i = 0; i < 6; i++) await call(key);
      expect((await gw.admin('GET', `/v1/keys/${id}/quota`)).body.used).toBe(2);
      const q = await plan({ rate: 1000, burst: 3, quota: { limit: 1, period: 'day' } });
      const other = await gw.newKey({ planId: q.id });
      expect((await call(other.key)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await call(other.key)).body.code).toBe('quota_exceeded');
      // The refused calls took no tokens: the bucket still holds burst - 1.
      const again = await call(other.key);
      expect(rateLimit(again.headers.ratelimit).throttle!.r).toBe(2);
    });

    it('allows a route only to the plans it lists', async () => {
      const gold = await gw.admin('POST', '/v1/plans', { name: 'gold', rate: 100, burst: 100 });
      const free = await plan({ rate: 100, burst: 100 });
      const goldKey = await gw.newKey({ planId: gold.body.id });
      const freeKey = await gw.newKey({ planId: free.id });
      const noPlan = await gw.newKey();
      expect((await call(goldKey.key, '/gold/x')).status).toBe(200);
      const refused = await call(freeKey.key, '/gold/x');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('route_not_allowed');
      expect((await call(noPlan.key, '/gold/x')).body.code).toBe('route_not_allowed');
      expect((await call(freeKey.key, '/demo/x')).status).toBe(200);
    });

    it('overrides the throttle per route and method', async () => {
      const p = await plan({ rate: 0.001, burst: 5, overrides: [{ route: '/search', method: 'get', rate: 0.001, burst: 2 }] });
      const { key } = await gw.newKey({ planId: p.id });
      const search = [await call(key, '/search/a'), await call(key, '/search/b'), await call(key, '/search/c')].map((r) => r.status);
      expect(search).toEqual([200, 200, 429]);
      const other = [];
      for (let i = 0; i < 6; i++) other.push((await call(key, '/demo/a')).status);
      expect(other.filter((s) => s === 200)).toHaveLength(5);
      // POST /search is not overridden: it draws on the plan's own (now empty) bucket.
      expect((await call(key, '/search/d', 'POST')).status).toBe(429);
    });

    it('shares one bucket among all methods when an override names no method (regression: one bucket each)', async () => {
      const p = await plan({ rate: 1000, burst: 1000, overrides: [{ route: '/search', rate: 0.001, burst: 2 }] });
      const { key } = await gw.newKey({ planId: p.id });
      const statuses = [];
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) statuses.push((await call(key, '/search/x', method)).status);
      expect(statuses).toEqual([200, 200, 429, 429, 429]);
    });

    it('applies a plan change at once', async () => {
      const p = await plan({ rate: 0.001, burst: 1 });
      const { key } = await gw.newKey({ planId: p.id });
      expect((await call(key)).status).toBe(200);
      expect((await call(key)).status).toBe(429);
      const changed = await gw.admin('PATCH', `/v1/plans/${p.id}`, { burst: 3 });
      expect(changed.body.burst).toBe(3);
      expect((await call(key)).status).toBe(200);
      // Moving the key to another plan takes effect at once too.
      const q = await plan({ rate: 0.001, burst: 1, quota: { limit: 1, period: 'month' } });
      const { id } = await gw.newKey({ planId: p.id });
      await gw.admin('PATCH', `/v1/keys/${id}`, { planId: q.id });
      expect((await gw.admin('GET', `/v1/keys/${id}/quota`)).body.limit).toBe(1);
    });

    it('resets a quota or adds to it, audited', async () => {
      const p = await plan({ rate: 1000, burst: 1000, quota: { limit: 3, period: 'month', offset: '14d' } });
      const { key, id } = await gw.newKey({ planId: p.id });
      for (let i = 0; i < 3; i++) await call(key);
      expect((await call(key)).body.code).toBe('quota_exceeded');
      const granted = await gw.admin('POST', `/v1/keys/${id}/quota`, { add: -2 });
      expect(granted.body).toMatchObject({ used: 1, remaining: 2, windowStart: '2026-11-15T00:00:00.000Z', windowEnd: '2026-12-15T00:00:00.000Z' });
      expect((await call(key)).status).toBe(200);
      expect((await call(key)).status).toBe(200);
      expect((await call(key)).status).toBe(429);
      const reset = await gw.admin('POST', `/v1/keys/${id}/quota`, { reset: true });
      expect(reset.body).toMatchObject({ used: 0, remaining: 3 });
      expect((await call(key)).status).toBe(200);
      const audit = await gw.admin('GET', `/v1/audit?target=${id}&action=key.quota`);
      expect(audit.body.items).toHaveLength(2);
      expect(audit.body.items[0]).toMatchObject({ before: { used: 3 }, after: { used: 0 } });
      expect((await gw.admin('POST', `/v1/keys/${id}/quota`, { add: 1, reset: true })).status).toBe(400);
      const noQuota = await gw.newKey();
      expect((await gw.admin('GET', `/v1/keys/${noQuota.id}/quota`)).status).toBe(404);
    });

    it('validates plans: rates, bursts, periods, offsets, time zones, override routes', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ rate: 0, burst: 1 }, 'rate'],
        [{ rate: -1, burst: 1 }, 'rate'],
        [{ rate: 1, burst: 0 }, 'burst'],
        [{ rate: 1, burst: 1.5 }, 'burst'],
        [{ rate: '1', burst: 1 }, 'rate'],
        [{ rate: 1, burst: 1, quota: { limit: 5, period: 'year' } }, 'quota.period'],
        [{ rate: 1, burst: 1, quota: { limit: 0, period: 'day' } }, 'quota.limit'],
        [{ rate: 1, burst: 1, quota: { limit: 5, period: 'day', offset: '25h' } }, 'quota.offset'],
        [{ rate: 1, burst: 1, quota: { limit: 5, period: 'day', offset: 'soon' } }, 'quota.offset'],
        [{ rate: 1, burst: 1, timezone: 'Mars/Olympus' }, 'timezone'],
        [{ rate: 1, burst: 1, overrides: [{ route: '/nope', rate: 1, burst: 1 }] }, 'overrides[0].route'],
        [{ rate: 1, burst: 1, colour: 'red' }, 'colour'],
        [{ rate: 0.00001, burst: 1 }, 'rate'],
        [{ rate: 0.0001, burst: 1_000_000 }, 'burst'],
      ];
      for (const [body, field] of cases) {
        const res = await gw.admin('POST', '/v1/plans', { name: `bad-${++planCount}`, ...body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe('invalid_request');
        expect(res.body.errors.map((e: { field: string }) => e.field), JSON.stringify(body)).toContain(field);
      }
      const dup = await gw.admin('POST', '/v1/plans', { name: 'gold', rate: 1, burst: 1 });
      expect(dup.status).toBe(409);
      const unknownPlan = await gw.admin('POST', '/v1/keys', { appId: (await gw.newKey()).appId, planId: 'plan_nope' });
      expect(unknownPlan.status).toBe(400);
      expect(unknownPlan.body.errors[0].field).toBe('planId');
    });

    it('validates plan changes: bad values, a name taken, renaming a plan keygate.yaml names, an unknown plan', async () => {
      const p = await plan({ rate: 1, burst: 1 });
      const other = await plan({ rate: 1, burst: 1 });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ rate: 0 }, 'rate'],
        [{ burst: 0 }, 'burst'],
        [{ quota: { limit: 5, period: 'year' } }, 'quota.period'],
        [{ quota: { limit: 5, period: 'day', offset: '25h' } }, 'quota.offset'],
        [{ timezone: 'Mars/Olympus' }, 'timezone'],
        [{ overrides: [{ route: '/nope', rate: 1, burst: 1 }] }, 'overrides[0].route'],
        [{ colour: 'red' }, 'colour'],
      ];
      for (const [body, field] of cases) {
        const res = await gw.admin('PATCH', `/v1/plans/${p.id}`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.errors.map((e: { field: string }) => e.field), JSON.stringify(body)).toContain(field);
      }
      expect((await gw.admin('PATCH', `/v1/plans/${p.id}`, { name: other.name })).status).toBe(409);
      // The /gold route lists the plan "gold" by name: renamed, its keys would lose the route.
      const plans = (await gw.admin('GET', '/v1/plans?limit=1000')).body.items as Array<{ id: string; name: string }>;
      const gold = plans.find((x) => x.name === 'gold') ?? (await gw.admin('POST', '/v1/plans', { name: 'gold', rate: 1, burst: 1 })).body;
      const renamed = await gw.admin('PATCH', `/v1/plans/${gold.id}`, { name: 'platinum' });
      expect(renamed.status).toBe(409);
      expect(renamed.body.detail).toMatch(/route \/gold/);
      expect((await gw.admin('PATCH', `/v1/plans/${gold.id}`, { name: 'gold', rate: 3 })).status).toBe(200);
      expect((await gw.admin('PATCH', '/v1/plans/plan_nope', { rate: 2 })).status).toBe(404);
      // Nothing was changed by the refused calls.
      expect((await gw.admin('GET', `/v1/plans/${p.id}`)).body).toMatchObject({ name: p.name, rate: 1, burst: 1, quota: null });
    });

    it('lists, shows and deletes plans; a plan still assigned to keys cannot be deleted', async () => {
      const p = await plan({ rate: 5, burst: 10, timezone: 'Europe/Berlin', quota: { limit: 10, period: 'day', offset: '6h' } });
      expect((await gw.admin('GET', `/v1/plans/${p.id}`)).body).toMatchObject({ rate: 5, burst: 10, timezone: 'Europe/Berlin', quota: { limit: 10, period: 'day', offset: '6h' } });
      expect((await gw.admin('GET', '/v1/plans?limit=1000')).body.items.map((x: { id: string }) => x.id)).toContain(p.id);
      const { id } = await gw.newKey({ planId: p.id });
      const refused = await gw.admin('DELETE', `/v1/plans/${p.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toMatch(/assigned to 1 key/);
      await gw.admin('POST', `/v1/keys/${id}/revoke`);
      expect((await gw.admin('DELETE', `/v1/plans/${p.id}`)).status).toBe(204);
      expect((await gw.admin('GET', `/v1/plans/${p.id}`)).status).toBe(404);
      const audit = await gw.admin('GET', `/v1/audit?target=${p.id}`);
      expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['plan.delete', 'plan.create']);
    });

    it('never leaves a key naming a deleted plan: a plan deleted between the check and the write fails the write', async () => {
      const p = await plan({ rate: 5, burst: 10 });
      const { id } = await gw.newKey();
      const existing = (await gw.stores.keys.get(id))!;
      // The admin API checked the plan, then another admin deleted it, then the write came.
      expect(await gw.stores.plans.delete(p.id)).toBe(true);
      await expect(gw.stores.keys.update(id, { planId: p.id }, clock.now())).rejects.toBeInstanceOf(PlanMissing);
      expect((await gw.stores.keys.get(id))!.planId).toBeNull();
      const other = { ...existing, id: 'key_plangone', hash: 'f'.repeat(64), planId: p.id };
      await expect(gw.stores.keys.insert(other)).rejects.toBeInstanceOf(PlanMissing);
      await expect(gw.stores.keys.insertMany([{ ...other, planId: null }, other])).rejects.toBeInstanceOf(PlanMissing);
      expect(await gw.stores.keys.get(other.id)).toBeNull();
      // Through the API it is the answer for a plan that never was.
      const res = await gw.admin('PATCH', `/v1/keys/${id}`, { planId: p.id });
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/no plan with id/);
    });

    it('a key created while its plan is deleted: one of the two wins, never both', async () => {
      const { appId } = await gw.newKey();
      const outcomes = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const p = await plan({ rate: 5, burst: 10 });
        const [key, del] = await Promise.all([gw.admin('POST', '/v1/keys', { appId, planId: p.id }), gw.admin('DELETE', `/v1/plans/${p.id}`)]);
        outcomes.add(`${key.status}/${del.status}`);
        expect([key.status, del.status].sort()).not.toEqual([201, 204]);
        if (key.status === 201) expect((await gw.admin('GET', `/v1/plans/${p.id}`)).status).toBe(200);
        else expect(key.status, key.text).toBe(400);
      }
      expect([...outcomes].every((o) => o === '201/409' || o === '400/204')).toBe(true);
    });

    it.skipIf(backend.name !== 'postgres+redis')('PostgreSQL: a delete waits for a key write holding the plan, then finds the key', async () => {
      const p = await plan({ rate: 5, burst: 10 });
      const { id } = await gw.newKey();
      const url = (storage as { postgres: string }).postgres;
      const writer = new pg.Client({ connectionString: url });
      await writer.connect();
      try {
        // A key write under way: it holds the plan (as SqlKeyStore does) and has not committed.
        await writer.query('begin');
        await writer.query('select id from plans where id = $1 for share', [p.id]);
        await writer.query('update keys set plan_id = $1 where id = $2', [p.id, id]);
        let settled = false;
        const deleting = gw.stores.plans.delete(p.id).finally(() => (settled = true));
        await new Promise((r) => setTimeout(r, 300));
        expect(settled).toBe(false); // waiting for the writer's lock
        await writer.query('commit');
        expect(await deleting).toBe(false);
        expect(await gw.stores.plans.get(p.id)).not.toBeNull();
      } finally {
        await writer.end();
      }
    });
  });
});

describe.each(backends)('default plan — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    it('limits keys without a plan by the configured defaultPlan', async () => {
      const clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
      const gw = await startTestGateway(await backend.fresh(), { clock, config: { defaultPlan: 'basic' } });
      try {
        const { key } = await gw.newKey();
        expect((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).headers.ratelimit).toBeUndefined();
        const basic = await gw.admin('POST', '/v1/plans', { name: 'basic', rate: 0.001, burst: 2 });
        expect(basic.status).toBe(201);
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).status);
        expect(statuses).toEqual([200, 200, 429]);
        expect((await gw.admin('DELETE', `/v1/plans/${basic.body.id}`)).status).toBe(409);
      } finally {
        await gw.close();
      }
    });
  });
});
