import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backends, title, type BackendConfig } from '../support/backends.js';
import { call } from '../support/http.js';
import { ROOT_TOKEN, startTestGateway } from '../support/gateway.js';

/** Everything the database holds, as text: every file of the SQLite data dir, or every PostgreSQL row. */
async function databaseText(storage: BackendConfig): Promise<string> {
  if ('sqlite' in storage.storage) {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    return files(storage.dataDir)
      .map((f) => readFileSync(f).toString('latin1'))
      .join('\n');
  }
  const client = new pg.Client({ connectionString: storage.storage.postgres });
  await client.connect();
  try {
    const tables = await client.query(`select table_name from information_schema.tables where table_schema = 'public'`);
    let text = '';
    for (const { table_name } of tables.rows) text += JSON.stringify((await client.query(`select * from "${table_name}"`)).rows);
    return text;
  } finally {
    await client.end();
  }
}

describe.each(backends)('no key plaintext anywhere — $name', (backend) => {
  it.skipIf(backend.skip !== null)(`${title(backend)}: not in the database, logs, audit, lists or error bodies`, async () => {
    const storage = await backend.fresh();
    const gw = await startTestGateway(storage, {
      config: { log: { level: 'trace' }, routes: [{ path: '/demo', upstream: 'builtin:echo', keySources: ['header', 'bearer', 'query:api_key'] }, { path: '/down', upstream: 'http://127.0.0.1:1' }] },
    });
    const secrets: string[] = [];
    const seen: string[] = [];
    try {
      const app = await gw.admin('POST', '/v1/apps', { name: 'secrets' });
      const created = await gw.admin('POST', '/v1/keys', { appId: app.body.id });
      secrets.push(created.body.key);
      const imported = 'customer-supplied-secret-value-123';
      secrets.push(imported);
      await gw.admin('POST', '/v1/keys', { appId: app.body.id, key: imported });
      const csvKeys = ['csv-imported-secret-value-0001', 'csv-imported-secret-value-0002'];
      secrets.push(...csvKeys);
      const bad = 'broken"quoted-secret-value-9999';
      secrets.push(bad);
      const csv = await call('POST', `${gw.adminUrl}/v1/keys/import?appId=${app.body.id}`, {
        headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'text/csv' },
        rawBody: `name,key\na,${csvKeys[0]}\nb,${csvKeys[1]}\nc,${imported}\nd,${bad}\ne,short\n`,
      });
      seen.push(csv.text);
      const jsonKey = 'json-imported-secret-value-0003';
      secrets.push(jsonKey);
      seen.push((await gw.admin('POST', `/v1/keys/import?appId=${app.body.id}`, { items: [{ key: jsonKey }, { key: jsonKey }] })).text);
      const rotated = await gw.admin('POST', `/v1/keys/${created.body.id}/rotate`, { graceSeconds: 60 });
      secrets.push(rotated.body.key);

      // Use every key every way, and fail in every way.
      for (const key of secrets) {
        seen.push((await gw.proxy('/demo/x', { headers: { 'x-api-key': key } })).text);
        seen.push((await gw.proxy('/demo/x', { headers: { authorization: `Bearer ${key}` } })).text);
        seen.push((await gw.proxy(`/demo/x?api_key=${encodeURIComponent(key)}`)).text);
        seen.push((await gw.proxy('/down/x', { headers: { 'x-api-key': key } })).text);
        seen.push((await gw.admin('POST', '/v1/keys/verify', { key })).text);
        // A successful create answers with the plaintext by design; only its refusals count here.
        const again = await gw.admin('POST', '/v1/keys', { appId: app.body.id, key });
        if (again.status !== 201) seen.push(again.text);
        seen.push((await gw.admin('POST', '/v1/keys', { appId: 'app_nope', key })).text);
      }
      seen.push((await gw.proxy('/demo/x', { headers: { 'x-api-key': secrets[0]!.slice(0, -1) + 'Z' } })).text);
      for (const path of ['/v1/keys?limit=1000', `/v1/keys/${created.body.id}`, '/v1/audit?limit=1000', '/metrics']) seen.push((await gw.admin('GET', path)).text);
    } finally {
      await gw.close();
    }
    const places: Record<string, string> = {
      database: await databaseText(storage),
      logs: gw.logs.join('\n'),
      'API answers': seen.join('\n'),
    };
    expect(gw.logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const middle = secret.slice(6, 22);
      for (const [place, text] of Object.entries(places)) {
        expect(text.includes(secret), `${secret} found in ${place}`).toBe(false);
        expect(text.includes(middle), `part of ${secret} found in ${place}`).toBe(false);
      }
    }
  });
});
