import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteBackend } from '../support/backends.js';
import { ROOT_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { runKeygateAsync } from '../support/process.js';

describe('importing 100,000 keys in one go', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(await sqliteBackend.fresh());
  });
  afterAll(() => gw?.close());

  it('streams the file through the CLI with progress and imports every key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kg-bulk-'));
    const file = join(dir, 'keys.csv');
    const out = createWriteStream(file);
    out.write('Name,Key,Description,Enabled,UsageplanIds\n');
    for (let i = 0; i < 100_000; i++) {
      if (!out.write(`key ${i},bulk-cli-imported-key-${String(i).padStart(12, '0')},imported,TRUE,\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    await gw.admin('POST', '/v1/apps', { name: 'bulk-cli' });

    const r = await runKeygateAsync(['--json', 'keys', 'import', file, '--app', 'bulk-cli'], {
      cwd: dir,
      env: { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 100_000, failed: [] });
    expect(r.stderr).toMatch(/importing: \d+%/);
    for (const i of [0, 54_321, 99_999]) {
      const res = await gw.proxy('/demo/x', { headers: { 'x-api-key': `bulk-cli-imported-key-${String(i).padStart(12, '0')}` } });
      expect(res.status).toBe(200);
    }
    const again = await runKeygateAsync(['--json', 'keys', 'import', file, '--app', 'bulk-cli'], {
      cwd: dir,
      env: { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN },
    });
    const second = JSON.parse(again.stdout);
    expect(second.imported).toBe(0);
    expect(second.failed).toHaveLength(100_000);
    expect(second.failed[0]).toEqual({ line: 2, code: 'conflict', detail: 'a key with this value already exists' });
  }, 300_000);
});
