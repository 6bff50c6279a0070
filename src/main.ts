import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Auditor } from './admin/audit.js';
import { createAdminServer, type AdminApp } from './admin/server.js';
import { AdminTokenService } from './admin/tokens.js';
import { AppService } from './apps/service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { KeyCache } from './keys/cache.js';
import { KeyFormat, type KeyEnvironment } from './keys/format.js';
import { InvalidKeyGuard, MemoryGuardCounter } from './keys/guard.js';
import { KeyImporter } from './keys/import.js';
import { KeyService } from './keys/service.js';
import { VerificationService } from './keys/verification.js';
import { KeyVerifier } from './keys/verify.js';
import { createLogger, type Logger } from './log.js';
import { Authenticate } from './pipeline/authenticate.js';
import { AuthorizeRoute } from './pipeline/authorize.js';
import { GuardStage } from './pipeline/guard.js';
import { ApplyLimits } from './pipeline/limits.js';
import { PlanDirectory } from './plans/directory.js';
import { Limiter } from './plans/limiter.js';
import { PlanService } from './plans/service.js';
import { Metrics } from './monitor/metrics.js';
import { UsageRecorder } from './monitor/recorder.js';
import { UsageService } from './monitor/usage.js';
import { DetectionEngine } from './monitor/detect/engine.js';
import { LocalFeed, RedisFeed, type EventFeed } from './monitor/detect/feed.js';
import { defaultGeoDb, Locator } from './monitor/detect/geo.js';
import { PostgresLeadership, SoleLeader, type Leadership } from './monitor/detect/leader.js';
import { DetectionService } from './monitor/detect/service.js';
import { detectorSettings } from './monitor/detect/settings.js';
import { WebhookNotifier } from './monitor/detect/webhook.js';
import { recordStage, recordUnrouted } from './pipeline/record.js';
import { parseDuration } from './duration.js';
import { MemoryCounterStore } from './store/memory/counters.js';
import { RedisCounterStore } from './store/redis/counters.js';
import { RedisGuardCounter } from './store/redis/guard.js';
import { compose } from './pipeline/compose.js';
import { startEchoUpstream } from './proxy/echo.js';
import { Upstreams } from './proxy/forward.js';
import { prepareRoute, RouteTable } from './proxy/routes.js';
import { ProxyServer } from './proxy/server.js';
import { keepTickShapes } from './proxy/tick-shapes.js';
import { LocalChangeBus, type ChangeBus } from './store/bus.js';
import type { CounterStore, Stores } from './store/interface.js';
import { PostgresChangeBus } from './store/postgres/bus.js';
import { openPostgresStores } from './store/postgres/open.js';
import { RedisChangeBus } from './store/redis/bus.js';
import { openRedis, waitReady } from './store/redis/connection.js';
import type { Redis } from 'ioredis';
import { openSqliteStores } from './store/sqlite/open.js';

/** A startup failure a user can fix (port in use, database unreachable): shown without a stack. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

export interface GatewayOptions {
  clock?: Clock;
  logger?: Logger;
  /** Where the one-time bootstrap token is printed (stdout by default). */
  print?: (text: string) => void;
}

export interface Gateway {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly stores: Stores;
  readonly logger: Logger;
  /** Graceful stop: stop accepting, finish in-flight requests, flush, close stores. */
  close(): Promise<void>;
}

interface Storage {
  stores: Stores;
  /** PostgreSQL NOTIFY, for the change bus of a cluster without Redis. */
  notify?: (channel: string, payload: string) => Promise<void>;
}

async function openStores(config: Config): Promise<Storage> {
  try {
    if (config.storage.kind === 'postgres') {
      const { stores, db } = await openPostgresStores(config.storage.url);
      return { stores, notify: async (channel, payload) => void (await sql`select pg_notify(${channel}, ${payload})`.execute(db)) };
    }
    return { stores: (await openSqliteStores(config.storage.path)).stores };
  } catch (err) {
    const where = config.storage.kind === 'postgres' ? 'PostgreSQL' : `SQLite file ${config.storage.path}`;
    throw new StartupError(`cannot open ${where}: ${(err as Error).message}`, { cause: err });
  }
}

async function listen<T>(what: string, host: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`${what} port ${port} on ${host} is already in use`, { cause: err });
    if (code === 'EACCES') throw new StartupError(`${what} port ${port} on ${host} needs privileges this process lacks`, { cause: err });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new StartupError(`${what} host ${host} is not an address of this machine`, { cause: err });
    throw err;
  }
}

/**
 * The change bus: Redis pub/sub when Redis is configured, else PostgreSQL LISTEN/NOTIFY for a
 * PostgreSQL cluster, else in-process only (a single SQLite node).
 */
async function openChangeBus(config: Config, logger: Logger, notify: Storage['notify'], redis: Redis | null, metrics: Metrics): Promise<ChangeBus> {
  const failed = () => metrics.busPublishFailures.inc();
  if (config.redis && redis) {
    const subscriber = openRedis(config.redis.url, logger, 'subscribe', { enableOfflineQueue: true });
    try {
      await waitReady(subscriber, config.redis.url);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'Redis unreachable at start: caches use a 1 s TTL until it answers');
    }
    const bus = new RedisChangeBus(redis, subscriber, config.redis.prefix, logger, failed);
    await bus.start();
    return bus;
  }
  if (config.storage.kind === 'postgres' && notify) {
    const bus = new PostgresChangeBus(config.storage.url, notify, logger, failed);
    await bus.start();
    return bus;
  }
  return new LocalChangeBus();
}

/**
 * Where limits are counted: in Redis for a cluster (exact across nodes), else in this process,
 * persisted to the database every second.
 */
async function openCounters(
  config: Config,
  deps: { stores: Stores; redis: Redis | null; logger: Logger; metrics: Metrics; passClock: boolean; clock: Clock },
): Promise<CounterStore> {
  if (config.redis && deps.redis) {
    const counters = new RedisCounterStore(deps.redis, deps.stores.limits, {
      prefix: config.redis.prefix,
      failClosed: config.redis.failClosed,
      passClock: deps.passClock,
      logger: deps.logger,
      metrics: deps.metrics,
    });
    counters.start();
    return counters;
  }
  if (config.storage.kind === 'postgres') {
    deps.logger.warn('no redis configured: rate limits and quotas are counted per node; configure redis for exact cluster-wide limits');
  }
  const counters = new MemoryCounterStore(deps.stores.limits, deps.logger);
  await counters.start(deps.clock.now());
  return counters;
}

/** Hourly: drops usage buckets past their retention and limit state of finished windows. */
async function prune(config: Config, stores: Stores, clock: Clock, logger: Logger): Promise<void> {
  const now = clock.now();
  const keep = config.monitoring.retention;
  try {
    await stores.usage.prune({ minute: now - parseDuration(keep.minute)!, hour: now - parseDuration(keep.hour)!, day: now - parseDuration(keep.day)! });
    await stores.limits.prune(now);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'pruning old usage failed; retrying in an hour');
  }
}

/**
 * Abuse detection: the detectors run on one node (the PostgreSQL advisory-lock holder, or the
 * only node), over every node's calls (a Redis stream, or this node's own). Returns the closer.
 */
async function startDetection(
  config: Config,
  d: { stores: Stores; redis: Redis | null; keys: KeyService; directory: PlanDirectory; recorder: UsageRecorder; metrics: Metrics; logger: Logger; clock: Clock },
): Promise<() => Promise<void>> {
  const m = config.monitoring;
  let locator: Locator;
  try {
    locator = await Locator.open(m.geoDb ?? defaultGeoDb());
  } catch (err) {
    throw new StartupError(`cannot open the location database ${m.geoDb ?? defaultGeoDb()}: ${(err as Error).message}`, { cause: err });
  }
  const engine = new DetectionEngine({ settings: detectorSettings(m.detectors), locator });
  const webhook = m.webhook ? new WebhookNotifier({ url: m.webhook, secret: m.webhookSecret ?? null }, d.logger, d.metrics) : null;
  const service = new DetectionService(engine, d.stores.alerts, d.keys, d.stores.keys, d.directory, { autoSuspend: m.autoSuspend, webhook }, d.metrics, d.logger, d.clock);
  const feed: EventFeed =
    config.redis && d.redis
      ? new RedisFeed(d.redis, openRedis(config.redis.url, d.logger, 'detector-feed', { commandTimeout: undefined }), config.redis.prefix, d.logger)
      : new LocalFeed();
  d.recorder.onEvents((events) => feed.publish(events));
  if (config.storage.kind === 'postgres' && !config.redis) {
    d.logger.warn('no redis configured: the detectors see only the calls of the node that runs them; configure redis for cluster-wide detection');
  }
  const leadership: Leadership = config.storage.kind === 'postgres' ? new PostgresLeadership(config.storage.url, d.logger) : new SoleLeader();
  let running: Promise<void> = Promise.resolve();
  leadership.start((leader) => {
    d.metrics.detectorLeader.set(leader ? 1 : 0);
    running = running.then(async () => {
      if (leader) {
        await service.start();
        feed.consume((events) => service.feed(events));
      } else {
        await feed.pause();
        await service.close();
      }
    });
  });
  return async () => {
    await leadership.stop();
    await running;
    await feed.close();
    await service.close();
    await webhook?.close();
  };
}

/**
 * The composition root: the only place where backends are chosen and wired together.
 * Starts a gateway (proxy + admin API) for `config` and resolves once both listen.
 */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  // Before the startup's garbage collections (bin/keygate.js does it even earlier): see tick-shapes.ts.
  keepTickShapes();
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.log.level);
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((err) => logger.error({ err }, 'error while closing'));
    }
    closers.length = 0;
  };

  try {
    const { stores, notify } = await openStores(config);
    closers.push(() => stores.close());
    const metrics = new Metrics();
    const redis = config.redis ? openRedis(config.redis.url, logger, 'commands', { commandTimeout: 1000 }) : null;
    if (redis) closers.push(async () => redis.disconnect());
    const bus = await openChangeBus(config, logger, notify, redis, metrics);
    closers.push(() => bus.close());

    const format = new KeyFormat(config.keys.prefix);
    const cache = new KeyCache({
      clock,
      ttlMs: config.keys.cacheTtlSeconds * 1000,
      maxEntries: config.keys.cacheMaxEntries,
      connected: () => bus.connected,
    });
    bus.subscribe((change) => {
      if (change.kind === 'key') cache.evictHash(change.hash);
      else if (change.kind === 'new-keys') cache.clearNegative();
      else if (change.kind === 'reset') cache.clear();
    });
    const verifier = new KeyVerifier(stores.keys, cache, format, clock);
    const auditor = new Auditor(stores.audit, clock);
    const apps = new AppService(stores.apps, auditor, clock);
    const directory = new PlanDirectory(stores.plans, bus, clock, logger, config.defaultPlan ?? null);
    await directory.start();
    closers.push(async () => directory.stop());
    const plans = new PlanService(stores.plans, stores.keys, directory, auditor, bus, clock, config.routes);
    const counters = await openCounters(config, { stores, redis, logger, metrics, passClock: options.clock !== undefined, clock });
    closers.push(() => counters.close());
    const limiter = new Limiter(directory, counters, clock);
    const keys = new KeyService(stores.keys, stores.apps, format, auditor, bus, clock, config.keys.environment as KeyEnvironment, (id) => plans.assertExists(id));
    const importer = new KeyImporter(keys, stores.keys, stores.apps, stores.plans, auditor, bus);
    const tokens = new AdminTokenService(stores.tokens, stores.meta, auditor, bus, clock, config.adminToken);

    const bootstrap = await tokens.bootstrap();
    if (bootstrap) {
      print(
        `\nKeygate bootstrap admin token (shown this once; keep it safe):\n\n  ${bootstrap}\n\n` +
          `Use it with the CLI:  export KEYGATE_ADMIN_TOKEN=${bootstrap}\n\n`,
      );
    }

    let echoOrigin: string | null = null;
    if (config.routes.some((r) => r.upstream === 'builtin:echo')) {
      const echo = await startEchoUpstream();
      echoOrigin = echo.origin;
      closers.push(() => echo.close());
    }
    const routes = new RouteTable(config.routes.map((r) => prepareRoute(r, echoOrigin)));
    const recorder = new UsageRecorder(
      stores.usage,
      {
        capacity: config.monitoring.bufferSize,
        // Short passes, so events die young: under load V8 scavenges every 50-150 ms, and events
        // held for 100 ms were promoted to the old generation (--trace-gc: 300 KB promoted per
        // scavenge at 100 ms, 125 KB at 10 ms).
        aggregateMs: 10,
        flushMs: config.monitoring.flushSeconds * 1000,
        maxPendingRows: 200_000,
        spillDir: join(config.dataDir, 'spill'),
        logSample: config.log.requests,
        metricsPerKey: config.monitoring.metricsPerKey,
      },
      metrics,
      logger,
      clock,
    );
    recorder.start();
    try {
      if (config.monitoring.detection) closers.push(await startDetection(config, { stores, redis, keys, directory, recorder, metrics, logger, clock }));
    } finally {
      // Closed before detection, so the last calls still reach the detectors.
      closers.push(() => recorder.close());
    }
    metrics.sources.cacheHits = () => cache.hits;
    metrics.sources.cacheMisses = () => cache.misses;
    const usage = new UsageService(stores.usage, stores.keys, directory, clock);
    const maintenance = setInterval(() => void prune(config, stores, clock, logger), 3_600_000);
    maintenance.unref();
    void prune(config, stores, clock, logger);
    closers.push(async () => clearInterval(maintenance));

    const upstreams = new Upstreams(config.proxy.upstreamConnections);
    closers.push(() => upstreams.close());

    const guardSettings = { maxInvalid: config.guard.maxInvalid, windowMs: config.guard.windowSeconds * 1000, blockMs: config.guard.blockSeconds * 1000 };
    const guard = new InvalidKeyGuard(
      config.redis && redis ? new RedisGuardCounter(redis, config.redis.prefix, guardSettings, options.clock !== undefined) : new MemoryGuardCounter(guardSettings),
      bus,
      clock,
      logger,
    );
    const guardStage = config.guard.enabled ? new GuardStage(guard) : null;

    // The request pipeline, in its fixed order.
    const pipeline = compose([
      ...(guardStage ? [guardStage] : []),
      new Authenticate(verifier, guardStage?.onVerdict),
      new AuthorizeRoute(directory),
      new ApplyLimits(limiter),
    ]);
    const proxy = new ProxyServer({ routes, pipeline, upstreams, clock, logger, trustProxy: config.proxy.trustProxy, onComplete: recordStage(recorder), onUnrouted: recordUnrouted(recorder) });
    const proxyAddress = await listen('proxy', config.proxy.host, config.proxy.port, () => proxy.listen(config.proxy.host, config.proxy.port));
    closers.push(() => proxy.close(config.proxy.shutdownTimeoutMs));

    const verification = new VerificationService(verifier, routes, directory, limiter, guardStage ? guard : null, clock, (e) => recorder.record(e));
    const admin: AdminApp = await createAdminServer({ apps, keys, importer, verification, plans, limiter, metrics, usage, auditor, tokens, stores, clock, logger, metricsPublic: config.admin.metricsPublic, dashboard: config.admin.dashboard });
    closers.push(() => admin.close());
    await listen('admin', config.admin.host, config.admin.port, () => admin.listen({ host: config.admin.host, port: config.admin.port }));
    const adminAddress = admin.server.address() as AddressInfo;

    const url = (a: AddressInfo) => `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    const gateway: Gateway = {
      proxyUrl: url(proxyAddress),
      adminUrl: url(adminAddress),
      stores,
      logger,
      close: closeAll,
    };
    logger.info({ proxy: gateway.proxyUrl, admin: gateway.adminUrl, storage: config.storage.kind, config: config.source }, 'keygate started');
    return gateway;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
