import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { UsageStore } from '../store/interface.js';
import { Aggregator, mergeDelta, type UsageDelta, type UsageEvent } from './events.js';
import type { DurationSeries, Metrics } from './metrics.js';

interface PendingCount {
  counter: { inc(n: number): void };
  pending: number;
}

export interface RecorderOptions {
  /** Events held between aggregation passes; beyond it events are dropped (and counted). */
  capacity: number;
  /** How often events are aggregated (and handed to listeners such as detectors). */
  aggregateMs: number;
  /** How often aggregates are written to the store. */
  flushMs: number;
  /** Aggregated rows held while the store is unreachable before they are spilled to disk. */
  maxPendingRows: number;
  /** Where rows are spilled when the store stays unreachable. */
  spillDir: string;
  /** Fraction of calls written to the log as a structured request line (0 = none). */
  logSample: number;
  /** Label request metrics with key ids (high cardinality; off by default). */
  metricsPerKey: boolean;
}

export type EventListener = (events: readonly UsageEvent[]) => void;

/**
 * Records every call off the request path: `record` only appends to a bounded buffer. In the
 * background, events are aggregated (per minute, per key, app, route and overall), handed to
 * listeners (detectors) and written to the store every `flushMs`, added to what other nodes
 * wrote. If the store is unreachable, rows wait in memory, then are spilled to `spillDir` and
 * written later: nothing is lost. On a crash, at most the last `aggregateMs + flushMs` of
 * calls are lost.
 */
export class UsageRecorder {
  private buffer: UsageEvent[] = [];
  private readonly aggregator = new Aggregator();
  private pending = new Map<string, UsageDelta>();
  private readonly listeners: EventListener[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** The aggregation timer, re-armed by `record` (see there). */
  private aggregation: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  dropped = 0;

  constructor(
    private readonly store: UsageStore,
    private readonly options: RecorderOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /**
   * Hot path: one array push, or a drop when the buffer is full. Never blocks, never throws.
   * The first event into an empty buffer arms the aggregation timer, so an idle gateway does not
   * wake up every `aggregateMs` for nothing.
   */
  record(event: UsageEvent): void {
    if (this.buffer.length >= this.options.capacity) {
      this.dropped++;
      this.metrics.eventsDropped.inc();
      return;
    }
    // refresh() restarts a timer that has fired (or postpones, by at most one interval, one
    // that a flush's drain got ahead of).
    if (this.buffer.push(event) === 1) this.aggregation?.refresh();
  }

  /** Listeners get every batch of events, in order, after aggregation. */
  onEvents(listener: EventListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    this.aggregation = setTimeout(() => this.drain(), this.options.aggregateMs).unref();
    every(this.options.flushMs, () => void this.flush());
    this.metrics.sources.bufferDepth = () => this.buffer.length;
  }

  /** Aggregates what is in the buffer and hands it to the listeners. */
  drain(): void {
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    const sample = this.options.logSample;
    for (const e of events) {
      this.aggregator.add(e);
      this.observe(e);
      if (sample > 0 && Math.random() < sample) {
        this.logger.info({ route: e.route, method: e.method, status: e.status, latencyMs: Math.round(e.latencyMs * 100) / 100, keyId: e.keyId, appId: e.appId, ip: e.ip, code: e.code }, 'request');
      }
    }
    for (const c of this.touched) {
      c.counter.inc(c.pending);
      c.pending = 0;
    }
    this.touched.length = 0;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.logger.error({ err }, 'usage listener failed');
      }
    }
  }

  /**
   * Prometheus series per route and (status class, code), looked up without building label
   * strings. Request counts are added once per pass (`pending`), not once per call.
   */
  private readonly routeMetrics = new Map<string, { duration: DurationSeries; counters: Map<string | null, Array<PendingCount | undefined>> }>();
  private readonly touched: PendingCount[] = [];

  private observe(e: UsageEvent): void {
    const m = this.metrics;
    let r = this.routeMetrics.get(e.route);
    if (r === undefined) {
      r = { duration: m.duration.labels(e.route), counters: new Map() };
      this.routeMetrics.set(e.route, r);
    }
    r.duration.observe(e.latencyMs / 1000);
    let byClass = r.counters.get(e.code);
    if (byClass === undefined) {
      byClass = [];
      r.counters.set(e.code, byClass);
    }
    const cls = Math.floor(e.status / 100);
    let counter = byClass[cls];
    if (counter === undefined) counter = byClass[cls] = { counter: m.requests.labels(e.route, `${cls}xx`, e.code ?? 'none'), pending: 0 };
    if (counter.pending++ === 0) this.touched.push(counter);
    if (this.options.metricsPerKey && e.keyId !== null) m.keyRequests.inc({ key_id: e.keyId, status_class: `${cls}xx` });
  }

  /** Writes aggregated rows (and any spilled ones) to the store. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    this.drain();
    for (const d of this.aggregator.take()) {
      const key = `${d.scope}\u0000${d.id}\u0000${d.minute}`;
      const existing = this.pending.get(key);
      if (existing) mergeDelta(existing, d);
      else this.pending.set(key, d);
    }
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    try {
      await this.store.add(rows);
      this.pending.clear();
      await this.replaySpilled();
    } catch (err) {
      this.metrics.usageWriteFailures.inc();
      this.logger.warn({ err: (err as Error).message, rows: rows.length }, 'usage not written; keeping it for the next attempt');
      if (this.pending.size > this.options.maxPendingRows) this.spill();
    }
  }

  private spill(): void {
    mkdirSync(this.options.spillDir, { recursive: true });
    const file = join(this.options.spillDir, `usage-${this.clock.now()}-${process.pid}.jsonl`);
    writeFileSync(file, [...this.pending.values()].map((d) => JSON.stringify(d)).join('\n') + '\n');
    this.logger.warn({ file, rows: this.pending.size }, 'usage spilled to disk; it will be written when the database is back');
    this.pending.clear();
  }

  private async replaySpilled(): Promise<void> {
    let files: string[];
    try {
      files = readdirSync(this.options.spillDir).filter((f) => f.endsWith('.jsonl'));
    } catch {
      return;
    }
    for (const name of files.sort()) {
      const file = join(this.options.spillDir, name);
      let rows: UsageDelta[];
      try {
        rows = readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as UsageDelta);
      } catch (err) {
        // A file cut short by a crash must not block the others: set it aside for a human.
        renameSync(file, `${file}.unreadable`);
        this.logger.error({ file, err: (err as Error).message }, 'spilled usage unreadable; kept aside');
        continue;
      }
      await this.store.add(rows);
      rmSync(file);
      this.logger.info({ file, rows: rows.length }, 'spilled usage written');
    }
  }

  /** Graceful stop: everything recorded so far is aggregated and written (or spilled). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.aggregation !== null) clearTimeout(this.aggregation);
    this.aggregation = null;
    await this.flushing;
    await this.flush();
    if (this.pending.size > 0) this.spill();
  }
}
