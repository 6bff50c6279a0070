import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { backends, title } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

const SECRET = 'webhook-secret-for-tests-only';


/** A real webhook receiver: answers 500 to the first delivery, 200 after. */
async function receiver() {
  const received: Array<{ headers: Record<string, unknown>; body: string }> = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls++;
      received.push({ headers: req.headers, body });
      res.writeHead(calls === 1 ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.each(backends)('alerts online — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    let gw: TestGateway;
    let hook: Awaited<ReturnType<typeof receiver>>;
    const clock = new ManualClock(Date.parse('2026-11-27T08:00:00Z'));

    beforeAll(async () => {
      hook = await receiver();
      gw = await startTestGateway(await backend.fresh(), {
        clock,
        config: {
          proxy: { host: '127.0.0.1', port: 0, trustProxy: true },
          guard: { maxInvalid: 1000 },
          monitoring: {
            flushSeconds: 0.2,
            webhook: hook.url,
            webhookSecret: SECRET,
            detectors: { flood: { threshold: 6, windowMinutes: 1 }, spike: { warmupMinutes: 60, minCalls: 20 } },
          },
        },
      });
    });
    afterAll(async () => {
      await gw?.close();
      await hook?.close();
    });

    const alerts = (query = '') => gw.admin('GET', `/v1/alerts${query}`);

    it('raises invalid_key_flood once for a guessing address, stores it and sends it signed to the webhook', async () => {
      for (let i = 0; i < 10; i++) await gw.proxy('/demo/x', { headers: { 'x-api-key': `guessed-key-number-${i}-xxxxxxx`, 'x-forwarded-for': '203.0.113.66' } });
      const found = await eventually(() => alerts('?type=invalid_key_flood'), (r) => r.body.items.length > 0);
      expect(found.body.items).toHaveLength(1);
      expect(found.body.items[0]).toMatchObject({ type: 'invalid_key_flood', ip: '203.0.113.66', keyId: null, severity: 'high', suspended: false, acknowledgedAt: null });
      const delivered = await eventually(async () => hook.received.filter((r) => r.body.includes(found.body.items[0].id)), (r) => r.length >= 2);
      // The first delivery got a 500 and was retried.
      expect(delivered.map((d) => d.headers['x-keygate-attempt'])).toEqual(['1', '2']);
      for (const d of delivered) {
        expect(d.headers['x-keygate-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(d.body).digest('hex')}`);
        expect(JSON.parse(d.body).alert).toMatchObject({ id: found.body.items[0].id, type: 'invalid_key_flood' });
      }
    });

    it('raises usage_spike against the key\'s own baseline and suspends the key when its plan says so', async () => {
      const plan = await gw.admin('POST', '/v1/plans', { name: 'watched', rate: 1000, burst: 1000, autoSuspend: ['usage_spike'] });
      expect(plan.body.autoSuspend).toEqual(['usage_spike']);
      const { key, id } = await gw.newKey({ planId: plan.body.id });
      const call = () => gw.proxy('/demo/x', { headers: { 'x-api-key': key, 'x-forwarded-for': '5.9.0.1' } });
      // Two quiet hours: a call every ten minutes.
      for (let i = 0; i < 13; i++) {
        expect((await call()).status).toBe(200);
        clock.advance(10 * 60_000);
      }
      // Then 25 calls within one minute.
      for (let i = 0; i < 25; i++) await call();
      const found = await eventually(() => alerts(`?keyId=${id}`), (r) => r.body.items.length > 0);
      expect(found.body.items[0]).toMatchObject({ type: 'usage_spike', keyId: id, suspended: true });
      expect(found.body.items[0].detail).toMatchObject({ callsThisMinute: 20 });
      const refused = await eventually(call, (r) => r.status === 403);
      expect(refused.body.code).toBe('key_disabled');
      const audit = await gw.admin('GET', `/v1/audit?target=${id}&action=key.suspend`);
      expect(audit.body.items[0]).toMatchObject({ actor: 'system', after: { status: 'disabled', reason: { alertId: found.body.items[0].id, type: 'usage_spike' } } });
    });

    it('lists, filters and acknowledges alerts', async () => {
      const all = await alerts();
      expect(all.body.items.length).toBeGreaterThanOrEqual(2);
      const id = all.body.items[0].id;
      const acked = await gw.admin('POST', `/v1/alerts/${id}/ack`);
      expect(acked.body).toMatchObject({ id, acknowledgedBy: 'root' });
      expect(acked.body.acknowledgedAt).toEqual(expect.any(String));
      expect((await alerts('?status=open')).body.items.map((a: { id: string }) => a.id)).not.toContain(id);
      expect((await alerts('?status=acknowledged')).body.items.map((a: { id: string }) => a.id)).toEqual([id]);
      expect((await gw.admin('GET', `/v1/alerts/${id}`)).body.id).toBe(id);
      expect((await gw.admin('GET', '/v1/alerts/alr_nope')).status).toBe(404);
      expect((await alerts('?type=not_a_type')).status).toBe(400);
      const audit = await gw.admin('GET', `/v1/audit?target=${id}`);
      expect(audit.body.items[0].action).toBe('alert.acknowledge');
      const metrics = await gw.admin('GET', '/metrics');
      expect(metrics.text).toMatch(/keygate_alerts_total\{type="usage_spike"\} 1/);
      expect(metrics.text).toMatch(/^keygate_detector_leader 1$/m);
    });
  });
});
