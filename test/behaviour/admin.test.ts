import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, title } from '../support/backends.js';
import { call } from '../support/http.js';
import { ROOT_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

type Scope = 'read' | 'write' | 'admin';

describe.each(backends)('admin API — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    let gw: TestGateway;
    const tokens: Record<Scope, string> = { read: '', write: '', admin: '' };
    let appId: string;
    let keyId: string;
    let planId: string;
    let quotaKeyId: string;
    // Routes that consume their target get a fresh one per call.
    const spare: { keys: string[]; tokens: string[] } = { keys: [], tokens: [] };
    const rotatableKeyId = () => spare.keys.pop()!;
    const disposableKeyId = () => spare.keys.pop()!;
    const disposableTokenId = () => spare.tokens.pop()!;

    beforeAll(async () => {
      gw = await startTestGateway(await backend.fresh());
      for (const scope of ['read', 'write', 'admin'] as Scope[]) {
        const res = await gw.admin('POST', '/v1/admin-tokens', { name: `${scope}-token`, scopes: [scope] });
        expect(res.status).toBe(201);
        expect(res.body.token).toMatch(/^kga_/);
        tokens[scope] = res.body.token;
      }
      const k = await gw.newKey();
      appId = k.appId;
      keyId = k.id;
      const plan = await gw.admin('POST', '/v1/plans', { name: 'security', rate: 100, burst: 100, quota: { limit: 100, period: 'day' } });
      planId = plan.body.id;
      quotaKeyId = (await gw.newKey({ planId })).id;
      for (let i = 0; i < 30; i++) spare.keys.push((await gw.admin('POST', '/v1/keys', { appId })).body.id);
      for (let i = 0; i < 12; i++) spare.tokens.push((await gw.admin('POST', '/v1/admin-tokens', { name: `spare-${i}`, scopes: ['read'] })).body.id);
    });
    afterAll(() => gw?.close());

    // Every route, the least scope it needs, and a body that passes validation.
    const routes: Array<[string, () => string, Scope, (() => unknown)?]> = [
      ['GET', () => '/v1/apps', 'read'],
      ['GET', () => `/v1/apps/${appId}`, 'read'],
      ['POST', () => '/v1/apps', 'write', () => ({ name: `sec-${Math.random()}` })],
      ['PATCH', () => `/v1/apps/${appId}`, 'write', () => ({ description: 'd' })],
      ['GET', () => '/v1/keys', 'read'],
      ['GET', () => `/v1/keys/${keyId}`, 'read'],
      ['POST', () => '/v1/keys', 'write', () => ({ appId })],
      ['PATCH', () => `/v1/keys/${keyId}`, 'write', () => ({ name: 'n' })],
      ['POST', () => `/v1/keys/${keyId}/disable`, 'write'],
      ['POST', () => `/v1/keys/${keyId}/enable`, 'write'],
      ['GET', () => '/v1/audit', 'read'],
      ['GET', () => '/metrics', 'read'],
      ['POST', () => '/v1/keys/verify', 'read', () => ({ key: 'some-key-value-for-verify' })],
      ['GET', () => '/v1/plans', 'read'],
      ['GET', () => `/v1/plans/${planId}`, 'read'],
      ['POST', () => '/v1/plans', 'write', () => ({ name: `sec-${Math.random().toString(36).slice(2)}`, rate: 1, burst: 1 })],
      ['PATCH', () => `/v1/plans/${planId}`, 'write', () => ({ burst: 2 })],
      ['GET', () => `/v1/keys/${quotaKeyId}/quota`, 'read'],
      ['POST', () => `/v1/keys/${quotaKeyId}/quota`, 'write', () => ({ reset: true })],
      ['POST', () => `/v1/keys/${rotatableKeyId()}/rotate`, 'write', () => ({ graceSeconds: 0 })],
      ['POST', () => '/v1/keys/import', 'write', () => ({ items: [] })],
      ['POST', () => `/v1/keys/${disposableKeyId()}/revoke`, 'write'],
      ['POST', () => `/v1/admin-tokens/${disposableTokenId()}/revoke`, 'admin'],
      ['GET', () => '/v1/admin-tokens', 'admin'],
      ['POST', () => '/v1/admin-tokens', 'admin', () => ({ name: 'x', scopes: ['read'] })],
    ];

    it.each(routes)('%s %s: 401 without or with a wrong token, 403 below its scope, allowed with it', async (method, path, scope, body) => {
      const url = () => gw.adminUrl + path();
      const payload = body?.();
      const none = await call(method, url(), { body: payload });
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('unauthorized');
      expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
      const wrong = await call(method, url(), { body: payload, headers: { authorization: 'Bearer kga_not_a_real_token_at_all_00000' } });
      expect(wrong.status).toBe(401);
      const basic = await call(method, url(), { body: payload, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expect(basic.status).toBe(401);
      const order: Scope[] = ['read', 'write', 'admin'];
      for (const s of order.slice(0, order.indexOf(scope))) {
        const res = await call(method, url(), { body: payload, headers: { authorization: `Bearer ${tokens[s]}` } });
        expect(res.status, `${s} token`).toBe(403);
        expect(res.body.code).toBe('forbidden');
      }
      for (const s of order.slice(order.indexOf(scope))) {
        const res = await call(method, url(), { body: body?.(), headers: { authorization: `Bearer ${tokens[s]}` } });
        expect(res.status, `${s} token: ${res.text}`).toBeLessThan(300);
      }
    });

    it('revokes an admin token: it stops working at once', async () => {
      const made = await gw.admin('POST', '/v1/admin-tokens', { name: 'short-lived', scopes: ['read'] });
      expect((await gw.admin('GET', '/v1/apps', undefined, made.body.token)).status).toBe(200);
      const revoked = await gw.admin('POST', `/v1/admin-tokens/${made.body.id}/revoke`);
      expect(revoked.body.revokedAt).not.toBeNull();
      expect((await gw.admin('GET', '/v1/apps', undefined, made.body.token)).status).toBe(401);
      const listed = await gw.admin('GET', '/v1/admin-tokens');
      expect(listed.text).not.toContain(made.body.token);
      expect(listed.body.items.find((t: { id: string }) => t.id === made.body.id).hint).toBe(`kga_...${made.body.token.slice(-4)}`);
    });

    it('answers /healthz and /openapi.json without a token', async () => {
      const health = await call('GET', `${gw.adminUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok', storage: 'up' });
      const doc = await call('GET', `${gw.adminUrl}/openapi.json`);
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      for (const path of ['/v1/apps', '/v1/apps/{id}', '/v1/keys', '/v1/keys/{id}', '/v1/keys/{id}/revoke', '/v1/admin-tokens', '/v1/audit']) {
        expect(Object.keys(doc.body.paths)).toContain(path);
      }
      // The document carries the validation schemas themselves.
      const create = doc.body.paths['/v1/keys'].post.requestBody.content['application/json'].schema;
      expect(create.required).toContain('appId');
      expect(create.additionalProperties).toBe(false);
    });

    it('answers 400 invalid_request naming the fields for bad JSON, wrong types and unknown fields', async () => {
      const badJson = await call('POST', `${gw.adminUrl}/v1/apps`, {
        headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' },
        rawBody: '{"name": ',
      });
      expect(badJson.status).toBe(400);
      expect(badJson.body.code).toBe('invalid_request');
      expect(badJson.text).not.toMatch(/at .*\.js/);

      const wrongType = await gw.admin('POST', '/v1/apps', { name: 42 });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.errors).toContainEqual({ field: 'name', message: 'must be string' });

      const unknown = await gw.admin('POST', '/v1/apps', { name: 'x', colour: 'red' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors).toContainEqual({ field: 'colour', message: 'is not a known field' });

      const missing = await gw.admin('POST', '/v1/keys', {});
      expect(missing.body.errors).toContainEqual({ field: 'appId', message: 'is required' });

      const numericString = await gw.admin('POST', '/v1/keys', { appId, expiresAt: 'tomorrow' });
      expect(numericString.status).toBe(400);
      expect(numericString.body.errors[0].field).toBe('expiresAt');

      const badQuery = await gw.admin('GET', '/v1/keys?limit=0&status=sleeping');
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.limit', 'query.status']);

      const badScope = await gw.admin('POST', '/v1/admin-tokens', { name: 'x', scopes: ['root'] });
      expect(badScope.status).toBe(400);

      const notJson = await call('POST', `${gw.adminUrl}/v1/apps`, {
        headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'text/plain' },
        rawBody: 'hello',
      });
      expect(notJson.status).toBe(415);
      expect(notJson.body.code).toBe('unsupported_media_type');
    });

    it('answers 404 not_found for unknown ids and endpoints, 409 for a taken app name', async () => {
      for (const path of ['/v1/apps/app_unknown', '/v1/keys/key_unknown', '/v1/nothing']) {
        const res = await gw.admin('GET', path);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('not_found');
      }
      expect((await gw.admin('POST', '/v1/keys/key_unknown/revoke')).status).toBe(404);
      expect((await gw.admin('POST', '/v1/admin-tokens/tok_unknown/revoke')).status).toBe(404);
      await gw.admin('POST', '/v1/apps', { name: 'taken' });
      const dup = await gw.admin('POST', '/v1/apps', { name: 'taken' });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('conflict');
    });

    it('lists, shows, finds by name and updates apps', async () => {
      const made = await gw.admin('POST', '/v1/apps', { name: 'catalog', description: 'first', metadata: { team: 'a' } });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ name: 'catalog', description: 'first', metadata: { team: 'a' } });
      expect((await gw.admin('GET', `/v1/apps/${made.body.id}`)).body.name).toBe('catalog');
      expect((await gw.admin('GET', '/v1/apps?name=catalog')).body.items.map((a: { id: string }) => a.id)).toEqual([made.body.id]);
      const changed = await gw.admin('PATCH', `/v1/apps/${made.body.id}`, { description: null, name: 'catalogue' });
      expect(changed.body).toMatchObject({ name: 'catalogue', description: null });
      const page = await gw.admin('GET', '/v1/apps?limit=2');
      expect(page.body.items).toHaveLength(2);
      expect(page.body.nextCursor).toEqual(expect.any(String));
    });

    it('audits every change with actor, before and after, never a plaintext', async () => {
      const { id, key } = await gw.newKey({ name: 'audited' });
      const writer = tokens.write;
      await gw.admin('PATCH', `/v1/keys/${id}`, { name: 'renamed' }, writer);
      await gw.admin('POST', `/v1/keys/${id}/revoke`, undefined, writer);
      const audit = await gw.admin('GET', `/v1/audit?target=${id}`);
      expect(audit.status).toBe(200);
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      expect(actions).toEqual(['key.revoke', 'key.update', 'key.create']);
      const [revoke, update, create] = audit.body.items;
      expect(create).toMatchObject({ actor: 'root', target: id, before: null, after: { name: 'audited', status: 'active' } });
      expect(update.before.name).toBe('audited');
      expect(update.after.name).toBe('renamed');
      expect(update.actor).toMatch(/^token:tok_/);
      expect(revoke.after.status).toBe('revoked');
      expect(audit.text).not.toContain(key);
      const byAction = await gw.admin('GET', '/v1/audit?action=admin_token.create&limit=2');
      expect(byAction.body.items.every((e: { action: string }) => e.action === 'admin_token.create')).toBe(true);
    });
  });
});
