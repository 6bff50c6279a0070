/**
 * A million keys in the store must slow neither start-up nor verification: a gateway on SQLite
 * is started (and its keys verified cold, one store lookup each) with a few hundred keys, then
 * again after a million more keys were added to the same file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { hashKey, keyHint, KeyFormat } from '../src/keys/format.js';
import { freePort } from '../test/support/servers.js';
import { adminPost, BENCH_TOKEN, gatewayBin, startNode } from './lib.js';
import { median } from './stats.js';


export interface StartupResult {
  keys: number;
  /** Keys in the store before the million were added (and verified cold after each start). */
  sample: number;
  /** Time from spawn to "keygate started", ms: few keys / a million more. */
  startSmall: number;
  startLarge: number;
  /** Median latency of a proxied call whose key is not cached yet, ms. */
  coldSmall: number;
  coldLarge: number;
}

export async function startupBench(upstream: string, keys = 1_000_000, sample = 200): Promise<StartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kg-bench-startup-'));
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'keygate.yaml');
  const file = join(dir, 'keygate.db');
  writeFileSync(
    config,
    `proxy: { host: 127.0.0.1, port: ${proxyPort} }\nadmin: { host: 127.0.0.1, port: ${adminPort} }\nstorage: { sqlite: ${file} }\n` +
      `log: { level: info }\nroutes:\n  - { path: /bench, upstream: "${upstream}" }\n`,
  );
  const start = async () => {
    const t0 = performance.now();
    const proc = await startNode(gatewayBin, ['start', '--config', config], { KEYGATE_ADMIN_TOKEN: BENCH_TOKEN, KEYGATE_DATA_DIR: dir }, /keygate started/, 'server', dir);
    return { proc, ms: performance.now() - t0 };
  };
  const cold = async (plain: string[]) => {
    const times: number[] = [];
    for (const key of plain) {
      const t0 = performance.now();
      const res = await request(`http://127.0.0.1:${proxyPort}/bench/items`, { headers: { 'x-api-key': key } });
      await res.body.dump();
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`cold verification answered ${res.statusCode}`);
    }
    return median(times);
  };

  // First start: migrations, an app and `sample` keys through the admin API.
  const { proc } = await start();
  const admin = adminPost(adminPort);
  const app = await admin('/v1/apps', { name: 'startup' });
  const plain: string[] = [];
  for (let i = 0; i < sample; i++) plain.push((await admin('/v1/keys', { appId: app.id! })).key!);
  await proc.stop();

  const small = await start();
  const coldSmall = await cold(plain);
  await small.proc.stop();

  // A million more keys, written straight into the file (as an import would leave them).
  const format = new KeyFormat();
  const db = new Database(file);
  const insert = db.prepare(
    'insert into keys (id, app_id, hash, hint, name, plan_id, enabled, metadata, lineage_id, rotated_from, expires_at, revoked_at, created_at, updated_at) values (?, ?, ?, ?, null, null, 1, null, ?, null, null, null, ?, ?)',
  );
  const now = Date.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const key = format.generate();
      const id = `key_bench${String(i).padStart(8, '0')}`;
      insert.run(id, app.id, hashKey(key), keyHint(key, format), id, now, now);
    }
  });
  for (let i = 0; i < keys; i += 100_000) {
    batch(i, Math.min(keys, i + 100_000));
    process.stderr.write(`\r  startup: ${Math.min(keys, i + 100_000).toLocaleString('en')} keys written`);
  }
  process.stderr.write('\n');
  db.close();

  const large = await start();
  const coldLarge = await cold(plain);
  await large.proc.stop();
  return { keys, sample, startSmall: small.ms, startLarge: large.ms, coldSmall, coldLarge };
}
