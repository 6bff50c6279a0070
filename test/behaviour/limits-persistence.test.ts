import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { backends, title, type BackendConfig } from '../support/backends.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const at = Date.parse('2026-11-27T10:00:00Z');

async function setup(gw: TestGateway, body: Record<string, unknown>) {
  const plan = await gw.admin('POST', '/v1/plans', { name: `p${Math.random().toString(36).slice(2, 8)}`, ...body });
  expect(plan.status, plan.text).toBe(201);
  return gw.newKey({ planId: plan.body.id });
}
const call = (gw: TestGateway, key: string) => gw.proxy('/demo/x', { headers: { 'x-api-key': key } });

describe.each(backends)('limit state survives restarts — $name', (backend) => {
  describe.skipIf(backend.skip !== null)(title(backend), () => {
    it('keeps throttle and quota state across a graceful restart', async () => {
      const storage: BackendConfig = await backend.fresh();
      const clock = new ManualClock(at);
      let gw = await startTestGateway(storage, { clock });
      const throttled = await setup(gw, { rate: 0.001, burst: 2 });
      const quota = await setup(gw, { rate: 1000, burst: 1000, quota: { limit: 5, period: 'day' } });
      for (let i = 0; i < 2; i++) expect((await call(gw, throttled.key)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await call(gw, quota.key)).status).toBe(200);
      await gw.close();

      gw = await startTestGateway(storage, { clock });
      try {
        expect((await call(gw, throttled.key)).body.code).toBe('rate_limited');
        expect((await gw.admin('GET', `/v1/keys/${quota.id}/quota`)).body.used).toBe(3);
        expect((await call(gw, quota.key)).status).toBe(200);
        expect((await call(gw, quota.key)).status).toBe(200);
        expect((await call(gw, quota.key)).body.code).toBe('quota_exceeded');
      } finally {
        await gw.close();
      }
    });
  });
});
