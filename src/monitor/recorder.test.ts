import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.js';
import { createLogger } from '../log.js';
import type { UsageStore } from '../store/interface.js';
import { openSqliteStores } from '../store/sqlite/open.js';
import type { UsageEvent } from './events.js';
import { Metrics } from './metrics.js';
import { UsageRecorder } from './recorder.js';
import { eventually } from '../../test/support/eventually.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');

function event(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return { ts: T0 + i, keyId: 'key_a', appId: 'app_a', route: '/demo', method: 'GET', status: 200, latencyMs: 3, ip: '192.0.2.1', bytesIn: 0, bytesOut: 100, code: null, ...over };
}

/** The real SQLite usage store, with a switch that makes it fail like an unreachable database. */
class Switchable implements UsageStore {
  down = false;
  /** Every write the recorder made, to await. */
  readonly writes: Promise<void>[] = [];
  constructor(private readonly inner: UsageStore) {}
  add: UsageStore['add'] = (d) => {
    const write = this.down ? Promise.reject(new Error('connection refused')) : this.inner.add(d);
    this.writes.push(write.catch(() => {}));
    return write;
  };
  query: UsageStore['query'] = (q) => this.inner.query(q);
  dailyByKey: UsageStore['dailyByKey'] = (q) => this.inner.dailyByKey(q);
  prune: UsageStore['prune'] = (b) => this.inner.prune(b);
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function setup(capacity = 1000, maxPendingRows = 1000, aggregateMs = 60_000, metricsPerKey = false) {
  const dir = mkdtempSync(join(tmpdir(), 'kg-rec-'));
  const { stores } = await openSqliteStores(join(dir, 'db.sqlite'));
  closers.push(() => stores.close());
  const store = new Switchable(stores.usage);
  const metrics = new Metrics({ defaults: false });
  const options = { capacity, aggregateMs, flushMs: 60_000, maxPendingRows, spillDir: join(dir, 'spill'), logSample: 0, metricsPerKey };
  const recorder = new UsageRecorder(store, options, metrics, createLogger('silent'), new ManualClock(T0));
  const total = async () => (await stores.usage.query({ scope: 'all', id: '*', from: T0 - 60_000, to: T0 + 3_600_000, granularity: 'minute' })).reduce((a, r) => a + r.requests, 0);
  return { recorder, store, metrics, total, dir, options };
}

describe('usage recorder', () => {
  it('hands events to its listeners within the aggregation interval, again after an idle spell', async () => {
    const { recorder } = await setup(1000, 1000, 20);
    const seen: number[] = [];
    recorder.onEvents((events) => seen.push(...events.map((e) => e.ts - T0)));
    recorder.start();
    closers.push(() => recorder.close());
    recorder.record(event(1));
    expect(await eventually(async () => seen.join(), (v) => v === '1', 3000, 10)).toBe('1');
    // Idle for several intervals (the timer is not re-armed while nothing comes), then more calls.
    await new Promise((r) => setTimeout(r, 150));
    recorder.record(event(2));
    recorder.record(event(3));
    // Well before the 60 s flush, which would also drain the buffer.
    expect(await eventually(async () => seen.join(), (v) => v === '1,2,3', 3000, 10)).toBe('1,2,3');
  });

  it('shows its buffer depth as a gauge, and labels calls with key ids only when asked', async () => {
    const metric = (m: Metrics, name: string) => m.registry.getSingleMetricAsString(name);
    for (const perKey of [false, true]) {
      const { recorder, metrics } = await setup(1000, 1000, 60_000, perKey);
      recorder.start();
      closers.push(() => recorder.close());
      for (let i = 0; i < 7; i++) recorder.record(event(i, i === 6 ? { status: 503 } : {}));
      expect(await metric(metrics, 'keygate_usage_buffer_depth')).toMatch(/keygate_usage_buffer_depth 7$/);
      recorder.drain();
      expect(await metric(metrics, 'keygate_usage_buffer_depth')).toMatch(/keygate_usage_buffer_depth 0$/);
      const perKeyText = await metric(metrics, 'keygate_key_requests_total');
      if (perKey) {
        expect(perKeyText).toMatch(/keygate_key_requests_total\{key_id="key_a",status_class="2xx"\} 6/);
        expect(perKeyText).toMatch(/keygate_key_requests_total\{key_id="key_a",status_class="5xx"\} 1/);
      } else {
        expect(perKeyText).not.toMatch(/key_a/);
      }
    }
  });

  it('writes nothing per call, and everything recorded within one flush interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const { recorder, store, total, options } = await setup(1000, 1000, 1000);
      options.flushMs = 5000;
      recorder.start();
      for (let i = 0; i < 40; i++) recorder.record(event(i));
      await vi.advanceTimersByTimeAsync(2500);
      for (let i = 40; i < 57; i++) recorder.record(event(i));
      // Two aggregation passes, no flush yet: nothing written.
      await vi.advanceTimersByTimeAsync(2499);
      expect(store.writes).toHaveLength(0);
      // The flush, one interval after start: one write with every call so far.
      await vi.advanceTimersByTimeAsync(1);
      expect(store.writes).toHaveLength(1);
      await Promise.all(store.writes);
      expect(await total()).toBe(57);
      // Calls just before the next flush are in it.
      for (let i = 57; i < 60; i++) recorder.record(event(i));
      await vi.advanceTimersByTimeAsync(5000);
      expect(store.writes).toHaveLength(2);
      await Promise.all(store.writes);
      expect(await total()).toBe(60);
      await recorder.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops events beyond the buffer, counts them, and never blocks', async () => {
    const { recorder, metrics, total } = await setup(100);
    for (let i = 0; i < 130; i++) recorder.record(event(i));
    expect(recorder.dropped).toBe(30);
    expect(await metrics.registry.getSingleMetricAsString('keygate_usage_events_dropped_total')).toMatch(/ 30$/);
    await recorder.flush();
    expect(await total()).toBe(100);
  });

  it('keeps rows while the database is down, spills them to disk past the bound, and writes them later', async () => {
    const { recorder, store, total, dir } = await setup(10_000, 3);
    store.down = true;
    for (let i = 0; i < 50; i++) recorder.record(event(i));
    await recorder.flush(); // kept in memory: 4 rows (all, route, key, app) > 3: spilled
    expect(readdirSync(join(dir, 'spill'))).toHaveLength(1);
    for (let i = 0; i < 20; i++) recorder.record(event(100 + i, { keyId: null, appId: null, status: 401, code: 'invalid_api_key' }));
    await recorder.flush(); // 2 rows kept in memory
    expect(await total()).toBe(0);
    store.down = false;
    await recorder.flush();
    expect(await total()).toBe(70);
    expect(readdirSync(join(dir, 'spill'))).toHaveLength(0);
  });

  it('writes everything on close, spilling if the database is down', async () => {
    const first = await setup();
    for (let i = 0; i < 7; i++) first.recorder.record(event(i));
    await first.recorder.close();
    expect(await first.total()).toBe(7);
    const second = await setup();
    second.store.down = true;
    second.recorder.record(event(1));
    await second.recorder.close();
    expect(readdirSync(join(second.dir, 'spill'))).toHaveLength(1);
  });

  it('hands every event to listeners, in order', async () => {
    const { recorder } = await setup();
    const seen: number[] = [];
    recorder.onEvents((events) => seen.push(...events.map((e) => e.ts - T0)));
    for (let i = 0; i < 5; i++) recorder.record(event(i));
    recorder.drain();
    recorder.record(event(5));
    recorder.drain();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
