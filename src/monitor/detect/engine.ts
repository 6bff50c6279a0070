import type { UsageEvent } from '../events.js';
import type { Locator } from './geo.js';
import type { DetectorSettings } from './settings.js';

export type AlertType = 'usage_spike' | 'new_location' | 'unusual_time' | 'error_burst' | 'key_sharing' | 'invalid_key_flood';
export const ALERT_TYPES: readonly AlertType[] = ['usage_spike', 'new_location', 'unusual_time', 'error_burst', 'key_sharing', 'invalid_key_flood'];
export type Severity = 'low' | 'medium' | 'high';

/** What a detector decided, at the time of the event that made it decide. */
export interface Detection {
  ts: number;
  keyId: string | null;
  appId: string | null;
  /** Set for `invalid_key_flood` (the guessing address). */
  ip: string | null;
  type: AlertType;
  severity: Severity;
  detail: Record<string, unknown>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** 1970-01-05 was a Monday: hour-of-week 0 is Monday 00:00 UTC. */
const MONDAY = 4 * DAY;
const MAX_STEPS = 20_000;
/** Bloom filter size per key and week: 8192 bits, about 1% false "known" at 850 clients. */
const BLOOM_BYTES = 1024;

/** Per-key memory of the detectors: fixed-size numbers and bounded sets. */
interface KeyState {
  first: number;
  events: number;
  appId: string | null;
  // minute accounting (usage_spike, error_burst)
  minute: number;
  count: number;
  errors: number;
  minutes: number;
  mean: number;
  variance: number;
  errRequests: number;
  errErrors: number;
  ring: Float64Array; // [requests, errors] of the last windowMinutes closed minutes
  ringAt: number;
  ringRequests: number;
  ringErrors: number;
  // hour accounting (key_sharing, unusual_time)
  hour: number;
  hourCount: number;
  clients: Set<string>;
  hours: number;
  shMean: number;
  shVariance: number;
  profile: Float64Array; // calls per hour of the week, decayed weekly
  weeks: number;
  week: number;
  daily: Float64Array; // calls per hour of the day, decayed daily
  days: number;
  dailyClients: Float64Array; // new clients per hour of the day, decayed daily
  newClients: number; // clients this hour that were not known before
  hourPeak: number; // the busiest closed minute of this hour
  dailyPeak: Float64Array; // busiest minute per hour of the day, a decaying maximum
  known: [Uint8Array, Uint8Array]; // Bloom filters of known clients: this week's and last week's
  // locations (new_location)
  locations: Map<string, number>;
}

interface FloodState {
  times: Float64Array;
  at: number;
  filled: number;
}

export interface EngineOptions {
  settings: DetectorSettings;
  /** Looks up client addresses whose events carry no country. */
  locator: Locator | null;
  /** Keys held in memory (least recently seen forgotten first). */
  maxKeys?: number;
}

/**
 * The six detectors over one stream of usage events, in time order and on event time only
 * (never the wall clock), each judging a key against its own history. The same engine runs
 * in the gateway (fed by recorded calls) and in `keygate monitor replay`.
 *
 * De-duplication: one open alert per key (or address) and type; while the condition keeps
 * triggering, it stays open; it closes after `calmMinutes` without a trigger.
 */
export class DetectionEngine {
  private readonly keys = new Map<string, KeyState>();
  private readonly floods = new Map<string, FloodState>();
  private readonly open = new Map<string, number>();
  /** Keys changed since the last `exportState`. */
  private readonly dirty = new Set<string>();
  private readonly s: DetectorSettings;
  private readonly maxKeys: number;
  private lastSweep = 0;

  constructor(private readonly options: EngineOptions) {
    this.s = options.settings;
    this.maxKeys = options.maxKeys ?? 200_000;
  }

  /** Feeds one event; returns the alerts it opened (usually none). */
  process(e: UsageEvent): Detection[] {
    const out: Detection[] = [];
    // Without an address (a verification that named none) only the key's own counts are judged.
    const addressed = e.ip !== '';
    if (e.keyId === null) {
      if (!addressed) return out;
      // Made-up keys, including those refused outright once the guessing guard blocked the address.
      if (e.code === 'invalid_api_key' || e.code === 'too_many_invalid_keys' || (e.code == null && e.status === 401)) this.flood(e, out);
      return out;
    }
    const k = this.state(e);
    this.dirty.add(e.keyId);
    this.advanceMinute(k, e.ts);
    this.advanceHour(k, e.ts);
    k.events++;
    k.count++;
    k.hourCount++;
    const error = e.status >= 400 && e.status !== 429;
    if (error) k.errors++;
    this.spike(k, e, out);
    if (error) this.errorBurst(k, e, out);
    if (addressed) this.sharing(k, e, out);
    this.time(k, e, out);
    if (addressed) this.location(k, e, out);
    if (e.ts - this.lastSweep > HOUR) this.sweep(e.ts);
    return out;
  }

  private state(e: UsageEvent): KeyState {
    const id = e.keyId!;
    let k = this.keys.get(id);
    if (k !== undefined) {
      if (e.appId !== null) k.appId = e.appId;
      return k;
    }
    if (this.keys.size >= this.maxKeys) this.keys.delete(this.keys.keys().next().value as string);
    const minute = e.ts - (e.ts % MINUTE);
    const hour = e.ts - (e.ts % HOUR);
    k = {
      first: e.ts,
      events: 0,
      appId: e.appId,
      minute,
      count: 0,
      errors: 0,
      minutes: 0,
      mean: 0,
      variance: 0,
      errRequests: 0,
      errErrors: 0,
      ring: new Float64Array(this.s.errors.windowMinutes * 2),
      ringAt: 0,
      ringRequests: 0,
      ringErrors: 0,
      hour,
      hourCount: 0,
      clients: new Set(),
      hours: 0,
      shMean: 0,
      shVariance: 0,
      profile: new Float64Array(168),
      weeks: 0,
      week: Math.floor((e.ts - MONDAY) / WEEK),
      daily: new Float64Array(24),
      days: 0,
      dailyClients: new Float64Array(24),
      newClients: 0,
      hourPeak: 0,
      dailyPeak: new Float64Array(24),
      known: [new Uint8Array(BLOOM_BYTES), new Uint8Array(BLOOM_BYTES)],
      locations: new Map(),
    };
    this.keys.set(id, k);
    return k;
  }

  // --- time accounting -------------------------------------------------------------------

  private advanceMinute(k: KeyState, ts: number): void {
    const minute = ts - (ts % MINUTE);
    if (minute <= k.minute) return;
    const a = this.s.spike.alpha;
    const b = this.s.errors.alpha;
    let steps = 0;
    while (k.minute < minute) {
      const x = k.count;
      // Exponentially weighted mean and variance of calls per minute.
      const d = x - k.mean;
      k.mean += a * d;
      k.variance = (1 - a) * (k.variance + a * d * d);
      if (x > 0) {
        // The usual error ratio, over minutes with calls only: a quiet weekend does not erase it.
        k.errRequests += b * (x - k.errRequests);
        k.errErrors += b * (k.errors - k.errErrors);
      }
      // The error window's ring of closed minutes.
      const slot = k.ringAt * 2;
      k.ringRequests += x - k.ring[slot]!;
      k.ringErrors += k.errors - k.ring[slot + 1]!;
      k.ring[slot] = x;
      k.ring[slot + 1] = k.errors;
      k.ringAt = (k.ringAt + 1) % (k.ring.length / 2);
      if (x > k.hourPeak) k.hourPeak = x;
      k.minutes++;
      k.count = 0;
      k.errors = 0;
      k.minute += MINUTE;
      if (++steps === MAX_STEPS && k.minute < minute) {
        // A long silence: the remaining empty minutes in closed form.
        const n = (minute - k.minute) / MINUTE;
        k.mean *= (1 - a) ** n;
        k.variance *= (1 - a) ** n;
        k.ring.fill(0);
        k.ringRequests = 0;
        k.ringErrors = 0;
        k.minutes += n;
        k.minute = minute;
      }
    }
  }

  private advanceHour(k: KeyState, ts: number): void {
    const hour = ts - (ts % HOUR);
    if (hour <= k.hour) return;
    const a = this.s.sharing.alpha;
    let steps = 0;
    while (k.hour < hour) {
      const distinct = k.newClients;
      const d = distinct - k.shMean;
      k.shMean += a * d;
      k.shVariance = (1 - a) * (k.shVariance + a * d * d);
      k.profile[hourOfWeek(k.hour)]! += k.hourCount;
      k.weeks += 1 / 168;
      const hod = (k.hour % DAY) / HOUR;
      k.daily[hod]! += k.hourCount;
      k.dailyPeak[hod] = Math.max(k.dailyPeak[hod]! * 0.9, k.hourPeak);
      k.hourPeak = 0;
      k.dailyClients[hod]! += distinct;
      k.days += 1 / 24;
      k.hours++;
      k.hourCount = 0;
      k.newClients = 0;
      k.clients.clear();
      k.hour += HOUR;
      if (k.hour % DAY === 0) {
        for (let i = 0; i < 24; i++) {
          k.daily[i]! *= 0.9;
          k.dailyClients[i]! *= 0.9;
        }
        k.days *= 0.9;
      }
      const week = Math.floor((k.hour - MONDAY) / WEEK);
      if (week !== k.week) {
        // Older weeks count less: the profile follows a key whose habits change.
        for (let i = 0; i < 168; i++) k.profile[i]! *= 0.8;
        k.weeks *= 0.8;
        k.week = week;
        // Clients unseen for two weeks become new again.
        k.known = [new Uint8Array(BLOOM_BYTES), k.known[0]];
      }
      if (++steps === MAX_STEPS && k.hour < hour) {
        const n = (hour - k.hour) / HOUR;
        k.shMean *= (1 - a) ** n;
        k.shVariance *= (1 - a) ** n;
        k.hours += n;
        k.weeks += n / 168;
        k.hour = hour;
        k.week = Math.floor((hour - MONDAY) / WEEK);
      }
    }
  }

  // --- detectors ---------------------------------------------------------------------------

  /**
   * The calls per minute a key usually makes now: the highest of its recent rate (EWMA), its
   * usual rate at this hour of the day and at this hour of the week (and the hours either
   * side), so recurring peaks such as a nightly batch job are not spikes.
   */
  private expectedPerMinute(k: KeyState, ts: number): number {
    let expected = k.mean;
    if (k.days > 0.5) {
      const h = (ts % DAY) / HOUR | 0;
      expected = Math.max(expected, Math.max(k.daily[(h + 23) % 24]!, k.daily[h]!, k.daily[(h + 1) % 24]!) / k.days / 60);
      // The busiest minute usually seen around this time: bursty hours (a batch job) are usual.
      expected = Math.max(expected, Math.max(k.dailyPeak[(h + 23) % 24]!, k.dailyPeak[h]!, k.dailyPeak[(h + 1) % 24]!) / 2);
    }
    if (k.weeks > 0.5) {
      const h = hourOfWeek(ts);
      expected = Math.max(expected, Math.max(k.profile[(h + 167) % 168]!, k.profile[h]!, k.profile[(h + 1) % 168]!) / k.weeks / 60);
    }
    return expected;
  }

  private spike(k: KeyState, e: UsageEvent, out: Detection[]): void {
    const s = this.s.spike;
    if (k.minutes < s.warmupMinutes || k.count < s.minCalls) return;
    const expected = this.expectedPerMinute(k, e.ts);
    const threshold = Math.max(s.minCalls, expected * s.factor, expected + s.sigmas * Math.sqrt(k.variance + expected));
    if (k.count < threshold) return;
    this.raise(out, e, k, 'usage_spike', k.count >= threshold * 3 ? 'high' : 'medium', {
      callsThisMinute: k.count,
      expectedPerMinute: round(expected),
      threshold: round(threshold),
    });
  }

  private errorBurst(k: KeyState, e: UsageEvent, out: Detection[]): void {
    const s = this.s.errors;
    if (k.minutes < s.warmupMinutes) return;
    const baseline = k.errRequests > 0 ? k.errErrors / k.errRequests : 0;
    const limit = Math.max(baseline * s.factor, baseline + s.margin);
    // The sliding window, or the current minute alone (a burst's first minute must not be
    // diluted by the healthy minutes before it).
    let errors = k.ringErrors + k.errors;
    let requests = k.ringRequests + k.count;
    if (errors < s.minErrors || errors / requests < limit) {
      errors = k.errors;
      requests = k.count;
      if (errors < s.minErrors || errors / requests < limit) return;
    }
    const ratio = errors / requests;
    this.raise(out, e, k, 'error_burst', ratio >= 0.8 ? 'high' : 'medium', {
      errorRatio: round(ratio),
      baselineErrorRatio: round(baseline),
      errors,
      requests,
      windowMinutes: s.windowMinutes,
    });
  }

  /**
   * Key sharing: many more *new* clients (addresses not seen for this key in the last one or
   * two weeks) within an hour than usual for the key at that time of day. A leaked key is used
   * from addresses it never saw; its own clients calling more often are a spike, not sharing.
   */
  private sharing(k: KeyState, e: UsageEvent, out: Detection[]): void {
    const s = this.s.sharing;
    if (k.clients.has(e.ip) || k.clients.size >= s.maxTracked) return;
    k.clients.add(e.ip);
    const h1 = fnv(e.ip);
    const h2 = (h1 >>> 16) | (h1 << 16) | 1;
    let known = true;
    for (let i = 0; i < 3; i++) {
      const bit = (h1 + i * h2) >>> 0;
      const byte = (bit >>> 3) % BLOOM_BYTES;
      const mask = 1 << (bit & 7);
      if ((k.known[0][byte]! & mask) === 0 && (k.known[1][byte]! & mask) === 0) known = false;
      k.known[0][byte]! |= mask;
    }
    if (known) return;
    k.newClients++;
    if (k.hours < s.warmupHours) return;
    let usual = k.shMean;
    if (k.days > 0.5) {
      const h = (e.ts % DAY) / HOUR | 0;
      usual = Math.max(usual, Math.max(k.dailyClients[(h + 23) % 24]!, k.dailyClients[h]!, k.dailyClients[(h + 1) % 24]!) / k.days);
    }
    const threshold = Math.max(s.minClients, usual * s.factor, usual + s.sigmas * Math.sqrt(usual));
    if (k.newClients < threshold) return;
    this.raise(out, e, k, 'key_sharing', k.newClients >= threshold * 3 ? 'high' : 'medium', {
      newClientsThisHour: k.newClients,
      usualNewClientsPerHour: round(usual),
      threshold: round(threshold),
    });
  }

  private time(k: KeyState, e: UsageEvent, out: Detection[]): void {
    const s = this.s.time;
    if (e.ts - k.first < s.warmupDays * DAY || k.weeks < 1) return;
    const weekly = sum(k.profile) / k.weeks;
    if (weekly < s.minWeeklyCalls || k.hourCount < s.minCalls) return;
    const h = hourOfWeek(e.ts);
    const usual = Math.max(k.profile[(h + 167) % 168]!, k.profile[h]!, k.profile[(h + 1) % 168]!) / k.weeks;
    if (usual >= s.silentBelow) return;
    this.raise(out, e, k, 'unusual_time', k.hourCount >= s.minCalls * 10 ? 'high' : 'medium', {
      hourOfWeekUtc: h,
      weekday: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][Math.floor(h / 24)],
      hourUtc: h % 24,
      callsThisHour: k.hourCount,
      usualCallsPerWeek: round(usual),
    });
  }

  /**
   * Notes a location of a key; true if it was not known. Locations are kept least recently seen
   * first, so the oldest go first when there are too many; a known one is moved to the end at
   * most once a minute (not on every call).
   */
  private seen(k: KeyState, loc: string, ts: number): boolean {
    const last = k.locations.get(loc);
    if (last !== undefined) {
      if (ts - last >= MINUTE) {
        k.locations.delete(loc);
        k.locations.set(loc, ts);
      }
      return false;
    }
    if (k.locations.size >= this.s.location.maxLocations) k.locations.delete(k.locations.keys().next().value as string);
    k.locations.set(loc, ts);
    return true;
  }

  private location(k: KeyState, e: UsageEvent, out: Detection[]): void {
    const s = this.s.location;
    let country = e.country ?? null;
    let asn: string | null = null;
    if (country === null) {
      const found = this.options.locator?.locate(e.ip);
      country = found?.country ?? null;
      asn = found?.asn ?? null;
    }
    if (country === null) return;
    const newCountry = this.seen(k, country, e.ts);
    const newAsn = asn !== null && this.seen(k, asn, e.ts);
    if (!newCountry && !newAsn) return;
    const warm = e.ts - k.first >= s.warmupDays * DAY && k.events > s.warmupCalls;
    if (!warm) return;
    const fresh = newCountry ? (newAsn ? [country, asn!] : [country]) : [asn!];
    this.raise(out, e, k, 'new_location', 'medium', { country, ...(asn ? { asn } : {}), new: fresh, ip: e.ip, knownLocations: k.locations.size - fresh.length });
  }

  private flood(e: UsageEvent, out: Detection[]): void {
    const s = this.s.flood;
    let f = this.floods.get(e.ip);
    if (f === undefined) {
      if (this.floods.size >= this.maxKeys) this.floods.delete(this.floods.keys().next().value as string);
      f = { times: new Float64Array(s.threshold), at: 0, filled: 0 };
      this.floods.set(e.ip, f);
    }
    // The ring holds the last `threshold` invalid attempts; after writing, the oldest is at `at`.
    f.times[f.at] = e.ts;
    f.at = (f.at + 1) % s.threshold;
    if (f.filled < s.threshold) f.filled++;
    const oldest = f.times[f.at]!;
    if (f.filled < s.threshold || e.ts - oldest > s.windowMinutes * MINUTE) return;
    const key = `invalid_key_flood\u0000${e.ip}`;
    if (this.isOpen(key, e.ts)) return;
    out.push({ ts: e.ts, keyId: null, appId: null, ip: e.ip, type: 'invalid_key_flood', severity: 'high', detail: { invalidKeys: s.threshold, withinSeconds: Math.round((e.ts - oldest) / 1000) } });
  }

  // --- alerts ------------------------------------------------------------------------------

  private raise(out: Detection[], e: UsageEvent, k: KeyState, type: AlertType, severity: Severity, detail: Record<string, unknown>): void {
    if (this.isOpen(`${type}\u0000${e.keyId}`, e.ts)) return;
    out.push({ ts: e.ts, keyId: e.keyId, appId: k.appId, ip: null, type, severity, detail });
  }

  /** True if an alert of this kind is open (and keeps it open); false opens one. */
  private isOpen(key: string, ts: number): boolean {
    const last = this.open.get(key);
    this.open.set(key, ts);
    return last !== undefined && ts - last < this.s.calmMinutes * MINUTE;
  }

  private sweep(ts: number): void {
    this.lastSweep = ts;
    const calm = this.s.calmMinutes * MINUTE;
    for (const [key, last] of this.open) if (ts - last >= calm) this.open.delete(key);
    const window = this.s.flood.windowMinutes * MINUTE;
    for (const [ip, f] of this.floods) {
      const newest = f.times[(f.at + f.times.length - 1) % f.times.length]!;
      if (ts - newest > window) this.floods.delete(ip);
    }
  }

  get trackedKeys(): number {
    return this.keys.size;
  }

  /**
   * The memory of keys that changed since the last call (and the open alerts), as JSON rows to
   * persist: a restarted gateway, or the next leader of a cluster, carries on from it instead of
   * warming up again.
   */
  exportState(): Array<{ entity: string; state: string }> {
    const rows: Array<{ entity: string; state: string }> = [];
    for (const id of this.dirty) {
      const k = this.keys.get(id);
      if (!k) continue;
      const { clients: _clients, ring, profile, daily, dailyClients, dailyPeak, known, locations, ...numbers } = k;
      rows.push({
        entity: `key:${id}`,
        state: JSON.stringify({
          ...numbers,
          ring: [...ring],
          profile: [...profile],
          daily: [...daily],
          dailyClients: [...dailyClients],
          dailyPeak: [...dailyPeak],
          known: known.map((b) => Buffer.from(b).toString('base64')),
          locations: [...locations],
        }),
      });
    }
    this.dirty.clear();
    rows.push({ entity: 'open-alerts', state: JSON.stringify([...this.open]) });
    return rows;
  }

  /** Restores what `exportState` produced. Unreadable rows are skipped (that key warms up again). */
  importState(rows: Array<{ entity: string; state: string }>): void {
    for (const row of rows) {
      try {
        const data = JSON.parse(row.state);
        if (row.entity === 'open-alerts') {
          for (const [key, ts] of data as Array<[string, number]>) this.open.set(key, ts);
          continue;
        }
        if (!row.entity.startsWith('key:')) continue;
        const ring = Float64Array.from(data.ring as number[]);
        if (ring.length !== this.s.errors.windowMinutes * 2) continue; // settings changed: start over
        this.keys.set(row.entity.slice(4), {
          ...data,
          ring,
          profile: Float64Array.from(data.profile),
          daily: Float64Array.from(data.daily),
          dailyClients: Float64Array.from(data.dailyClients),
          dailyPeak: Float64Array.from(data.dailyPeak),
          known: (data.known as string[]).map((b) => new Uint8Array(Buffer.from(b, 'base64'))) as [Uint8Array, Uint8Array],
          locations: new Map(data.locations as Array<[string, number]>),
          clients: new Set(),
        });
      } catch {
        // skip
      }
    }
  }
}

/** FNV-1a, 32 bits. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hourOfWeek(ts: number): number {
  return Math.floor(((ts - MONDAY) % WEEK) / HOUR);
}

function sum(a: Float64Array): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i]!;
  return total;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
