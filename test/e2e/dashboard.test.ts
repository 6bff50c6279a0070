/// <reference lib="dom" />
// The page-side callbacks below run in the browser, hence the DOM types.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../src/admin/dashboard.js';
import { sqliteBackend } from '../support/backends.js';
import { call } from '../support/http.js';
import { ROOT_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

const CHROMIUM = process.env.KEYGATE_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set KEYGATE_CHROMIUM)`;


describe.skipIf(skip !== null)(skip ? `web dashboard — skipped: ${skip}` : 'web dashboard in a real Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  /** The answer for the next dialog (prompt text, or '' to confirm). */
  let expectedDialog: string | null = null;
  /** Uncaught errors in the page, and what the content security policy blocked: both must stay empty. */
  const pageErrors: string[] = [];
  const proxy = (key: string, headers: Record<string, string> = {}) => gw.proxy('/demo/x', { headers: { 'x-api-key': key, ...headers } });

  /** Opens a view (drawn afresh, even if it is the one shown) and waits until it is drawn. */
  async function open(hash: string, view: string): Promise<void> {
    await page.evaluate((h) => {
      document.getElementById('main')!.dataset.drawn = '';
      if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
      else location.hash = h;
    }, hash);
    await page.waitForFunction(([h, v]) => document.getElementById('main')!.dataset.drawn === h && document.getElementById('main')!.dataset.view === v, [hash, view] as const);
  }

  async function signIn(token: string): Promise<void> {
    await page.goto(`${gw.adminUrl}/dashboard/`);
    await page.fill('#token', token);
    await page.click('form.signin button[type=submit]');
  }

  /** The message bar's text once it shows one. */
  async function message(): Promise<string> {
    await page.waitForSelector('#flash:not([hidden])');
    return (await page.textContent('#flash')) ?? '';
  }

  beforeAll(async () => {
    gw = await startTestGateway(await sqliteBackend.fresh(), {
      config: {
        proxy: { host: '127.0.0.1', port: 0, trustProxy: true },
        guard: { maxInvalid: 1000 },
        monitoring: { flushSeconds: 0.2, detectors: { flood: { threshold: 6, windowMinutes: 1 } } },
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
    });
    // A dialog is accepted only when a test said it expects one; any other is dismissed.
    page.on('dialog', (d) => {
      const answer = expectedDialog;
      expectedDialog = null;
      void (answer === null ? d.dismiss() : d.accept(answer));
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('serves its files without a token under a strict content security policy; the data behind it needs one', async () => {
    const html = await call('GET', `${gw.adminUrl}/dashboard/`);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(html.headers['x-frame-options']).toBe('DENY');
    expect(html.text).not.toMatch(/<script>/);
    // Every module the page imports is served (a new file must be listed in the server).
    const seen = new Set<string>();
    const load = async (name: string): Promise<void> => {
      if (seen.has(name)) return;
      seen.add(name);
      const js = await call('GET', `${gw.adminUrl}/dashboard/${name}`);
      expect([name, js.status, js.headers['content-type']]).toEqual([name, 200, 'text/javascript; charset=utf-8']);
      for (const m of js.text.matchAll(/^import .* from '\.\/([\w-]+\.js)';$/gm)) await load(m[1]!);
    };
    await load('app.js');
    expect(seen.size).toBeGreaterThan(3);
    expect((await call('GET', `${gw.adminUrl}/`)).headers.location).toBe('/dashboard/');
    expect((await call('GET', `${gw.adminUrl}/dashboard/../openapi.json`)).status).not.toBe(500);
    expect((await call('GET', `${gw.adminUrl}/v1/apps`)).status).toBe(401);

    const off = await startTestGateway(await sqliteBackend.fresh(), { config: { admin: { host: '127.0.0.1', port: 0, dashboard: false } } });
    try {
      expect((await call('GET', `${off.adminUrl}/dashboard/`)).status).toBe(401);
      expect((await off.admin('GET', '/dashboard/')).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('refuses an unknown token and signs in with a real one', async () => {
    await signIn('kga_not_a_real_token_000000000000');
    expect(await message()).toMatch(/refused/);
    expect(await page.isVisible('#nav')).toBe(false);
    await signIn(ROOT_TOKEN);
    await page.waitForSelector('#nav:not([hidden])');
    await page.waitForFunction(() => document.getElementById('main')!.dataset.view === 'usage');
    // The token lives in this tab's session storage only.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie])).toEqual([1, 0, '']);
  });

  it('creates a plan, an app and a key; the key works at the proxy under its plan, and its plaintext is shown once', async () => {
    await open('#/plans', 'plans');
    await page.fill('#plan-form [name=name]', 'gold');
    await page.fill('#plan-form [name=rate]', '5');
    await page.fill('#plan-form [name=burst]', '10');
    await page.fill('#plan-form [name=quotaLimit]', '100');
    await page.selectOption('#plan-form [name=quotaPeriod]', 'day');
    await page.click('#plan-form button[type=submit]');
    expect(await message()).toBe('Plan "gold" created.');
    const plans = await gw.admin('GET', '/v1/plans');
    expect(plans.body.items).toEqual([expect.objectContaining({ name: 'gold', rate: 5, burst: 10, quota: { limit: 100, period: 'day', offset: null }, timezone: 'UTC' })]);

    // A name that is markup shows as text and runs nothing.
    const hostile = '<img src=x onerror="window.__xss=1">acme';
    await open('#/apps', 'apps');
    await page.fill('#app-form [name=name]', hostile);
    await page.click('#app-form button[type=submit]');
    await page.locator('td', { hasText: hostile }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);

    await open('#/keys', 'keys');
    await page.selectOption('#key-form [name=planId]', { label: 'gold' });
    await page.fill('#key-form [name=name]', 'web');
    await page.click('#key-form button[type=submit]');
    const key = await page.inputValue('#new-key');
    expect(key).toMatch(/^kg_live_[A-Za-z0-9]+$/);
    const row = page.locator('tr', { hasText: 'web' });
    expect(await row.locator('.badge').textContent()).toBe('active');
    expect(await row.locator('select').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]!.text)).toBe('gold');

    const answer = await proxy(key);
    expect(answer.status).toBe(200);
    expect(answer.headers['ratelimit-policy']).toMatch(/"throttle";q=10;w=2/);
    expect(answer.headers['ratelimit-policy']).toMatch(/"quota";q=100;w=86400/);

    // The plaintext stays above every view (a redraw cannot lose it) until Done.
    await open('#/apps', 'apps');
    expect(await page.inputValue('#new-key')).toBe(key);
    await page.click('#secret-done');
    expect(await page.locator('#new-key').count()).toBe(0);

    // A double submit makes one key, not two.
    await open('#/keys', 'keys');
    const appId = (await gw.admin('GET', `/v1/keys/${await row.getAttribute('data-key-id')}`)).body.appId as string;
    const count = async () => (await gw.admin('GET', `/v1/keys?appId=${appId}`)).body.items.length as number;
    const before = await count();
    await page.evaluate(() => {
      const form = document.getElementById('key-form') as HTMLFormElement;
      form.requestSubmit();
      form.requestSubmit();
    });
    await page.waitForSelector('#new-key');
    await page.waitForFunction(() => !(document.querySelector('#key-form button[type=submit]') as HTMLButtonElement).disabled);
    expect(await count()).toBe(before + 1);
    await page.click('#secret-done');

    // Gone for good once the page is drawn again.
    await page.reload();
    await page.waitForFunction(() => document.getElementById('main')!.dataset.view === 'keys');
    expect(await page.content()).not.toContain(key);
    expect(await page.locator('#new-key').count()).toBe(0);
  });

  it('edits a plan, and the proxy enforces the change', async () => {
    const key = await page.locator('tr', { hasText: 'web' }).getAttribute('data-key-id');
    const plainKey = (await gw.newKey()).key; // control: a key without a plan is never throttled
    await open('#/plans', 'plans');
    await page.click('tr:has-text("gold") a:has-text("Edit")');
    await page.waitForSelector('#plan-edit-form');
    await page.fill('#plan-edit-form [name=rate]', '0.001');
    await page.fill('#plan-edit-form [name=burst]', '1');
    await page.fill('#plan-edit-form [name=quotaOffset]', '6h');
    await page.click('#plan-edit-form button[type=submit]');
    expect(await message()).toMatch(/^Plan "gold" saved/);
    expect((await gw.admin('GET', '/v1/plans')).body.items[0]).toMatchObject({ rate: 0.001, burst: 1, quota: { limit: 100, period: 'day', offset: '6h' } });
    // Editing something else keeps the offset (the form is filled with the plan as it is).
    await page.click('tr:has-text("gold") a:has-text("Edit")');
    await page.waitForSelector('#plan-edit-form');
    expect(await page.inputValue('#plan-edit-form [name=quotaOffset]')).toBe('6h');
    await page.fill('#plan-edit-form [name=quotaLimit]', '200');
    await page.click('#plan-edit-form button[type=submit]');
    expect(await message()).toMatch(/^Plan "gold" saved/);
    expect((await gw.admin('GET', '/v1/plans')).body.items[0].quota).toEqual({ limit: 200, period: 'day', offset: '6h' });
    expect(key).toMatch(/^key_/);

    const issued = await gw.admin('POST', `/v1/keys/${key}/rotate`, { graceSeconds: 60 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await proxy(issued.body.key)).status);
    expect(statuses).toContain(429);
    for (let i = 0; i < 3; i++) expect((await proxy(plainKey)).status).toBe(200);
  });

  it('renames an app, and refuses to delete a plan that keys still use', async () => {
    await open('#/apps', 'apps');
    const row = page.locator('tr', { hasText: 'acme' });
    const appId = (await row.getAttribute('data-app-id'))!;
    await row.locator('a', { hasText: 'Edit' }).click();
    await page.waitForSelector('#app-edit-form');
    await page.fill('#app-edit-form [name=name]', 'Acme Corp');
    await page.fill('#app-edit-form [name=description]', 'mobile apps');
    await page.click('#app-edit-form button[type=submit]');
    expect(await message()).toBe('App "Acme Corp" saved.');
    expect(await page.textContent(`tr[data-app-id="${appId}"]`)).toContain('mobile apps');
    expect((await gw.admin('GET', `/v1/apps/${appId}`)).body).toMatchObject({ name: 'Acme Corp', description: 'mobile apps' });

    await open('#/plans', 'plans');
    expectedDialog = '';
    await page.locator('tr:has-text("gold") button', { hasText: 'Delete' }).click();
    expect(await message()).toMatch(/^plan "gold" is assigned to \d+ key\(s\)/);
    expect((await gw.admin('GET', '/v1/plans')).body.items.map((p: { name: string }) => p.name)).toContain('gold');
  });

  it('disables, enables, rotates and revokes keys; each takes effect at the proxy at once', async () => {
    const { key, id } = await gw.newKey({ name: 'ops' });
    await open('#/keys', 'keys');
    const row = () => page.locator(`tr[data-key-id="${id}"]`);

    await row().locator('button', { hasText: 'Disable' }).click();
    expect(await message()).toBe('Key disabled.');
    expect(await row().locator('.badge').textContent()).toBe('disabled');
    expect((await proxy(key)).body.code).toBe('key_disabled');
    await row().locator('button', { hasText: 'Enable' }).click();
    expect(await message()).toBe('Key enabled.');
    expect((await proxy(key)).status).toBe(200);

    // An empty answer is not taken as "end the old key now".
    expectedDialog = '';
    await row().locator('button', { hasText: 'Rotate' }).click();
    expect(await message()).toMatch(/whole number of seconds/);
    expect((await gw.admin('GET', `/v1/keys/${id}`)).body).toMatchObject({ status: 'active', replacedBy: null });

    expectedDialog = '0';
    await row().locator('button', { hasText: 'Rotate' }).click();
    expect(await message()).toBe('Key rotated.');
    const successor = await page.inputValue('#new-key');
    expect(successor).not.toBe(key);
    expect((await proxy(successor)).status).toBe(200);
    expect((await proxy(key)).status).toBe(401);

    const next = (await gw.admin('GET', `/v1/keys/${id}`)).body.replacedBy as string;
    expectedDialog = '';
    await page.locator(`tr[data-key-id="${next}"] button`, { hasText: 'Revoke' }).click();
    expect(await message()).toBe('Key revoked.');
    expect(await page.locator(`tr[data-key-id="${next}"] .badge`).textContent()).toBe('revoked');
    const refused = await proxy(successor);
    expect([refused.status, refused.body.code]).toEqual([401, 'key_revoked']);
  });

  it('shows a key\'s usage as totals and a chart, matching the usage API', async () => {
    const plan = await gw.admin('POST', '/v1/plans', { name: 'tiny', rate: 0.001, burst: 5 });
    const { key, id } = await gw.newKey({ planId: plan.body.id });
    for (let i = 0; i < 7; i++) await proxy(key);
    await eventually(() => gw.admin('GET', `/v1/usage?keyId=${id}`), (r) => r.body.items.reduce((n: number, p: { requests: number }) => n + p.requests, 0) === 7);
    await open(`#/usage?keyId=${id}`, 'usage');
    const totals = async () => Object.fromEntries(await Promise.all(['requests', 'admitted', 'throttled', 'errors'].map(async (n) => [n, (await page.textContent(`#total-${n} b`))!])));
    expect(await totals()).toEqual({ requests: '7', admitted: '5', throttled: '2', errors: '2' });
    expect(await page.locator('.chart svg rect.requests').count()).toBeGreaterThan(0);
    expect(await page.locator('.chart svg rect.errors').count()).toBeGreaterThan(0);
    expect(await page.textContent('main h2')).toBe(`Usage of key ${id}`);
  });

  it("shows a key's quota, resets it and grants extra calls, as the API and the proxy see them", async () => {
    const plan = await gw.admin('POST', '/v1/plans', { name: 'metered', rate: 1000, burst: 1000, quota: { limit: 10, period: 'day' } });
    const { key, id, appId } = await gw.newKey({ planId: plan.body.id });
    for (let i = 0; i < 3; i++) expect((await proxy(key)).status).toBe(200);
    await open(`#/keys?appId=${appId}`, 'keys');
    await page.click(`tr[data-key-id="${id}"] a:has-text("Quota")`);
    await page.waitForSelector('#quota-state');
    expect(await page.textContent('#quota-state')).toMatch(/^Used 3 of 10 this day; 7 left; the window ends /);

    expectedDialog = '';
    await page.click('#quota-panel button:has-text("Reset")');
    expect(await message()).toBe('Quota reset.');
    expect(await page.textContent('#quota-state')).toMatch(/^Used 0 of 10 this day; 10 left/);
    await page.fill('#quota-form [name=grant]', '5');
    await page.click('#quota-form button[type=submit]');
    expect(await message()).toBe('5 extra calls granted.');
    expect(await page.textContent('#quota-state')).toMatch(/^Used 0 of 10 this day \(5 extra granted\); 15 left/);
    expect((await gw.admin('GET', `/v1/keys/${id}/quota`)).body).toMatchObject({ used: -5, remaining: 15 });
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) statuses.push((await proxy(key)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(15);
    expect(statuses[15]).toBe(429);
    const audit = await gw.admin('GET', `/v1/audit?target=${id}&action=key.quota`);
    expect(audit.body.items).toHaveLength(2);
  });

  it('lists open alerts with a count, and acknowledges one', async () => {
    for (let i = 0; i < 10; i++) await proxy(`guessed-key-number-${i}-xxxxxxx`, { 'x-forwarded-for': '203.0.113.66' });
    const found = await eventually(() => gw.admin('GET', '/v1/alerts?type=invalid_key_flood'), (r) => r.body.items.length > 0);
    const alertId = found.body.items[0].id as string;
    await open('#/alerts', 'alerts');
    await page.waitForSelector('#open-alerts:not([hidden])');
    expect(await page.textContent('#open-alerts')).toBe(String((await gw.admin('GET', '/v1/alerts?status=open')).body.items.length));
    const row = page.locator(`tr[data-alert-id="${alertId}"]`);
    expect(await row.textContent()).toContain('203.0.113.66');
    await row.locator('button', { hasText: 'Acknowledge' }).click();
    expect(await message()).toBe('Alert acknowledged.');
    await row.waitFor({ state: 'detached' });
    expect((await gw.admin('GET', `/v1/alerts/${alertId}`)).body).toMatchObject({ acknowledgedBy: 'root' });
    await open('#/alerts?status=acknowledged', 'alerts');
    expect(await page.locator(`tr[data-alert-id="${alertId}"]`).textContent()).toContain('by root');
  });

  it('lets a read-only token look but not change anything, and signs out', async () => {
    const read = await gw.admin('POST', '/v1/admin-tokens', { name: 'viewer', scopes: ['read'] });
    await page.click('#sign-out');
    await page.waitForSelector('form.signin');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(read.body.token);
    await page.waitForSelector('#nav:not([hidden])');
    await open('#/plans', 'plans');
    expect(await page.locator('tr', { hasText: 'gold' }).count()).toBe(1);
    await page.fill('#plan-form [name=name]', 'sneaky');
    await page.fill('#plan-form [name=rate]', '1');
    await page.fill('#plan-form [name=burst]', '1');
    await page.click('#plan-form button[type=submit]');
    expect(await message()).toMatch(/needs the "write" scope/);
    expect((await gw.admin('GET', '/v1/plans')).body.items.map((p: { name: string }) => p.name)).not.toContain('sneaky');
    // A token revoked while signed in sends the user back to the sign-in form.
    await gw.admin('POST', `/v1/admin-tokens/${read.body.id}/revoke`);
    await page.evaluate(() => (location.hash = '#/apps'));
    await page.waitForSelector('form.signin');
    expect(await message()).toMatch(/sign in again/);
  });

  it('ran without an uncaught error or a content security policy violation in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
