import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.js';
import { runKeygate, spawnKeygate, type Running } from '../support/process.js';
import { freePort } from '../support/servers.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * The newcomer's path from PRODUCT.md §1, on the real binary: start on the embedded defaults,
 * take the printed bootstrap token, create an app and a key with the CLI, call the demo route,
 * revoke, stop. Then look for the key's plaintext in every file of the data dir and in the logs.
 */
describe('newcomer path (real processes, embedded defaults)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'kg-newcomer-'));
  let gateway: Running | null = null;
  afterAll(async () => {
    await gateway?.stop('SIGKILL');
  });

  it('works from start to revoke, and never writes the key plaintext to disk or log', async () => {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const env = { KEYGATE_PROXY_PORT: String(proxyPort), KEYGATE_ADMIN_PORT: String(adminPort) };
    gateway = spawnKeygate(['start'], { cwd, env });
    const [, token] = await gateway.waitFor(/\n {2}(kga_[A-Za-z0-9_-]+)\n/);
    await gateway.waitFor(/keygate started/);

    const cli = (...args: string[]) =>
      runKeygate(args, { cwd, env: { KEYGATE_ADMIN_URL: `http://127.0.0.1:${adminPort}`, KEYGATE_ADMIN_TOKEN: token } });
    const app = cli('apps', 'create', 'shop', '--json');
    expect(app.code, app.stderr).toBe(0);
    const created = cli('keys', 'create', '--app', 'shop', '--name', 'first', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    const human = cli('keys', 'list');
    expect(human.stdout).toContain(id);
    expect(human.stdout).toMatch(/active/);
    expect(human.stdout).not.toContain(key);

    const proxy = `http://127.0.0.1:${proxyPort}`;
    const ok = await call('GET', `${proxy}/demo/hello`, { headers: { 'x-api-key': key } });
    expect(ok.status).toBe(200);
    expect(ok.body.headers['x-keygate-key-id']).toBe(id);
    expect(ok.body.headers['x-api-key']).toBeUndefined();
    const missing = await call('GET', `${proxy}/demo/hello`);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('missing_api_key');

    const revoked = cli('keys', 'revoke', id);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = await call('GET', `${proxy}/demo/hello`, { headers: { 'x-api-key': key } });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('key_revoked');

    expect(await gateway.stop('SIGTERM')).toBe(0);
    const log = gateway.output();
    expect(log).toContain('keygate started');
    expect(log).not.toContain(key);
    expect(log).not.toContain(key.slice(8, 30));

    const files = filesUnder(join(cwd, 'data'));
    expect(files.some((f) => f.endsWith('keygate.db'))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(bytes.includes(Buffer.from(key)), file).toBe(false);
      expect(bytes.includes(Buffer.from(key.slice(8, 30))), file).toBe(false);
    }

    // A second start on the same data prints no new bootstrap token.
    gateway = spawnKeygate(['start'], { cwd, env });
    await gateway.waitFor(/keygate started/);
    expect(gateway.output()).not.toMatch(/bootstrap admin token/);
    expect(await gateway.stop('SIGTERM')).toBe(0);
  });

  it('stops gracefully on a signal that arrives while it is still starting', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'kg-early-signal-'));
    const env = { KEYGATE_PROXY_PORT: String(await freePort()), KEYGATE_ADMIN_PORT: String(await freePort()) };
    gateway = spawnKeygate(['start'], { cwd: fresh, env });
    // The bootstrap token is printed midway through start-up, before either port listens.
    await gateway.waitFor(/\n {2}kga_[A-Za-z0-9_-]+\n/);
    expect(await gateway.stop('SIGTERM')).toBe(0);
    expect(gateway.output()).toMatch(/keygate started/);
    expect(gateway.output()).toMatch(/"msg":"stopped"/);
  });
});
