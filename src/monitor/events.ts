/** One call through the gateway (or one verification), admitted or refused. */
export interface UsageEvent {
  /** Epoch ms the call arrived. */
  ts: number;
  keyId: string | null;
  appId: string | null;
  /** The route's configured path (not the request path: bounded cardinality). */
  route: string;
  method: string;
  status: number;
  latencyMs: number;
  ip: string;
  bytesIn: number;
  bytesOut: number;
  /** The refusal code, or null for a forwarded call. */
  code: string | null;
  /** Country of `ip`, when known (detectors fill it in, or replay input carries it). */
  country?: string | null;
}

/**
 * Upper bounds (ms) of the latency histogram buckets; the last bucket is open. Fixed bounds
 * make histograms mergeable by adding counts, across minutes and across nodes.
 */
export const LATENCY_BOUNDS: readonly number[] = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000];
export const BUCKETS = LATENCY_BOUNDS.length + 1;

/** The bucket of `value` among ascending inclusive upper `bounds`: the first bound at or above it, or the open last bucket. */
export function bucketOf(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function latencyBucket(ms: number): number {
  return bucketOf(LATENCY_BOUNDS, ms);
}

/** The latency below which `q` (0..1) of the counted calls fall, interpolated within its bucket; null without calls. */
export function percentile(histogram: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const count = histogram[i]!;
    if (count === 0) continue;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
      const upper = i < LATENCY_BOUNDS.length ? LATENCY_BOUNDS[i]! : lower * 2;
      return Math.round((lower + ((rank - seen) / count) * (upper - lower)) * 100) / 100;
    }
    seen += count;
  }
  return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1]!;
}

export type UsageScope = 'key' | 'app' | 'route' | 'all';

/** The counts of a usage bucket. */
export interface UsageCounts {
  requests: number;
  /** Forwarded to the upstream (counted against quotas), whatever the upstream answered. */
  admitted: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  throttled: number;
  quotaExceeded: number;
  /** Refused for the key itself: missing, invalid, revoked, expired, disabled, guessing. */
  authRefused: number;
  bytesIn: number;
  bytesOut: number;
  /** Latency histogram over BUCKETS. */
  histogram: number[];
}

/** Counts of one scope (a key, an app, a route, or everything) in one minute. Added, never set. */
export interface UsageDelta extends UsageCounts {
  scope: UsageScope;
  id: string;
  /** Minute start, epoch ms. */
  minute: number;
}

const AUTH_CODES = new Set(['missing_api_key', 'invalid_api_key', 'key_revoked', 'key_expired', 'key_disabled', 'too_many_invalid_keys']);

function emptyDelta(scope: UsageScope, id: string, minute: number): UsageDelta {
  return {
    scope,
    id,
    minute,
    requests: 0,
    admitted: 0,
    s2xx: 0,
    s4xx: 0,
    s5xx: 0,
    throttled: 0,
    quotaExceeded: 0,
    authRefused: 0,
    bytesIn: 0,
    bytesOut: 0,
    histogram: new Array<number>(BUCKETS).fill(0),
  };
}

interface MinuteDeltas {
  all: UsageDelta;
  route: Map<string, UsageDelta>;
  key: Map<string, UsageDelta>;
  app: Map<string, UsageDelta>;
}

/**
 * Folds events into per-minute deltas per key, app, route and overall. Nested maps keyed by
 * the ids themselves: folding an event allocates nothing but new deltas.
 */
export class Aggregator {
  private minutes = new Map<number, MinuteDeltas>();
  private last: { minute: number; deltas: MinuteDeltas } | null = null;

  add(e: UsageEvent): void {
    const minute = e.ts - (e.ts % 60_000);
    let m: MinuteDeltas;
    if (this.last !== null && this.last.minute === minute) m = this.last.deltas;
    else {
      let found = this.minutes.get(minute);
      if (found === undefined) {
        found = { all: emptyDelta('all', '*', minute), route: new Map(), key: new Map(), app: new Map() };
        this.minutes.set(minute, found);
      }
      m = found;
      this.last = { minute, deltas: m };
    }
    count(m.all, e);
    count(within(m.route, 'route', e.route, minute), e);
    if (e.keyId !== null) count(within(m.key, 'key', e.keyId, minute), e);
    if (e.appId !== null) count(within(m.app, 'app', e.appId, minute), e);
  }

  get size(): number {
    let n = 0;
    for (const m of this.minutes.values()) n += 1 + m.route.size + m.key.size + m.app.size;
    return n;
  }

  /** The deltas so far; the aggregator starts empty again. */
  take(): UsageDelta[] {
    const out: UsageDelta[] = [];
    for (const m of this.minutes.values()) out.push(m.all, ...m.route.values(), ...m.key.values(), ...m.app.values());
    this.minutes = new Map();
    this.last = null;
    return out;
  }
}

function within(map: Map<string, UsageDelta>, scope: UsageScope, id: string, minute: number): UsageDelta {
  let d = map.get(id);
  if (d === undefined) {
    d = emptyDelta(scope, id, minute);
    map.set(id, d);
  }
  return d;
}

function count(d: UsageDelta, e: UsageEvent): void {
  d.requests++;
  // Forwarded calls count as admitted even when the upstream then failed: they used quota.
  if (e.code === null || e.code === 'upstream_error' || e.code === 'upstream_timeout') d.admitted++;
  if (e.status >= 500) d.s5xx++;
  else if (e.status >= 400) d.s4xx++;
  else if (e.status >= 200 && e.status < 300) d.s2xx++;
  if (e.code === 'rate_limited') d.throttled++;
  else if (e.code === 'quota_exceeded') d.quotaExceeded++;
  else if (e.code !== null && AUTH_CODES.has(e.code)) d.authRefused++;
  d.bytesIn += e.bytesIn;
  d.bytesOut += e.bytesOut;
  d.histogram[latencyBucket(e.latencyMs)]!++;
}

/** Adds `b` into `a` (same scope, id and minute). */
export function mergeDelta(a: UsageDelta, b: UsageDelta): void {
  a.requests += b.requests;
  a.admitted += b.admitted;
  a.s2xx += b.s2xx;
  a.s4xx += b.s4xx;
  a.s5xx += b.s5xx;
  a.throttled += b.throttled;
  a.quotaExceeded += b.quotaExceeded;
  a.authRefused += b.authRefused;
  a.bytesIn += b.bytesIn;
  a.bytesOut += b.bytesOut;
  for (let i = 0; i < BUCKETS; i++) a.histogram[i]! += b.histogram[i]!;
}
