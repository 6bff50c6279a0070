import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBackend, title } from '../support/backends.js';
import { call } from '../support/http.js';
import { spawnKeygate, type Running } from '../support/process.js';
import { freePort } from '../support/servers.js';

interface Node {
  proc: Running;
  proxy: string;
  admin: string;
}

/** Polls `probe` until it returns true; resolves with the milliseconds it took. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms * 3) {
    if (await probe()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms * 3} ms`);
}

/**
 * PRODUCT.md §7 on real processes: three gateways sharing one PostgreSQL and one Redis, started
 * together on an empty database.
 */
describe.skipIf(postgresBackend.skip !== null)(`three gateway nodes — ${title(postgresBackend)}`, () => {
  const nodes: Node[] = [];
  let token = '';

  beforeAll(async () => {
    const backend = await postgresBackend.fresh();
    const dir = mkdtempSync(join(tmpdir(), 'kg-cluster-'));
    const starts = [0, 1, 2].map(async (i) => {
      const proxyPort = await freePort();
      const adminPort = await freePort();
      const file = join(dir, `node${i}.yaml`);
      writeFileSync(
        file,
        JSON.stringify({
          proxy: { host: '127.0.0.1', port: proxyPort, trustProxy: true },
          guard: { maxInvalid: 6, windowSeconds: 60, blockSeconds: 300 },
          monitoring: { flushSeconds: 0.5, detectors: { flood: { threshold: 10, windowMinutes: 5 } } },
          admin: { host: '127.0.0.1', port: adminPort },
          storage: backend.storage,
          redis: backend.redis,
          routes: [{ path: '/demo', upstream: 'builtin:echo' }],
        }),
      );
      const proc = spawnKeygate(['start', '--config', file], { cwd: dir, env: { KEYGATE_DATA_DIR: join(dir, `data${i}`) } });
      nodes.push({ proc, proxy: `http://127.0.0.1:${proxyPort}`, admin: `http://127.0.0.1:${adminPort}` });
      await proc.waitFor(/keygate started/, 60_000);
    });
    await Promise.all(starts);
    const printed = nodes.map((n) => n.proc.output().match(/\n {2}(kga_[A-Za-z0-9_-]+)\n/)?.[1]).filter(Boolean);
    expect(printed).toHaveLength(1); // one bootstrap token for the whole cluster
    token = printed[0]!;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.proc.stop()));
  });

  const admin = (node: Node, method: string, path: string, body?: unknown) =>
    call(method, node.admin + path, { headers: { authorization: `Bearer ${token}` }, body });
  const proxy = (node: Node, key: string) => call('GET', `${node.proxy}/demo/x`, { headers: { 'x-api-key': key } });

  it('migrated once and accepts the one bootstrap token on every node', async () => {
    for (const node of nodes) expect((await admin(node, 'GET', '/v1/apps')).status).toBe(200);
  });

  it('a key created on node 1 works on node 3; revoked on node 2 it is refused on nodes 1 and 3 within 1 s', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const app = await admin(n1, 'POST', '/v1/apps', { name: 'cluster' });
    const created = await admin(n1, 'POST', '/v1/keys', { appId: app.body.id });
    const key = created.body.key as string;
    expect((await proxy(n3, key)).status).toBe(200);
    // Warm every node's cache, so only the broadcast can tell them.
    for (const node of nodes) expect((await proxy(node, key)).status).toBe(200);
    expect((await admin(n2, 'POST', `/v1/keys/${created.body.id}/revoke`)).status).toBe(200);
    for (const node of [n1, n3]) {
      const took = await within(1000, async () => (await proxy(node, key)).body.code === 'key_revoked');
      expect(took).toBeLessThan(1000);
    }
  });

  it('disable and enable on one node take effect on the others within 1 s', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const app = await admin(n3, 'POST', '/v1/apps', { name: 'toggle' });
    const created = await admin(n3, 'POST', '/v1/keys', { appId: app.body.id });
    const key = created.body.key as string;
    for (const node of nodes) expect((await proxy(node, key)).status).toBe(200);
    await admin(n1, 'POST', `/v1/keys/${created.body.id}/disable`);
    expect(await within(1000, async () => (await proxy(n2, key)).body.code === 'key_disabled')).toBeLessThan(1000);
    await admin(n2, 'POST', `/v1/keys/${created.body.id}/enable`);
    expect(await within(1000, async () => (await proxy(n3, key)).status === 200)).toBeLessThan(1000);
  });

  it('an admin token revoked on one node is refused by the others within 1 s', async () => {
    const [n1, , n3] = nodes as [Node, Node, Node];
    const made = await admin(n1, 'POST', '/v1/admin-tokens', { name: 'short', scopes: ['read'] });
    const read = (node: Node) => call('GET', `${node.admin}/v1/apps`, { headers: { authorization: `Bearer ${made.body.token}` } });
    expect((await read(n3)).status).toBe(200);
    await admin(n1, 'POST', `/v1/admin-tokens/${made.body.id}/revoke`);
    expect(await within(1000, async () => (await read(n3)).status === 401)).toBeLessThan(1000);
  });

  it('limits stay exact when one key is hammered through all three nodes at once', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const app = await admin(n1, 'POST', '/v1/apps', { name: 'hammer' });
    const throttle = await admin(n2, 'POST', '/v1/plans', { name: 'hammer-throttle', rate: 0.0001, burst: 30 });
    const quota = await admin(n3, 'POST', '/v1/plans', { name: 'hammer-quota', rate: 1000, burst: 1000, quota: { limit: 20, period: 'day' } });
    const k1 = (await admin(n1, 'POST', '/v1/keys', { appId: app.body.id, planId: throttle.body.id })).body.key as string;
    const k2 = (await admin(n1, 'POST', '/v1/keys', { appId: app.body.id, planId: quota.body.id })).body.key as string;
    const hammer = async (key: string, n: number) =>
      (await Promise.all(Array.from({ length: n }, (_, i) => proxy(nodes[i % 3]!, key)))).map((r) => r.status);
    const throttled = await hammer(k1, 150);
    expect(throttled.filter((s) => s === 200)).toHaveLength(30);
    expect(throttled.filter((s) => s === 429)).toHaveLength(120);
    const quotaed = await hammer(k2, 90);
    expect(quotaed.filter((s) => s === 200)).toHaveLength(20);
    expect(quotaed.filter((s) => s === 429)).toHaveLength(70);
  });

  it('a plan change on one node takes effect on the others within 1 s', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const app = await admin(n1, 'POST', '/v1/apps', { name: 'plan-change' });
    const plan = await admin(n1, 'POST', '/v1/plans', { name: 'tight', rate: 0.0001, burst: 1 });
    const key = (await admin(n1, 'POST', '/v1/keys', { appId: app.body.id, planId: plan.body.id })).body.key as string;
    expect((await proxy(n3, key)).status).toBe(200);
    expect((await proxy(n3, key)).status).toBe(429);
    await admin(n2, 'PATCH', `/v1/plans/${plan.body.id}`, { burst: 50 });
    expect(await within(1000, async () => (await proxy(n3, key)).status === 200)).toBeLessThan(1000);
  });

  it('counts invalid keys across nodes: a guesser spread over all three is blocked on all three', async () => {
    const [n1] = nodes as [Node, Node, Node];
    const app = await admin(n1, 'POST', '/v1/apps', { name: 'guess' });
    const key = (await admin(n1, 'POST', '/v1/keys', { appId: app.body.id })).body.key as string;
    const from = (node: Node, k: string, ip: string) => call('GET', `${node.proxy}/demo/x`, { headers: { 'x-api-key': k, 'x-forwarded-for': ip } });
    for (let i = 0; i < 6; i++) expect((await from(nodes[i % 3]!, `guessed-key-value-${i}-xxxxxxxx`, '203.0.113.50')).body.code).toBe('invalid_api_key');
    for (const node of nodes) {
      expect(await within(1000, async () => (await from(node, key, '203.0.113.50')).body.code === 'too_many_invalid_keys')).toBeLessThan(1000);
      expect((await from(node, key, '203.0.113.51')).status).toBe(200);
    }
  });

  it('shows every node\'s traffic in /v1/usage on any node, a few seconds behind', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const app = await admin(n1, 'POST', '/v1/apps', { name: 'usage-cluster' });
    const created = await admin(n1, 'POST', '/v1/keys', { appId: app.body.id });
    const key = created.body.key as string;
    for (let i = 0; i < 9; i++) expect((await proxy(nodes[i % 3]!, key)).status).toBe(200);
    const total = async (node: Node) => {
      const res = await admin(node, 'GET', `/v1/usage?keyId=${created.body.id}`);
      return res.body.items.reduce((a: number, i: { requests: number }) => a + i.requests, 0);
    };
    for (const node of [n1, n2, n3]) expect(await within(5000, async () => (await total(node)) === 9)).toBeLessThan(15_000);
  });

  it('raises an alert once for traffic spread over all nodes, and another node takes over the detectors when the leader stops', async () => {
    const leaderOf = async () => {
      const flags = await Promise.all(
        nodes.map(async (n) => (n.proc.child.exitCode === null ? /^keygate_detector_leader 1$/m.test((await admin(n, 'GET', '/metrics')).text) : false)),
      );
      return flags.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
    };
    expect(await leaderOf()).toHaveLength(1);
    const flood = async (ip: string, through: Node[]) => {
      for (let i = 0; i < 15; i++) await call('GET', `${through[i % through.length]!.proxy}/demo/x`, { headers: { 'x-api-key': `flood-key-${ip}-${i}-xxxxxxxxxx`, 'x-forwarded-for': ip } });
    };
    const alertsFor = async (node: Node, ip: string) => (await admin(node, 'GET', '/v1/alerts?type=invalid_key_flood&limit=1000')).body.items.filter((a: { ip: string }) => a.ip === ip);
    await flood('198.51.100.200', nodes);
    await within(10_000, async () => (await alertsFor(nodes[0]!, '198.51.100.200')).length > 0);
    await new Promise((r) => setTimeout(r, 2000));
    for (const node of nodes) expect(await alertsFor(node, '198.51.100.200')).toHaveLength(1);

    const [leader] = await leaderOf();
    await nodes[leader!]!.proc.stop('SIGTERM');
    const rest = nodes.filter((_, i) => i !== leader);
    await within(15_000, async () => (await leaderOf()).length === 1);
    await flood('198.51.100.201', rest);
    expect(await within(15_000, async () => (await alertsFor(rest[0]!, '198.51.100.201')).length === 1)).toBeGreaterThanOrEqual(0);
  });
});
