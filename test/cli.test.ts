import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/index.js';
import { sqliteBackend } from './support/backends.js';
import { ROOT_TOKEN, startTestGateway, type TestGateway } from './support/gateway.js';

/** Runs the CLI in-process against `gw` with the root token; collects its output. */
async function runCli(gw: TestGateway, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) }, { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN });
  return { code, out, err };
}

describe('keygate CLI over the admin API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(await sqliteBackend.fresh());
  });
  afterAll(() => gw?.close());

  const cli = (...argv: string[]) => runCli(gw, argv);
  const json = async (...argv: string[]) => {
    const r = await cli('--json', ...argv);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out);
  };

  it('creates and lists apps as a table and as JSON', async () => {
    const table = await cli('apps', 'create', 'cli-shop', '--description', 'the shop', '--metadata', '{"team":"web"}');
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/name\s+│ cli-shop/);
    const list = await json('apps', 'list', '--all');
    expect(list.items.map((a: { name: string }) => a.name)).toContain('cli-shop');
    const shown = await json('apps', 'show', 'cli-shop');
    expect(shown).toMatchObject({ name: 'cli-shop', description: 'the shop', metadata: { team: 'web' } });
  });

  it('runs the key lifecycle: create (shown once), list, show, update, disable, enable, revoke', async () => {
    await cli('apps', 'create', 'cli-keys');
    const human = await cli('keys', 'create', '--app', 'cli-keys', '--name', 'primary', '--expires-in', '30d');
    expect(human.code, human.err).toBe(0);
    const key = /key: (kg_live_\S+)/.exec(human.out)![1]!;
    expect(human.out).toContain('only time the key is shown');
    const id = /id\s+│ (key_\S+)/.exec(human.out)![1]!;
    const shown = await json('keys', 'show', id);
    expect(shown).toMatchObject({ id, name: 'primary', status: 'active' });
    expect(Date.parse(shown.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const list = await cli('keys', 'list', '--app', 'cli-keys');
    expect(list.out).toContain(id);
    expect(list.out).not.toContain(key);

    expect((await json('keys', 'update', id, '--name', 'renamed', '--no-expiry')).expiresAt).toBeNull();
    expect((await json('keys', 'disable', id)).status).toBe('disabled');
    expect((await json('keys', 'list', '--app', 'cli-keys', '--status', 'disabled')).items).toHaveLength(1);
    expect((await json('keys', 'enable', id)).status).toBe('active');
    expect((await json('keys', 'revoke', id)).status).toBe('revoked');
    const res = await gw.proxy('/demo/x', { headers: { 'x-api-key': key } });
    expect(res.body.code).toBe('key_revoked');
    const audit = await json('audit', '--target', id);
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual(['key.revoke', 'key.enable', 'key.disable', 'key.update', 'key.create']);
  });

  it('rotates a key with a grace period, and imports a CSV file', async () => {
    await cli('apps', 'create', 'cli-rotate');
    const made = await json('keys', 'create', '--app', 'cli-rotate');
    const rotated = await cli('keys', 'rotate', made.id, '--grace', '1h');
    expect(rotated.code, rotated.err).toBe(0);
    expect(rotated.out).toMatch(/key: kg_live_/);
    expect(rotated.out).toMatch(new RegExp(`previous key ${made.id} stops working at `));
    expect((await cli('keys', 'rotate', made.id, '--grace', 'soon')).err).toMatch(/not a duration/);
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'kg-cli-')), 'keys.csv');
    writeFileSync(file, 'name,key\nok,cli-imported-key-value-0001\nbad,short\n');
    const imported = await cli('keys', 'import', file, '--app', 'cli-rotate');
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/imported 1 key\(s\), 1 failed/);
    expect(imported.out).toMatch(/invalid_key/);
    expect((await cli('keys', 'import', '/no/such/file.csv')).err).toBe('error: cannot read /no/such/file.csv\n');
  });

  it('creates, lists and revokes admin tokens', async () => {
    const made = await json('tokens', 'create', '--name', 'ci', '--scopes', 'read,write');
    expect(made.token).toMatch(/^kga_/);
    expect(made.scopes).toEqual(['read', 'write']);
    const list = await cli('tokens', 'list');
    expect(list.out).toContain(made.id);
    expect(list.out).not.toContain(made.token);
    expect((await json('tokens', 'revoke', made.id)).revokedAt).not.toBeNull();
  });

  it('reports errors in one line with a non-zero status', async () => {
    const unknown = await cli('keys', 'show', 'key_nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('error: not_found: no key with id key_nope\n');
    const noApp = await cli('keys', 'create', '--app', 'no-such-app');
    expect(noApp.err).toBe('error: no app with id or name "no-such-app"\n');
    const badJson = await cli('apps', 'create', 'x', '--metadata', '{oops');
    expect(badJson.err).toBe('error: --metadata must be valid JSON\n');
    const badDuration = await cli('keys', 'create', '--app', 'cli-keys', '--expires-in', 'soon');
    expect(badDuration.code).not.toBe(0);
    expect(badDuration.err).toMatch(/"soon" is not a duration/);
    const badStatus = await cli('keys', 'list', '--status', 'sleeping');
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.err).toMatch(/Allowed choices are active, disabled, expired, revoked/);
  });

  it('says what is wrong without a token or without a running gateway', async () => {
    let err = '';
    const noToken = await run(['apps', 'list'], { out: () => {}, err: (s) => (err += s) }, { KEYGATE_ADMIN_URL: gw.adminUrl });
    expect(noToken).toBe(1);
    expect(err).toMatch(/no admin token: set KEYGATE_ADMIN_TOKEN/);
    err = '';
    const down = await run(['apps', 'list'], { out: () => {}, err: (s) => (err += s) }, { KEYGATE_ADMIN_URL: 'http://127.0.0.1:1', KEYGATE_ADMIN_TOKEN: ROOT_TOKEN });
    expect(down).toBe(1);
    expect(err).toMatch(/cannot reach the admin API at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    err = '';
    const wrong = await run(['apps', 'list'], { out: () => {}, err: (s) => (err += s) }, { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: 'kga_wrong_wrong_wrong_wrong_wrong' });
    expect(wrong).toBe(1);
    expect(err).toMatch(/unauthorized/);
  });
});

describe('keygate plans and quotas', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(await sqliteBackend.fresh(), { config: { routes: [{ path: '/demo', upstream: 'builtin:echo' }, { path: '/search', upstream: 'builtin:echo' }] } });
  });
  afterAll(() => gw?.close());

  const cli = (...argv: string[]) => runCli(gw, argv);

  it('creates, lists and updates plans, and shows and changes a key quota', async () => {
    const made = await cli('--json', 'plans', 'create', 'silver', '--rate', '5', '--burst', '10', '--quota', '1000/day', '--quota-offset', '6h', '--timezone', 'Europe/Berlin', '--override', '/search:GET:1:2', '--override', '/demo:*:2:4');
    expect(made.code, made.err).toBe(0);
    const plan = JSON.parse(made.out);
    expect(plan).toMatchObject({
      name: 'silver',
      rate: 5,
      burst: 10,
      timezone: 'Europe/Berlin',
      quota: { limit: 1000, period: 'day', offset: '6h' },
      overrides: [
        { route: '/search', method: 'GET', rate: 1, burst: 2 },
        { route: '/demo', method: null, rate: 2, burst: 4 },
      ],
    });
    const table = await cli('plans', 'list');
    expect(table.out).toMatch(/silver/);
    expect(table.out).toMatch(/1000\/day from \+6h/);
    const updated = await cli('--json', 'plans', 'update', plan.id, '--burst', '20', '--no-quota');
    expect(updated.code, updated.err).toBe(0);
    expect(JSON.parse(updated.out)).toMatchObject({ burst: 20, quota: null });
    const requota = await cli('plans', 'update', plan.id, '--quota', '3/week');
    expect(requota.code, requota.err).toBe(0);

    await cli('apps', 'create', 'quota-app');
    const key = JSON.parse((await cli('--json', 'keys', 'create', '--app', 'quota-app', '--plan', plan.id)).out);
    await gw.proxy('/demo/x', { headers: { 'x-api-key': key.key } });
    expect(JSON.parse((await cli('--json', 'keys', 'quota', key.id)).out)).toMatchObject({ limit: 3, used: 1, remaining: 2 });
    expect(JSON.parse((await cli('--json', 'keys', 'quota', key.id, '--add', '2')).out)).toMatchObject({ used: 3, remaining: 0 });
    expect(JSON.parse((await cli('--json', 'keys', 'quota', key.id, '--reset')).out)).toMatchObject({ used: 0 });
  });

  const planById = async (id: string) => {
    const res = await gw.admin('GET', `/v1/plans/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  it('plans update with only --rate, --burst or --name changes only that (it used to send quota: {} and fail)', async () => {
    const made = await cli('--json', 'plans', 'create', 'partial', '--rate', '1', '--burst', '2', '--quota', '500/day', '--quota-offset', '6h');
    expect(made.code, made.err).toBe(0);
    const id = JSON.parse(made.out).id;
    for (const [flag, value] of [['--rate', '2'], ['--burst', '5'], ['--name', 'partial-renamed']] as const) {
      const r = await cli('plans', 'update', id, flag, value);
      expect(r.code, `${flag}: ${r.err}`).toBe(0);
    }
    const listed = JSON.parse((await cli('--json', 'plans', 'list', '--all')).out);
    expect(listed.items.find((p: { id: string }) => p.id === id)).toMatchObject({ name: 'partial-renamed', rate: 2, burst: 5, quota: { limit: 500, period: 'day', offset: '6h' } });
    const nothing = await cli('plans', 'update', id);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toMatch(/nothing to change/);
  });

  it('plans create refuses --quota-offset without --quota (it used to be ignored)', async () => {
    const r = await cli('plans', 'create', 'offset-only', '--rate', '1', '--burst', '1', '--quota-offset', '6h');
    expect(r.code).toBe(2);
    expect(r.err).toBe('error: --quota-offset needs --quota (e.g. --quota 1000/day --quota-offset 6h)\n');
    const listed = JSON.parse((await cli('--json', 'plans', 'list', '--all')).out);
    expect(listed.items.map((p: { name: string }) => p.name)).not.toContain('offset-only');
  });

  it('plans update --quota keeps the current offset (it used to drop it); --quota-offset alone changes only the offset', async () => {
    const made = await cli('--json', 'plans', 'create', 'offsets', '--rate', '1', '--burst', '1', '--quota', '1000/day', '--quota-offset', '6h');
    expect(made.code, made.err).toBe(0);
    const id = JSON.parse(made.out).id;
    const update = async (...args: string[]) => {
      const r = await cli('plans', 'update', id, ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
      return (await planById(id)).quota;
    };
    expect(await update('--quota', '2000/day')).toEqual({ limit: 2000, period: 'day', offset: '6h' });
    expect(await update('--quota-offset', '3h')).toEqual({ limit: 2000, period: 'day', offset: '3h' });
    expect(await update('--rate', '2')).toEqual({ limit: 2000, period: 'day', offset: '3h' });
    expect(await update('--quota', '10/month', '--quota-offset', '14d')).toEqual({ limit: 10, period: 'month', offset: '14d' });
    expect(await update('--quota-offset', '0')).toEqual({ limit: 10, period: 'month', offset: null });

    const both = await cli('plans', 'update', id, '--no-quota', '--quota-offset', '6h');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--quota-offset cannot be used with --no-quota/);
    expect(await update('--no-quota')).toBeNull();
    const noQuota = await cli('plans', 'update', id, '--quota-offset', '6h');
    expect(noQuota.code).toBe(1);
    expect(noQuota.err).toBe(`error: plan ${id} has no quota: give --quota too (e.g. --quota 1000/day --quota-offset 6h)\n`);
    expect((await planById(id)).quota).toBeNull();
  });

  it('refuses bad plan options with a clear message', async () => {
    const bad = await cli('plans', 'create', 'x', '--rate', '-1', '--burst', '1');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/"-1" is not a positive number/);
    expect((await cli('plans', 'create', 'x', '--rate', '1', '--burst', '1', '--quota', 'lots')).err).toMatch(/not a quota such as 1000\/day/);
    expect((await cli('plans', 'create', 'x', '--rate', '1')).err).toMatch(/--rate and --burst are required/);
    const unknownRoute = await cli('plans', 'create', 'y', '--rate', '1', '--burst', '1', '--override', '/nope:GET:1:1');
    expect(unknownRoute.err).toMatch(/invalid_request: overrides\[0\]\.route: no route "\/nope"/);
  });
});

describe('keygate usage', () => {
  it('prints a table and a chart of requests and errors, or JSON', async () => {
    const { ManualClock } = await import('../src/clock.js');
    const clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    const gw = await startTestGateway(await sqliteBackend.fresh(), { clock, config: { monitoring: { flushSeconds: 0.2 } } });
    try {
      const { key, id } = await gw.newKey();
      for (let m = 0; m < 5; m++) {
        for (let i = 0; i <= m; i++) await gw.proxy('/demo/x', { headers: { 'x-api-key': key } });
        clock.advance(60_000);
      }
      await new Promise((r) => setTimeout(r, 1500));
      let out = '';
      let err = '';
      const code = await run(['usage', '--key', id, '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T10:05:00Z'], { out: (s) => (out += s), err: (s) => (err += s) }, { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN });
      expect(code, err).toBe(0);
      expect(out).toMatch(new RegExp(`key ${id}, 2026-11-27T10:00:00.000Z to 2026-11-27T10:05:00.000Z: 15 requests, 0 errors`));
      expect(out).toMatch(/2026-11-27T10:04:00.000Z │ 5 /);
      expect(out).toMatch(/[╭╮╯╰─]/); // the chart
      expect(out).toMatch(/upper line: requests, lower line: errors/);
      let json = '';
      await run(['--json', 'usage', '--key', id, '--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T10:05:00Z'], { out: (s) => (json += s), err: () => {} }, { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN });
      expect(JSON.parse(json).items.map((i: { requests: number }) => i.requests)).toEqual([1, 2, 3, 4, 5]);
      let bad = '';
      expect(await run(['usage', '--key', 'k', '--route', '/demo'], { out: () => {}, err: (s) => (bad += s) }, { KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: ROOT_TOKEN })).toBe(2);
      expect(bad).toMatch(/give one of --key, --app, --route/);
    } finally {
      await gw.close();
    }
  });

  it('refuses a --from/--to that is not an ISO 8601 date/time, naming the option (it printed "Invalid time value")', async () => {
    const gw = await startTestGateway(await sqliteBackend.fresh());
    try {
      for (const args of [['--to', 'garbage'], ['--from', 'garbage'], ['--to', 'garbage', '--last', '1h'], ['--from', '2026-13-45T10:00:00Z'], ['--to', '2026-02-30']]) {
        const r = await runCli(gw, ['usage', ...args]);
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(r.err).toMatch(new RegExp(`^error: option '${args[0]} <iso>' argument '${args[1]}' is invalid\\. "${args[1]}" is not an ISO 8601 date/time such as 2026-11-27 or 2026-11-27T10:00:00Z`));
      }
      const ok = await runCli(gw, ['--json', 'usage', '--from', '2026-11-27', '--to', '2026-11-27T10:00:00+01:00', '--granularity', 'hour']);
      expect(ok.code, ok.err).toBe(0);
      expect(JSON.parse(ok.out)).toMatchObject({ from: '2026-11-27T00:00:00.000Z', to: '2026-11-27T09:00:00.000Z' });
    } finally {
      await gw.close();
    }
  });

  it('refuses --from with --last (--last was ignored)', async () => {
    const gw = await startTestGateway(await sqliteBackend.fresh());
    try {
      const conflict = await runCli(gw, ['usage', '--from', '2026-11-27T10:00:00Z', '--last', '1h']);
      expect(conflict.code).not.toBe(0);
      expect(conflict.err).toMatch(/^error: option '--last <duration>' cannot be used with option '--from <iso>'/);
    } finally {
      await gw.close();
    }
  });
});
