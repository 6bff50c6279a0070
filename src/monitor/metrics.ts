import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics (served at GET /metrics on the admin port). One registry
 * per gateway, so several gateways in one process (tests) do not mix their numbers.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly limiterState = new Gauge({
    name: 'keygate_limiter_redis_up',
    help: '1 while limits are decided in Redis, 0 while this node falls back to local limits (or refuses, with failClosed)',
    registers: [this.registry],
  });
  readonly limiterFallback = new Counter({
    name: 'keygate_limiter_fallback_decisions_total',
    help: 'Limit decisions taken locally because Redis was unreachable',
    registers: [this.registry],
  });
  readonly limiterErrors = new Counter({
    name: 'keygate_limiter_redis_errors_total',
    help: 'Redis errors met while deciding limits',
    registers: [this.registry],
  });
  readonly busPublishFailures = new Counter({
    name: 'keygate_change_broadcast_failures_total',
    help: 'Changes that could not be broadcast to other nodes (they rely on the cache TTL)',
    registers: [this.registry],
  });

  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'keygate_' });
  }
}
