import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { backends, title } from '../support/backends.js';
import { call } from '../support/http.js';
import { ROOT_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

describe.each(backends)('key lifecycle — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    let gw: TestGateway;
    const clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    let n = 0;

    beforeAll(async () => {
      gw = await startTestGateway(await backend.fresh(), {
        clock,
        config: {
          proxy: { host: '127.0.0.1', port: 0, trustProxy: true },
          guard: { maxInvalid: 5, windowSeconds: 60, blockSeconds: 120 },
          routes: [
            { path: '/demo', upstream: 'builtin:echo' },
            { path: '/gold', upstream: 'builtin:echo', plans: ['vip'] },
          ],
        },
      });
    });
    afterAll(() => gw?.close());

    const use = (key: string, ip = '198.51.100.1', path = '/demo/x') => gw.proxy(path, { headers: { 'x-api-key': key, 'x-forwarded-for': ip } });
    const plan = async (body: Record<string, unknown>) => (await gw.admin('POST', '/v1/plans', { name: `life-${++n}`, ...body })).body as { id: string };
    const importCsv = (csv: string, query = '') =>
      call('POST', `${gw.adminUrl}/v1/keys/import${query}`, { headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'text/csv' }, rawBody: csv });

    describe('rotation', () => {
      it('issues a new key for the same app, plan and metadata; the old one works until the grace ends', async () => {
        const p = await plan({ rate: 1000, burst: 1000 });
        const old = await gw.newKey({ planId: p.id, name: 'billing', metadata: { team: 'a' } });
        const rotated = await gw.admin('POST', `/v1/keys/${old.id}/rotate`, { graceSeconds: 3600 });
        expect(rotated.status).toBe(201);
        expect(rotated.body).toMatchObject({ appId: old.appId, planId: p.id, name: 'billing', metadata: { team: 'a' }, rotatedFrom: old.id, status: 'active' });
        expect(rotated.body.key).toMatch(/^kg_live_/);
        expect(rotated.body.key).not.toBe(old.key);
        expect(rotated.body.previous).toEqual({ id: old.id, expiresAt: new Date(clock.now() + 3_600_000).toISOString() });
        expect((await use(rotated.body.key)).status).toBe(200);
        expect((await use(old.key)).status).toBe(200);
        expect((await gw.admin('GET', `/v1/keys/${old.id}`)).body).toMatchObject({ replacedBy: rotated.body.id, status: 'active' });
        clock.advance(3_600_000);
        const expired = await use(old.key);
        expect(expired.status).toBe(401);
        expect(expired.body.code).toBe('key_expired');
        expect((await use(rotated.body.key)).status).toBe(200);
        const audit = await gw.admin('GET', `/v1/audit?target=${old.id}&action=key.rotate`);
        expect(audit.body.items[0].after).toMatchObject({ successor: rotated.body.id });
        expect(audit.text).not.toContain(rotated.body.key);
      });

      it('ends the old key at once with grace 0, and refuses to rotate twice or a revoked key', async () => {
        const old = await gw.newKey();
        const rotated = await gw.admin('POST', `/v1/keys/${old.id}/rotate`, { graceSeconds: 0 });
        expect((await use(old.key)).body.code).toBe('key_expired');
        expect((await use(rotated.body.key)).status).toBe(200);
        expect((await gw.admin('POST', `/v1/keys/${old.id}/rotate`, { graceSeconds: 0 })).status).toBe(409);
        const revoked = await gw.newKey();
        await gw.admin('POST', `/v1/keys/${revoked.id}/revoke`);
        expect((await gw.admin('POST', `/v1/keys/${revoked.id}/rotate`, { graceSeconds: 0 })).status).toBe(409);
        expect((await gw.admin('POST', `/v1/keys/${old.id}/rotate`, { graceSeconds: -1 })).status).toBe(400);
        expect((await gw.admin('POST', '/v1/keys/key_unknown/rotate', { graceSeconds: 0 })).status).toBe(404);
      });

      it('carries quota usage and the throttle over to the new key: rotation is no way around a limit', async () => {
        const p = await plan({ rate: 0.0001, burst: 5, quota: { limit: 4, period: 'day' } });
        const old = await gw.newKey({ planId: p.id });
        for (let i = 0; i < 3; i++) expect((await use(old.key)).status).toBe(200);
        const rotated = await gw.admin('POST', `/v1/keys/${old.id}/rotate`, { graceSeconds: 600 });
        expect((await gw.admin('GET', `/v1/keys/${rotated.body.id}/quota`)).body.used).toBe(3);
        expect((await use(rotated.body.key)).status).toBe(200);
        expect((await use(old.key)).body.code).toBe('quota_exceeded');
        expect((await use(rotated.body.key)).body.code).toBe('quota_exceeded');
      });
    });

    describe('import', () => {
      it('imports the AWS CSV format: headers in any case, unknown columns ignored, app and plan by name, each bad line reported', async () => {
        const app = await gw.admin('POST', '/v1/apps', { name: 'importer-csv' });
        const p = await gw.admin('POST', '/v1/plans', { name: 'imported-plan', rate: 1000, burst: 1000 });
        const good = ['aws-imported-key-0000000001', 'aws-imported-key-0000000002', 'aws-imported-key-0000000003'];
        const existing = await gw.admin('POST', '/v1/keys', { appId: app.body.id, key: 'aws-imported-key-existing-0' });
        expect(existing.status).toBe(201);
        const csv = [
          'Name,Key,Description,Enabled,UsageplanIds,Extra',
          `first,${good[0]},the first,TRUE,imported-plan,ignored`,
          `second,${good[1]},,false,,`,
          `third,${good[2]},"quoted, with comma",true,${p.body.id},`,
          'short,too-short,,true,,',
          'dup,aws-imported-key-existing-0,,true,,',
          `again,${good[0]},,true,,`,
          'noplan,aws-imported-key-0000000009,,true,no-such-plan,',
          'badflag,aws-imported-key-0000000010,,maybe,,',
          'ourprefix,kg_live_notAValidGeneratedKeyAtAll0000000,,true,,',
        ].join('\n');
        const res = await importCsv(csv, `?appId=${app.body.id}`);
        expect(res.status, res.text).toBe(200);
        expect(res.body.imported).toBe(3);
        expect(res.body.failed.map((f: { line: number; code: string }) => [f.line, f.code])).toEqual([
          [5, 'invalid_key'],
          [6, 'conflict'],
          [7, 'conflict'],
          [8, 'unknown_plan'],
          [9, 'invalid_field'],
          [10, 'invalid_key'],
        ]);
        for (const f of res.body.failed) expect(f.detail).not.toMatch(/aws-imported|too-short|notAValid/);
        expect((await use(good[0]!)).status).toBe(200);
        expect((await use(good[1]!)).body.code).toBe('key_disabled');
        expect((await use(good[2]!)).status).toBe(200);
        const listed = await gw.admin('GET', `/v1/keys?appId=${app.body.id}&limit=100`);
        const third = listed.body.items.find((k: { name: string }) => k.name === 'third');
        expect(third).toMatchObject({ description: 'quoted, with comma', planId: p.body.id, hint: '...0003' });
        expect(listed.text).not.toContain(good[2]);
      });

      it('reports rows whose plan is deleted during the import as unknown_plan, and writes none of them', async () => {
        const app = await gw.admin('POST', '/v1/apps', { name: 'importer-plan-gone' });
        const p = await gw.admin('POST', '/v1/plans', { name: 'plan-deleted-mid-import', rate: 1000, burst: 1000 });
        // Another admin deletes the plan right after the import looked it up (the real store,
        // its lookup wrapped to make that interleaving happen every time).
        const plans = gw.stores.plans;
        const get = plans.get;
        plans.get = async (id) => {
          const found = await get.call(plans, id);
          if (found?.id === p.body.id) expect(await plans.delete(p.body.id)).toBe(true);
          return found;
        };
        let res;
        try {
          res = await importCsv(['key,planId', `plan-gone-imported-key-001,${p.body.id}`, 'plan-gone-imported-key-002,', `plan-gone-imported-key-003,${p.body.id}`].join('\n'), `?appId=${app.body.id}`);
        } finally {
          plans.get = get;
        }
        expect(res.status, res.text).toBe(200);
        expect(res.body.imported).toBe(1);
        expect(res.body.failed.map((f: { line: number; code: string }) => [f.line, f.code])).toEqual([
          [2, 'unknown_plan'],
          [4, 'unknown_plan'],
        ]);
        const listed = await gw.admin('GET', `/v1/keys?appId=${app.body.id}&limit=100`);
        expect(listed.body.items.map((k: { planId: string | null }) => k.planId)).toEqual([null]);
        expect((await use('plan-gone-imported-key-002')).status).toBe(200);
        expect((await use('plan-gone-imported-key-001')).body.code).toBe('invalid_api_key');
      });

      it('takes the app from an app column (id or name) and needs one', async () => {
        await gw.admin('POST', '/v1/apps', { name: 'column-app' });
        const res = await importCsv(['key,app', 'app-column-imported-key-001,column-app', 'app-column-imported-key-002,app_unknown', 'app-column-imported-key-003,'].join('\n'));
        expect(res.body.imported).toBe(1);
        expect(res.body.failed.map((f: { code: string }) => f.code)).toEqual(['unknown_app', 'missing_app']);
        expect((await importCsv('name,description\nx,y\n')).status).toBe(400);
      });

      it('imports JSON items the same way', async () => {
        const app = await gw.admin('POST', '/v1/apps', { name: 'importer-json' });
        const res = await gw.admin('POST', `/v1/keys/import?appId=${app.body.id}`, {
          items: [
            { key: 'json-imported-key-00000001', name: 'a', metadata: { tier: 'x' }, expiresAt: new Date(clock.now() + 86_400_000).toISOString() },
            { key: 'short' },
            { key: 'json-imported-key-00000002', enabled: false },
          ],
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ imported: 2, failed: [{ line: 2, code: 'invalid_key', detail: 'key: must be at least 20 characters' }] });
        const ok = await use('json-imported-key-00000001');
        expect(ok.status).toBe(200);
        expect((await use('json-imported-key-00000002')).body.code).toBe('key_disabled');
        const audit = await gw.admin('GET', '/v1/audit?action=key.import&limit=100');
        expect(audit.body.items.length).toBeGreaterThanOrEqual(2);
        expect(audit.text).not.toContain('json-imported-key-00000001');
      });

      it('imports thousands of keys in one go', async () => {
        const app = await gw.admin('POST', '/v1/apps', { name: 'bulk' });
        const count = 5000;
        const lines = ['name,key'];
        for (let i = 0; i < count; i++) lines.push(`k${i},bulk-imported-key-${String(i).padStart(10, '0')}`);
        const res = await importCsv(lines.join('\n'), `?appId=${app.body.id}`);
        expect(res.body).toEqual({ imported: count, failed: [] });
        expect((await use(`bulk-imported-key-${String(4321).padStart(10, '0')}`)).status).toBe(200);
      });
    });

    describe('verification as a service', () => {
      it('answers like the proxy, counting toward the limits', async () => {
        const p = await gw.admin('POST', '/v1/plans', { name: 'vip', rate: 0.0001, burst: 2, quota: { limit: 10, period: 'day' } });
        const { key, id, appId } = await gw.newKey({ planId: p.body.id });
        const first = await gw.admin('POST', '/v1/keys/verify', { key, route: '/gold/orders', method: 'POST' });
        expect(first.status).toBe(200);
        expect(first.body).toEqual({
          valid: true,
          code: 'valid',
          keyId: id,
          appId,
          planId: p.body.id,
          ratelimit: { limit: 2, remaining: 1, reset: expect.any(Number) },
          quota: { limit: 10, remaining: 9, reset: expect.any(Number) },
        });
        expect((await use(key, '198.51.100.1', '/gold/x')).status).toBe(200); // the proxy shares the bucket
        const limited = await gw.admin('POST', '/v1/keys/verify', { key });
        expect(limited.body).toMatchObject({ valid: false, code: 'rate_limited', keyId: id });
        const other = await gw.newKey();
        expect((await gw.admin('POST', '/v1/keys/verify', { key: other.key, route: '/gold/x' })).body).toMatchObject({ valid: false, code: 'route_not_allowed' });
        expect((await gw.admin('POST', '/v1/keys/verify', { key: 'no-such-key-but-long-enough' })).body).toMatchObject({ valid: false, code: 'invalid_api_key', keyId: null });
        expect((await gw.admin('POST', '/v1/keys/verify', { key: '' })).body.code).toBe('missing_api_key');
        await gw.admin('POST', `/v1/keys/${other.id}/revoke`);
        expect((await gw.admin('POST', '/v1/keys/verify', { key: other.key })).body).toMatchObject({ valid: false, code: 'key_revoked', keyId: other.id });
        expect((await gw.admin('POST', '/v1/keys/verify', { kye: 'typo' })).status).toBe(400);
        // A route nothing serves is not a pass (regression: it skipped the route's plan check).
        const fresh = await gw.newKey();
        expect((await gw.admin('POST', '/v1/keys/verify', { key: fresh.key, route: '/nowhere' })).body).toMatchObject({ valid: false, code: 'route_not_found' });
      });
    });

    describe('guessing protection', () => {
      it('blocks an address after too many invalid keys; other addresses are unaffected; the block ends', async () => {
        const { key } = await gw.newKey();
        const guesser = '203.0.113.77';
        for (let i = 0; i < 5; i++) expect((await use(`guess-${i}-xxxxxxxxxxxxxxxxxxxx`, guesser)).body.code).toBe('invalid_api_key');
        const blocked = await use(key, guesser);
        expect(blocked.status).toBe(429);
        expect(blocked.body.code).toBe('too_many_invalid_keys');
        expect(blocked.headers['retry-after']).toBe('120');
        expect((await use(key, '203.0.113.78')).status).toBe(200);
        expect((await gw.admin('POST', '/v1/keys/verify', { key, ip: guesser })).body.code).toBe('too_many_invalid_keys');
        clock.advance(121_000);
        expect((await use(key, guesser)).status).toBe(200);
      });

      it('counts malformed and duplicated keys too, but not missing or revoked ones', async () => {
        const { key, id } = await gw.newKey();
        await gw.admin('POST', `/v1/keys/${id}/revoke`);
        const ip = '203.0.113.90';
        for (let i = 0; i < 10; i++) await gw.proxy('/demo/x', { headers: { 'x-forwarded-for': ip } });
        for (let i = 0; i < 10; i++) await use(key, ip);
        expect((await use(key, ip)).body.code).toBe('key_revoked');
        for (let i = 0; i < 4; i++) await use('x', ip);
        await gw.proxy('/demo/x', { headers: { 'x-forwarded-for': ip, 'x-api-key': [key, key] } });
        expect((await use(key, ip)).body.code).toBe('too_many_invalid_keys');
      });
    });
  });
});
