import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { resolveConfig } from '../config/load.js';
import { KeyCache } from '../keys/cache.js';
import { KeyFormat } from '../keys/format.js';
import { InvalidKeyGuard, MemoryGuardCounter } from '../keys/guard.js';
import { KeyVerifier } from '../keys/verify.js';
import { createLogger } from '../log.js';
import { prepareRoute } from '../proxy/routes.js';
import { LocalChangeBus } from '../store/bus.js';
import type { KeyRecord, KeyStore } from '../store/interface.js';
import { Authenticate } from './authenticate.js';
import { compose } from './compose.js';
import type { RequestContext } from './context.js';
import { GuardStage } from './guard.js';

describe('guessing guard in the pipeline', () => {
  it('refuses a blocked address before authentication: no store lookup at all', async () => {
    const clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    let lookups = 0;
    const store = { findByHash: async (): Promise<KeyRecord | null> => (lookups++, null) } as unknown as KeyStore;
    const bus = new LocalChangeBus();
    const verifier = new KeyVerifier(store, new KeyCache({ clock, ttlMs: 30_000, maxEntries: 10, connected: () => true }), new KeyFormat(), clock);
    const guard = new InvalidKeyGuard(new MemoryGuardCounter({ maxInvalid: 3, windowMs: 60_000, blockMs: 300_000 }), bus, clock, createLogger('silent'));
    const stage = new GuardStage(guard);
    const run = compose([stage, new Authenticate(verifier, stage.onVerdict)]);
    const route = prepareRoute(resolveConfig({}).routes[0]!, 'http://127.0.0.1:9');
    const request = (ip: string, key: string) =>
      run({
        req: { headers: { 'x-api-key': key } } as unknown as IncomingMessage,
        res: {} as ServerResponse,
        route,
        method: 'GET',
        path: '/demo/x',
        search: '',
        clientIp: ip,
        receivedAt: clock.now(),
        startedAt: 0,
        credential: null,
        credentialQueryParam: null,
        principal: null,
        refusedKeyId: null,
        refusedAppId: null,
        headers: null,
        limit: null,
      } as RequestContext);

    for (let i = 0; i < 3; i++) expect((await request('192.0.2.1', `made-up-key-number-${i}-xxxx`))?.code).toBe('invalid_api_key');
    expect(lookups).toBe(3);
    for (let i = 0; i < 50; i++) expect((await request('192.0.2.1', `made-up-key-number-${i}-yyyy`))?.code).toBe('too_many_invalid_keys');
    expect(lookups).toBe(3);
    expect((await request('192.0.2.2', 'made-up-key-from-elsewhere-1'))?.code).toBe('invalid_api_key');
    clock.advance(300_001);
    expect((await request('192.0.2.1', 'made-up-key-after-the-block'))?.code).toBe('invalid_api_key');
  });
});

describe('sliding-window counter', () => {
  it('weights the previous window by its overlap', () => {
    const counter = new MemoryGuardCounter({ maxInvalid: 10, windowMs: 60_000, blockMs: 1000 });
    const t0 = 60_000 * 1000;
    for (let i = 0; i < 8; i++) expect(counter.hit('a', t0 + 50_000)).toBe(0);
    // 30 s into the next window, the 8 earlier hits weigh 4: 4 + 6 = 10 blocks.
    for (let i = 0; i < 5; i++) expect(counter.hit('a', t0 + 90_000)).toBe(0);
    expect(counter.hit('a', t0 + 90_000)).toBe(t0 + 91_000);
    // Two windows later nothing is left.
    expect(counter.hit('a', t0 + 200_000)).toBe(0);
  });
});
