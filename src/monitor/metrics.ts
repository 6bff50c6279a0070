import { Counter, Gauge, Registry, collectDefaultMetrics, type MetricValueWithName } from 'prom-client';
import { bucketOf } from './events.js';

/** One route's latency counts: per bucket (not cumulative), the sum and the count. */
export class DurationSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    this.counts[bucketOf(this.bounds, seconds)]!++;
    this.sum += seconds;
    this.count++;
  }
}

/**
 * A Prometheus histogram by route, in the registry like any prom-client metric. Each series is
 * a plain object the recorder keeps: an observation is a bucket search and three additions,
 * with none of the label hashing prom-client's Histogram does on every call.
 */
export class RouteDurations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, DurationSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  labels(route: string): DurationSeries {
    let s = this.series.get(route);
    if (s === undefined) {
      s = new DurationSeries(this.bounds);
      this.series.set(route, s);
    }
    return s;
  }

  /** What the registry reads at scrape time (the shape prom-client's own metrics return). */
  get(): { name: string; help: string; type: string; aggregator: string; values: Array<MetricValueWithName<string>> } {
    const values: Array<MetricValueWithName<string>> = [];
    for (const [route, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { route, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { route }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { route }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * The gateway's Prometheus metrics (served at GET /metrics on the admin port). One registry
 * per gateway, so several gateways in one process (tests) do not mix their numbers.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Live values read at scrape time; components set them when wired. */
  readonly sources = { bufferDepth: () => 0, cacheHits: () => 0, cacheMisses: () => 0 };

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

  readonly requests = new Counter({
    name: 'keygate_requests_total',
    help: 'Calls through the gateway by route, status class and refusal code (none = forwarded)',
    labelNames: ['route', 'status_class', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new RouteDurations(
    'keygate_request_duration_seconds',
    'Time from the request to the end of the answer, by route',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    this.registry,
  );
  readonly alerts = new Counter({
    name: 'keygate_alerts_total',
    help: 'Alerts raised by the detectors, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly webhookFailures = new Counter({
    name: 'keygate_webhook_failures_total',
    help: 'Failed webhook deliveries (retried unless gave_up or dropped)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly detectorLeader = new Gauge({
    name: 'keygate_detector_leader',
    help: 'Whether this node runs the detectors for the cluster (1) or not (0)',
    registers: [this.registry],
  });
  readonly keyRequests = new Counter({
    name: 'keygate_key_requests_total',
    help: 'Calls per key (only with monitoring.metricsPerKey)',
    labelNames: ['key_id', 'status_class'] as const,
    registers: [this.registry],
  });
  readonly bufferDepth = this.live('keygate_usage_buffer_depth', 'Usage events waiting for aggregation', () => this.sources.bufferDepth());
  readonly eventsDropped = new Counter({
    name: 'keygate_usage_events_dropped_total',
    help: 'Usage events dropped because the buffer was full',
    registers: [this.registry],
  });
  readonly usageWriteFailures = new Counter({
    name: 'keygate_usage_write_failures_total',
    help: 'Failed attempts to write usage to the database (rows are kept and retried)',
    registers: [this.registry],
  });
  readonly keyCacheHits = this.live('keygate_key_cache_hits_total', 'Key verifications answered from the cache', () => this.sources.cacheHits());
  readonly keyCacheMisses = this.live('keygate_key_cache_misses_total', 'Key verifications that needed the store', () => this.sources.cacheMisses());
  readonly keyCacheHitRatio = this.live('keygate_key_cache_hit_ratio', 'Share of key verifications answered from the cache since start', () => {
    const hits = this.sources.cacheHits();
    const total = hits + this.sources.cacheMisses();
    return total === 0 ? 0 : hits / total;
  });

  /** A gauge whose value is read when Prometheus scrapes. */
  private live(name: string, help: string, read: () => number): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  constructor(options: { defaults?: boolean } = {}) {
    // The event-loop lag is sampled every 100 ms, not prom-client's 10 ms: a sampling timer that
    // fires 100 times a second kept an idle gateway busy (about 0.5% of a CPU here).
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'keygate_', eventLoopMonitoringPrecision: 100 });
  }
}
