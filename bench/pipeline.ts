import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock } from '../src/clock.js';
import { resolveConfig } from '../src/config/load.js';
import { KeyCache } from '../src/keys/cache.js';
import { hashKey, KeyFormat } from '../src/keys/format.js';
import { InvalidKeyGuard, MemoryGuardCounter } from '../src/keys/guard.js';
import { KeyVerifier } from '../src/keys/verify.js';
import { createLogger } from '../src/log.js';
import { DetectionEngine } from '../src/monitor/detect/engine.js';
import { Locator } from '../src/monitor/detect/geo.js';
import { detectorSettings } from '../src/monitor/detect/settings.js';
import { Metrics } from '../src/monitor/metrics.js';
import { UsageRecorder } from '../src/monitor/recorder.js';
import { Authenticate } from '../src/pipeline/authenticate.js';
import { AuthorizeRoute } from '../src/pipeline/authorize.js';
import { compose } from '../src/pipeline/compose.js';
import type { RequestContext } from '../src/pipeline/context.js';
import { GuardStage } from '../src/pipeline/guard.js';
import { ApplyLimits } from '../src/pipeline/limits.js';
import { recordStage } from '../src/pipeline/record.js';
import { PlanDirectory } from '../src/plans/directory.js';
import { Limiter } from '../src/plans/limiter.js';
import { prepareRoute } from '../src/proxy/routes.js';
import { LocalChangeBus } from '../src/store/bus.js';
import { MemoryCounterStore } from '../src/store/memory/counters.js';
import type { KeyRecord, KeyStore, Plan, PlanStore, UsageStore } from '../src/store/interface.js';

export interface PipelineResult {
  /** Guard, key check, route authorization, throttle + quota: ns per call. */
  pipelineNs: number;
  /** Usage event, buffer, aggregation, Prometheus metrics and the six detectors: ns per call. */
  recordNs: number;
}

/**
 * Keygate's own work per call, in process and on one core, without the HTTP and the network
 * around it: the request pipeline with a cached key on a plan with a throttle and a quota
 * (memory counters), then the record stage with everything it feeds. The store is a map: a
 * warm cache never reaches it. The best of `rounds` rounds is kept.
 */
export async function pipelineBench(calls = 300_000, rounds = 5): Promise<PipelineResult> {
  const now = Date.now();
  const key = new KeyFormat().generate();
  const record: KeyRecord = {
    id: 'key_1', appId: 'app_1', hash: hashKey(key), hint: '', name: null, planId: 'plan_1', enabled: true, metadata: null,
    lineageId: 'key_1', rotatedFrom: null, replacedBy: null, description: null, expiresAt: null, revokedAt: null, createdAt: now, updatedAt: now,
  };
  const plan: Plan = {
    id: 'plan_1', name: 'bench', rate: 1e9, burst: 1e9, quota: { limit: 1e15, period: 'month', offset: null }, timezone: 'UTC', overrides: [], autoSuspend: [], createdAt: now, updatedAt: now,
  };
  const logger = createLogger('silent');
  const bus = new LocalChangeBus();
  const store = { findByHash: async (hash: string) => (hash === record.hash ? record : null) } as unknown as KeyStore;
  const verifier = new KeyVerifier(store, new KeyCache({ clock: systemClock, ttlMs: 3_600_000, maxEntries: 1000, connected: () => true }), new KeyFormat(), systemClock);
  const directory = new PlanDirectory({ all: async () => [plan] } as unknown as PlanStore, bus, systemClock, logger, null);
  directory.apply(plan.id, plan);
  const limiter = new Limiter(directory, new MemoryCounterStore(null, null), systemClock);
  const guard = new GuardStage(new InvalidKeyGuard(new MemoryGuardCounter({ maxInvalid: 20, windowMs: 60_000, blockMs: 300_000 }), bus, systemClock, logger));
  const pipeline = compose([guard, new Authenticate(verifier, guard.onVerdict), new AuthorizeRoute(directory), new ApplyLimits(limiter)]);
  const route = prepareRoute(resolveConfig({}).routes[0]!, 'http://127.0.0.1:9');
  // A keep-alive client, as in the proxy: its connection remembers the key's hash.
  const req = { headers: { host: '127.0.0.1:8080', 'x-api-key': key }, socket: {} } as unknown as IncomingMessage;
  const recorder = new UsageRecorder(
    { add: async () => {} } as unknown as UsageStore,
    { capacity: 1_000_000, aggregateMs: 10, flushMs: 2000, maxPendingRows: 1_000_000, spillDir: '', logSample: 0, metricsPerKey: false },
    new Metrics(),
    logger,
    systemClock,
  );
  const engine = new DetectionEngine({ settings: detectorSettings({}), locator: await Locator.open() });
  recorder.onEvents((events) => {
    for (const e of events) engine.process(e);
  });
  const record_ = recordStage(recorder);
  const context = (): RequestContext => ({
    req, res: {} as ServerResponse, route, method: 'GET', path: '/demo/items', search: '', clientIp: '198.51.100.7',
    receivedAt: Date.now(), startedAt: performance.now(), credential: null, credentialQueryParam: null,
    principal: null, refusedKeyId: null, refusedAppId: null, headers: null, limit: null,
  });
  if ((await pipeline(context())) !== undefined) throw new Error('the bench key was refused');
  const time = (body: (ctx: RequestContext, i: number) => void): number => {
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) body(context(), i);
      best = Math.min(best, Number(process.hrtime.bigint() - start) / calls);
    }
    return best;
  };
  const base = time(() => {});
  const pipelineNs = time((ctx) => {
    if (pipeline(ctx) !== undefined) throw new Error('the bench key was refused or took the async path');
  });
  const warm = context();
  pipeline(warm);
  const principal = warm.principal;
  const recordNs = time((ctx, i) => {
    ctx.principal = principal;
    record_(ctx, 200, null, 0, 63);
    // The recorder's 10 ms pass takes about this many calls at full load.
    if (i % 128 === 127) recorder.drain();
  });
  return { pipelineNs: pipelineNs - base, recordNs: recordNs - base };
}

