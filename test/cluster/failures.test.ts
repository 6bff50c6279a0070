import { afterAll, describe, expect, it } from 'vitest';
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
