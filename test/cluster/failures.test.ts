import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createDatabase, postgresBackend, title } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startPostgres, startRedis, type TestServer } from '../support/servers.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await probe()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

async function withPlan(gw: TestGateway, body: Record<string, unknown>) {
  const plan = await gw.admin('POST', '/v1/plans', { name: `p${Math.random().toString(36).slice(2, 8)}`, ...body });
  expect(plan.status, plan.text).toBe(201);
  return gw.newKey({ planId: plan.body.id });
}
const call = (gw: TestGateway, key: string) => gw.proxy('/demo/x', { headers: { 'x-api-key': key } });

const proxied = async (gw: TestGateway, key: string) => (await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).body;

/** The stated failure policies of the change bus and the database, on real servers that are stopped mid-test. */
describe.skipIf(postgresBackend.skip !== null)(`failure policies — ${title(postgresBackend)}`, () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('Redis down: a change still reaches the other node within about a second (1 s cache TTL); the bus recovers by itself', async () => {
    let redis = await startRedis();
    cleanup.push(() => redis.stop());
    const storage = { postgres: await createDatabase(inject('pgUrl')!) };
    const shared = { storage, redis: { url: redis.url, prefix: 'kgfail:' }, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) };
    const a = await startTestGateway(shared);
    const b = await startTestGateway(shared);
    cleanup.push(() => a.close(), () => b.close());

    const { key, id } = await a.newKey();
    expect((await proxied(b, key)).method).toBe('GET'); // cached on b
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300)); // b notices the lost subscription
    await a.admin('POST', `/v1/keys/${id}/revoke`);
    const took = await within(5000, async () => (await proxied(b, key)).code === 'key_revoked');
    expect(took).toBeLessThan(2500);

    // Redis comes back on the same port: broadcasts flow again without a restart.
    redis = await startRedis(redis.port);
    const second = await a.newKey();
    expect((await proxied(b, second.key)).method).toBe('GET');
    await within(10_000, async () => {
      // Probe until b's subscription is back: a disable must reach b well inside the TTL fallback.
      await a.admin('POST', `/v1/keys/${second.id}/disable`);
      const seen = (await proxied(b, second.key)).code === 'key_disabled';
      await a.admin('POST', `/v1/keys/${second.id}/enable`);
      return seen;
    });
    await within(1000, async () => (await proxied(b, second.key)).method === 'GET');
    await a.admin('POST', `/v1/keys/${second.id}/revoke`);
    expect(await within(1000, async () => (await proxied(b, second.key)).code === 'key_revoked')).toBeLessThan(1000);
  });

  it('does not hand out a fresh quota after Redis loses its data', async () => {
    const storage = await postgresBackend.fresh();
    const gw = await startTestGateway(storage, { clock: new ManualClock(Date.parse('2026-11-27T10:00:00Z')) });
    try {
      const { key, id } = await withPlan(gw, { rate: 1000, burst: 1000, quota: { limit: 6, period: 'day' } });
      for (let i = 0; i < 4; i++) expect((await call(gw, key)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500)); // counts reach the database within a second
      const redis = new Redis(storage.redis!.url);
      const keys = await redis.keys(`${storage.redis!.prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      redis.disconnect();
      expect((await call(gw, key)).status).toBe(200);
      expect((await call(gw, key)).status).toBe(200);
      expect((await call(gw, key)).body.code).toBe('quota_exceeded');
      expect((await gw.admin('GET', `/v1/keys/${id}/quota`)).body.used).toBe(6);
    } finally {
      await gw.close();
    }
  });

  it('Redis down: limits fall back to this node (counting what it admits), hand the counts over when Redis is back', async () => {
    let redis = await startRedis();
    cleanup.push(() => redis.stop());
    const storage = { postgres: await createDatabase(inject('pgUrl')!) };
    const gw = await startTestGateway({ storage, redis: { url: redis.url, prefix: 'kgout:' }, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) });
    cleanup.push(() => gw.close());
    const { key, id } = await withPlan(gw, { rate: 1000, burst: 1000, quota: { limit: 10, period: 'day' } });
    for (let i = 0; i < 3; i++) expect((await proxied(gw, key)).method).toBe('GET');
    await redis.stop();
    for (let i = 0; i < 4; i++) expect((await proxied(gw, key)).method).toBe('GET');
    const metrics = await gw.admin('GET', '/metrics');
    expect(metrics.text).toMatch(/keygate_limiter_redis_up 0/);
    expect(metrics.text).toMatch(/keygate_limiter_fallback_decisions_total [1-9]/);
    // The local budget continues from the last known count: 10 - 3 - 4 = 3 more.
    const local = [];
    for (let i = 0; i < 5; i++) local.push((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).status);
    expect(local).toEqual([200, 200, 200, 429, 429]);
    // Quota administration needs Redis: a clear 503, nothing changed (not a 500, not a local
    // change that Redis's count would overwrite once it is back).
    const reset = await gw.admin('POST', `/v1/keys/${id}/quota`, { reset: true });
    expect(reset.status).toBe(503);
    expect(reset.body.code).toBe('limiter_unavailable');
    expect((await gw.admin('GET', `/v1/keys/${id}/quota`)).body.used).toBe(10);

    redis = await startRedis(redis.port); // empty: it lost everything
    await within(10_000, async () => (await gw.admin('GET', '/metrics')).text.includes('keygate_limiter_redis_up 1'));
    const quota = await gw.admin('GET', `/v1/keys/${id}/quota`);
    expect(quota.body.used).toBe(10);
    expect((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).body.code).toBe('quota_exceeded');
  });

  it('Redis that stalls but keeps its connections: limits fall back, then return to Redis by themselves (regression)', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const storage = { postgres: await createDatabase(inject('pgUrl')!) };
    const gw = await startTestGateway({ storage, redis: { url: redis.url, prefix: 'kgstall:' }, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) });
    cleanup.push(() => gw.close());
    const { key } = await withPlan(gw, { rate: 1000, burst: 1000 });
    expect((await proxied(gw, key)).method).toBe('GET');
    const admin = new Redis(redis.url);
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    expect((await proxied(gw, key)).method).toBe('GET'); // decided locally after the command timed out
    expect((await gw.admin('GET', '/metrics')).text).toMatch(/^keygate_limiter_redis_up 0$/m);
    await within(10_000, async () => /^keygate_limiter_redis_up 1$/m.test((await gw.admin('GET', '/metrics')).text));
    admin.disconnect();
  });

  it('Redis down with failClosed: limited calls are refused with 503', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const storage = { postgres: await createDatabase(inject('pgUrl')!) };
    const gw = await startTestGateway({ storage, redis: { url: redis.url, prefix: 'kgfc:', failClosed: true }, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) });
    cleanup.push(() => gw.close());
    const { key } = await withPlan(gw, { rate: 1000, burst: 1000 });
    expect((await proxied(gw, key)).method).toBe('GET');
    await redis.stop();
    const refused = await gw.proxy('/demo/x', { headers: { 'x-api-key': key } });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('limiter_unavailable');
    expect(refused.headers['retry-after']).toBe('1');
  });

  it('PostgreSQL without Redis: changes are broadcast with LISTEN/NOTIFY', async () => {
    const storage = { postgres: await createDatabase(inject('pgUrl')!) };
    const shared = { storage, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) };
    const a = await startTestGateway(shared);
    const b = await startTestGateway(shared);
    cleanup.push(() => a.close(), () => b.close());
    const { key, id } = await a.newKey();
    expect((await proxied(b, key)).method).toBe('GET');
    await a.admin('POST', `/v1/keys/${id}/revoke`);
    expect(await within(1000, async () => (await proxied(b, key)).code === 'key_revoked')).toBeLessThan(1000);
  });

  // Also a regression test: a connection dropped between the statements of a transaction once
  // crashed the process with an unhandled 'error' event.
  it('database down: cached keys keep working, unknown keys get 503, health says degraded', async () => {
    let pg: TestServer | null = await startPostgres();
    cleanup.push(async () => pg?.stop());
    const gw = await startTestGateway({ storage: { postgres: pg.url }, dataDir: mkdtempSync(join(tmpdir(), 'kg-')) }, { config: { keys: { cacheTtlSeconds: 1 } } });
    cleanup.push(() => gw.close());
    const { key } = await gw.newKey();
    expect((await proxied(gw, key)).method).toBe('GET');
    await pg.stop();
    pg = null;
    await new Promise((r) => setTimeout(r, 1200)); // past the TTL: the entry is stale and the store is gone
    for (let i = 0; i < 5; i++) expect((await proxied(gw, key)).method).toBe('GET');
    const unknown = await gw.proxy('/demo/x', { headers: { 'x-api-key': 'an-unknown-but-well-formed-key-value' } });
    expect(unknown.status).toBe(503);
    expect(unknown.body.code).toBe('store_unavailable');
    expect(unknown.headers['retry-after']).toBe('1');
    const health = await gw.admin('GET', '/healthz', undefined, null);
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'degraded', storage: 'down' });
  });
});
