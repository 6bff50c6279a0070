import type { UsageEvent } from '../../src/monitor/events.js';
import type { AlertType } from '../../src/monitor/detect/engine.js';

/**
 * A labelled scenario generator for the detectors: synthetic keys with realistic daily and
 * weekly cycles, home countries, client populations and normal error ratios, with injected
 * anomalies of every type. Seeded: the same seed gives the same events.
 *
 * Addresses are real ones of known countries (each /16 below maps wholly to its country in the
 * CC0 database Keygate ships), so locations come from the real database lookup.
 */

export const COUNTRY_PREFIXES: Record<string, string[]> = {
  DE: ['5.9', '46.4', '88.198'],
  GB: ['86.128', '109.144'],
  BR: ['200.160', '189.0'],
  ZA: ['41.0', '105.224', '196.21'],
  AU: ['101.160', '110.140'],
  US: ['8.8', '24.0'],
  FR: ['90.0', '78.192', '82.64'],
  JP: ['126.0', '133.0', '153.128'],
  IN: ['117.192', '49.32', '122.160'],
  NL: ['145.100', '84.80', '62.250'],
  CA: ['142.112', '99.224'],
  SE: ['78.64', '83.248', '90.224'],
  IT: ['79.0', '93.32'],
  ES: ['83.32', '88.0', '95.16'],
  PL: ['83.0', '89.64', '178.36'],
  MX: ['187.128', '189.128', '201.128'],
  KR: ['121.128', '211.32', '175.192'],
  SG: ['203.116', '42.60'],
};
const COUNTRIES = Object.keys(COUNTRY_PREFIXES);

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(random: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(random)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function address(random: () => number, country: string): string {
  return `${pick(random, COUNTRY_PREFIXES[country]!)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
}

type Kind = 'business' | 'always' | 'batch';

export interface SyntheticKey {
  id: string;
  appId: string;
  kind: Kind;
  /** Hours to add to UTC for the key's local time. */
  tz: number;
  /** Calls per minute at the busiest time of day. */
  peak: number;
  countries: string[];
  clients: string[];
  errorRatio: number;
}

export interface Anomaly {
  type: AlertType;
  keyId: string | null;
  ip: string | null;
  start: number;
  end: number;
}

export interface ScenarioOptions {
  seed: number;
  keys: number;
  days: number;
  /** Share of keys that receive anomalies; the rest are clean. */
  anomalousShare: number;
  /** Anomalies are injected from this day on (after the detectors' warm-up). */
  anomaliesFrom: number;
  start: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Expected calls per minute of a key at time `ts` (its daily and weekly cycle). */
function rateAt(k: SyntheticKey, ts: number): number {
  const local = ts + k.tz * HOUR;
  const hour = (local % DAY) / HOUR;
  const weekday = (Math.floor(local / DAY) + 3) % 7; // 0 = Monday (1970-01-01 was a Thursday)
  switch (k.kind) {
    case 'business': {
      if (weekday >= 5) return 0;
      if (hour < 8 || hour >= 19) return 0;
      // Ramps up in the morning, a lunch dip, down in the evening.
      const shape = Math.sin(((hour - 8) / 11) * Math.PI);
      return k.peak * (0.25 + 0.75 * shape) * (hour >= 12 && hour < 13 ? 0.6 : 1);
    }
    case 'always': {
      const daily = 0.55 + 0.45 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
      return k.peak * daily * (weekday >= 5 ? 0.6 : 1);
    }
    case 'batch':
      // A nightly job from 02:00 to 02:30, and light use in the day.
      if (hour >= 2 && hour < 2.5) return k.peak;
      return hour >= 9 && hour < 17 && weekday < 5 ? k.peak * 0.05 : 0;
  }
}

export function makeKeys(random: () => number, count: number): SyntheticKey[] {
  const keys: SyntheticKey[] = [];
  for (let i = 0; i < count; i++) {
    const kind: Kind = i % 5 === 4 ? 'batch' : i % 5 >= 2 ? 'always' : 'business';
    const endUserApp = random() < 0.3;
    const home = pick(random, COUNTRIES);
    const countries = random() < 0.3 ? [home, pick(random, COUNTRIES.filter((c) => c !== home))] : [home];
    const clients: string[] = [];
    const used = new Set<string>();
    for (let c = 0; c < (endUserApp ? 40 + Math.floor(random() * 200) : 1 + Math.floor(random() * 5)); c++) {
      const country = c < countries.length ? countries[c]! : pick(random, countries);
      used.add(country);
      clients.push(address(random, country));
    }
    keys.push({
      id: `key_s${String(i).padStart(4, '0')}`,
      appId: `app_s${String(i % 7)}`,
      kind,
      tz: pick(random, [-5, 0, 1, 2, 5.5, 9]),
      peak: kind === 'batch' ? 20 + random() * 40 : Math.exp(Math.log(1) + random() * Math.log(25)),
      countries: [...used],
      clients,
      errorRatio: 0.005 + random() * 0.045,
    });
  }
  return keys;
}

/** Picks anomalies for the anomalous keys: one or two of the five key types, each at a time it makes sense. */
function planAnomalies(random: () => number, keys: SyntheticKey[], o: ScenarioOptions): Anomaly[] {
  const out: Anomaly[] = [];
  const from = o.start + o.anomaliesFrom * DAY;
  const span = (o.days - o.anomaliesFrom - 1) * DAY;
  const at = (condition: (ts: number) => boolean) => {
    for (let tries = 0; tries < 10_000; tries++) {
      const ts = from + Math.floor((random() * span) / MINUTE) * MINUTE;
      if (condition(ts)) return ts;
    }
    return null;
  };
  const anomalous = keys.filter((_, i) => i < Math.round(keys.length * o.anomalousShare));
  anomalous.forEach((k, i) => {
    const types: AlertType[] = ['usage_spike', 'error_burst', 'new_location', 'key_sharing', 'unusual_time'];
    const first = types[i % types.length]!;
    const chosen = [first, ...(random() < 0.4 ? [pick(random, types.filter((t) => t !== first))] : [])];
    let last = 0;
    for (const type of chosen) {
      const busy = (ts: number) => {
        for (let t = ts; t <= ts + 45 * MINUTE; t += 5 * MINUTE) if (rateAt(k, t) < 3) return false;
        return ts > last + DAY;
      };
      // Spikes, new locations and sharing happen while the key is in use (at a silent hour they
      // would also be unusual times, which would blur the labels).
      const active = (ts: number) => rateAt(k, ts) >= 0.5 && ts > last + DAY;
      const quiet = (ts: number) => {
        for (let t = ts - 3 * HOUR; t <= ts + 4 * HOUR; t += 15 * MINUTE) if (rateAt(k, t) > 0) return false;
        return ts > last + DAY;
      };
      let start: number | null = null;
      let length = 0;
      if (type === 'usage_spike') {
        start = at(active);
        length = (10 + Math.floor(random() * 20)) * MINUTE;
      } else if (type === 'error_burst') {
        start = at(busy);
        length = (15 + Math.floor(random() * 30)) * MINUTE; // within the 45 busy minutes
      } else if (type === 'unusual_time') {
        if (k.kind === 'always') continue; // such a key has no silent hours
        start = at(quiet);
        length = (40 + Math.floor(random() * 60)) * MINUTE;
      } else if (type === 'new_location') {
        start = at(active);
        length = (20 + Math.floor(random() * 40)) * MINUTE;
      } else {
        start = at(active);
        length = (60 + Math.floor(random() * 120)) * MINUTE;
      }
      if (start === null) continue;
      out.push({ type, keyId: k.id, ip: null, start, end: start + length });
      last = start + length;
    }
  });
  // Guessing: a few scanners, each presenting hundreds of made-up keys.
  for (let i = 0; i < Math.max(2, Math.round(keys.length / 8)); i++) {
    const start = from + Math.floor((random() * span) / MINUTE) * MINUTE;
    out.push({ type: 'invalid_key_flood', keyId: null, ip: address(random, pick(random, COUNTRIES)), start, end: start + (5 + Math.floor(random() * 15)) * MINUTE });
  }
  return out;
}

export interface Scenario {
  keys: SyntheticKey[];
  anomalies: Anomaly[];
  /** Events in time order, generated a day at a time. */
  events(): Generator<UsageEvent>;
}

export function scenario(o: ScenarioOptions): Scenario {
  const random = rng(o.seed);
  const keys = makeKeys(random, o.keys);
  const anomalies = planAnomalies(random, keys, o);
  const byKey = new Map<string, Anomaly[]>();
  for (const a of anomalies) if (a.keyId) byKey.set(a.keyId, [...(byKey.get(a.keyId) ?? []), a]);

  function* events(): Generator<UsageEvent> {
    const r = rng(o.seed ^ 0x5eed);
    for (let day = 0; day < o.days; day++) {
      const batch: UsageEvent[] = [];
      const dayStart = o.start + day * DAY;
      for (const k of keys) {
        const own = byKey.get(k.id) ?? [];
        const strangers = new Map<Anomaly, string[]>();
        // Clean traffic is not clockwork: volume varies from day to day, some days have a
        // legitimate surge (a campaign, a report run) well below a spike, and apps with many
        // users gain a few new ones every day.
        const volume = Math.exp(0.25 * gaussian(r));
        const surgeAt = r() < 0.05 ? dayStart + Math.floor(r() * 22) * HOUR : -1;
        const surgeEnd = surgeAt + (1 + Math.floor(r() * 2)) * HOUR;
        const surge = 1.5 + r();
        if (k.clients.length > 20) for (let i = poisson(r, k.clients.length * 0.02); i > 0; i--) k.clients.push(address(r, pick(r, k.countries)));
        for (let m = 0; m < 1440; m++) {
          const minute = dayStart + m * MINUTE;
          const active = own.find((a) => minute >= a.start && minute < a.end);
          let rate = rateAt(k, minute) * volume * (minute >= surgeAt && minute < surgeEnd ? surge : 1);
          let errorRatio = k.errorRatio;
          let clients = k.clients;
          if (active?.type === 'usage_spike') rate = Math.max(60, rate * (10 + r() * 30));
          if (active?.type === 'error_burst') errorRatio = 0.6 + r() * 0.35;
          if (active?.type === 'unusual_time') rate = 1.5 + r() * 2;
          const n = poisson(r, rate);
          for (let i = 0; i < n; i++) {
            const error = r() < errorRatio;
            batch.push(event(k, minute + Math.floor(r() * MINUTE), pick(r, clients), error ? pick(r, [400, 401, 403, 404, 500, 502]) : 200, r));
          }
          if (active?.type === 'new_location' && r() < 0.5) {
            const elsewhere = COUNTRIES.filter((c) => !k.countries.includes(c));
            const ip = strangers.get(active)?.[0] ?? address(r, pick(r, elsewhere));
            strangers.set(active, [ip]);
            for (let i = 0; i < 1 + Math.floor(r() * 3); i++) batch.push(event(k, minute + Math.floor(r() * MINUTE), ip, 200, r));
          }
          if (active?.type === 'key_sharing') {
            // The key leaked: many new clients in the home countries, a few calls each.
            let pool = strangers.get(active);
            if (!pool) {
              pool = Array.from({ length: 80 + Math.floor(r() * 300) }, () => address(r, pick(r, k.countries)));
              strangers.set(active, pool);
            }
            const extra = poisson(r, Math.max(3, pool.length / 40));
            for (let i = 0; i < extra; i++) batch.push(event(k, minute + Math.floor(r() * MINUTE), pick(r, pool), 200, r));
          }
        }
        // Everyday noise: now and then a mistyped key from one of the key's own clients.
        const typos = poisson(r, 0.5);
        for (let i = 0; i < typos; i++) batch.push(invalid(dayStart + Math.floor(r() * DAY), pick(r, k.clients)));
      }
      for (const a of anomalies) {
        if (a.type !== 'invalid_key_flood' || a.start < dayStart || a.start >= dayStart + DAY) continue;
        const n = 100 + Math.floor(r() * 600);
        for (let i = 0; i < n; i++) batch.push(invalid(a.start + Math.floor(r() * (a.end - a.start)), a.ip!));
      }
      batch.sort((a, b) => a.ts - b.ts);
      yield* batch;
    }
  }

  return { keys, anomalies, events };
}

function event(k: SyntheticKey, ts: number, ip: string, status: number, r: () => number): UsageEvent {
  return { ts, keyId: k.id, appId: k.appId, route: '/api', method: 'GET', status, latencyMs: 5 + r() * 40, ip, bytesIn: 0, bytesOut: 500, code: null };
}

function invalid(ts: number, ip: string): UsageEvent {
  return { ts, keyId: null, appId: null, route: '/api', method: 'GET', status: 401, latencyMs: 1, ip, bytesIn: 0, bytesOut: 0, code: null };
}

export interface Detected {
  ts: number;
  keyId: string | null;
  ip: string | null;
  type: AlertType;
}

export interface QualityRow {
  type: AlertType;
  injected: number;
  detected: number;
  alerts: number;
  truePositives: number;
  recall: number;
  precision: number;
}

/**
 * Scores alerts against the labels: an injected anomaly is detected if an alert of its type for
 * its key (or address) falls between its start and 30 minutes after its end; an alert is a true
 * positive if it matches an injected anomaly that way.
 */
export function score(anomalies: Anomaly[], alerts: Detected[], keyMonths: number) {
  const slack = 30 * MINUTE;
  const matches = (a: Anomaly, d: Detected) => a.type === d.type && (a.keyId ? a.keyId === d.keyId : a.ip === d.ip) && d.ts >= a.start && d.ts <= a.end + slack;
  const rows: QualityRow[] = [];
  for (const type of ['usage_spike', 'new_location', 'unusual_time', 'error_burst', 'key_sharing', 'invalid_key_flood'] as AlertType[]) {
    const injected = anomalies.filter((a) => a.type === type);
    const raised = alerts.filter((d) => d.type === type);
    const detected = injected.filter((a) => raised.some((d) => matches(a, d))).length;
    const truePositives = raised.filter((d) => injected.some((a) => matches(a, d))).length;
    rows.push({
      type,
      injected: injected.length,
      detected,
      alerts: raised.length,
      truePositives,
      recall: injected.length ? detected / injected.length : 1,
      precision: raised.length ? truePositives / raised.length : 1,
    });
  }
  const falseAlerts = alerts.filter((d) => !anomalies.some((a) => matches(a, d))).length;
  return { rows, falseAlerts, falseAlertsPerKeyMonth: falseAlerts / keyMonths };
}

export function formatQuality(q: ReturnType<typeof score>): string {
  const lines = ['type               injected  detected  recall  alerts  precision'];
  for (const r of q.rows) {
    lines.push(
      `${r.type.padEnd(18)} ${String(r.injected).padStart(8)}  ${String(r.detected).padStart(8)}  ${r.recall.toFixed(2).padStart(6)}  ${String(r.alerts).padStart(6)}  ${r.precision.toFixed(2).padStart(9)}`,
    );
  }
  lines.push(`false alerts: ${q.falseAlerts} (${q.falseAlertsPerKeyMonth.toFixed(3)} per key-month)`);
  return lines.join('\n');
}
