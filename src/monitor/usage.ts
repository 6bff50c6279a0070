import type { Clock } from '../clock.js';
import { parseDuration } from '../duration.js';
import { quotaWindow, type QuotaSchedule } from '../limits/quota-window.js';
import { invalidField } from '../errors/codes.js';
import type { CompiledPlan, PlanDirectory } from '../plans/directory.js';
import type { KeyRecord, KeyStore, QuotaSpec, UsageQuery, UsageStore } from '../store/interface.js';
import { BUCKETS, percentile, type UsageCounts, type UsageScope } from './events.js';

export type Granularity = UsageQuery['granularity'];
const SPAN: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const DEFAULT_RANGE: Record<Granularity, number> = { minute: 3_600_000, hour: 86_400_000, day: 30 * 86_400_000 };
export const MAX_POINTS = 10_000;

/** A bucket as the usage API shows it: counts, errors, and percentiles instead of the histogram. */
export interface UsagePoint extends Omit<UsageCounts, 'histogram'> {
  ts: string;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesRequest {
  keyId?: string | undefined;
  appId?: string | undefined;
  route?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  granularity?: Granularity | undefined;
}

function parseTime(field: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidField(field, `"${value}" is not an ISO 8601 time`);
  return ms;
}

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);
const DAY_MS = 86_400_000;
/** Longer than the longest quota window (a month of 31 days, and an hour of daylight saving time). */
const LONGEST_WINDOW_MS = 32 * DAY_MS;

/** A calendar date (`2026-11-01`) as its UTC midnight; a date that does not exist is refused. */
function parseDay(field: string, value: string, example: string): number {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms) || day(ms) !== value) throw invalidField(field, `must be a date ${example}`);
  return ms;
}

/** Usage series and reports over the stored aggregates (every node's traffic). */
export class UsageService {
  constructor(
    private readonly store: UsageStore,
    private readonly keys: KeyStore,
    private readonly plans: PlanDirectory,
    private readonly clock: Clock,
  ) {}

  /** One series (a key, an app, a route, or everything), zero-filled over [from, to). */
  async series(req: SeriesRequest) {
    const given = [req.keyId && 'keyId', req.appId && 'appId', req.route && 'route'].filter(Boolean);
    if (given.length > 1) throw invalidField(String(given[1]), 'give one of keyId, appId, route');
    const scope: UsageScope = req.keyId ? 'key' : req.appId ? 'app' : req.route ? 'route' : 'all';
    const id = req.keyId ?? req.appId ?? req.route ?? '*';
    const granularity = req.granularity ?? 'minute';
    const span = SPAN[granularity];
    const now = this.clock.now();
    const rawTo = parseTime('to', req.to, now);
    const rawFrom = parseTime('from', req.from, rawTo - DEFAULT_RANGE[granularity]);
    if (rawFrom >= rawTo) throw invalidField('from', 'must be before to');
    const from = rawFrom - (rawFrom % span);
    const to = rawTo % span === 0 ? rawTo : rawTo - (rawTo % span) + span;
    if ((to - from) / span > MAX_POINTS) throw invalidField('from', `at most ${MAX_POINTS} ${granularity}s per query; narrow the range or use a coarser granularity`);
    const rows = new Map((await this.store.query({ scope, id, from, to, granularity })).map((r) => [r.ts, r]));
    const items: UsagePoint[] = [];
    const empty = new Array<number>(BUCKETS).fill(0);
    for (let ts = from; ts < to; ts += span) {
      const r = rows.get(ts);
      const h = r?.histogram ?? empty;
      items.push({
        ts: iso(ts),
        requests: r?.requests ?? 0,
        admitted: r?.admitted ?? 0,
        errors: (r?.s4xx ?? 0) + (r?.s5xx ?? 0),
        s2xx: r?.s2xx ?? 0,
        s4xx: r?.s4xx ?? 0,
        s5xx: r?.s5xx ?? 0,
        throttled: r?.throttled ?? 0,
        quotaExceeded: r?.quotaExceeded ?? 0,
        authRefused: r?.authRefused ?? 0,
        bytesIn: r?.bytesIn ?? 0,
        bytesOut: r?.bytesOut ?? 0,
        p50: percentile(h, 0.5),
        p95: percentile(h, 0.95),
        p99: percentile(h, 0.99),
      });
    }
    return { granularity, scope, id, from: iso(from), to: iso(to), items };
  }

  /**
   * Per-key daily usage in the shape of AWS API Gateway's GetUsage: for each key, one
   * `[used, remaining]` pair per UTC day from startDate to endDate (inclusive). `used` counts
   * admitted calls. `remaining` is what the key's quota had left at the end of that day: its
   * limit less the calls admitted in the quota window so far (the window may have begun before
   * startDate). It is null for a key without a quota, and for a day its plan's windows do not
   * line up with (a window that begins at another hour than UTC midnight, e.g. in a time zone
   * other than UTC): daily counts cannot say how much of such a day fell in which window.
   */
  async daily(req: { startDate: string; endDate: string; keyId?: string | undefined; appId?: string | undefined }) {
    const start = parseDay('startDate', req.startDate, 'such as 2026-11-01');
    const end = parseDay('endDate', req.endDate, 'such as 2026-11-30');
    if (req.keyId && req.appId) throw invalidField('appId', 'give one of keyId, appId');
    if (end < start) throw invalidField('endDate', 'must not be before startDate');
    const days = (end - start) / DAY_MS + 1;
    if (days > 366) throw invalidField('endDate', 'at most 366 days per report');
    let keyIds: string[] | null = null;
    const listed = new Map<string, KeyRecord>(); // an app's keys, as its listing gave them
    if (req.keyId) keyIds = [req.keyId];
    else if (req.appId) {
      let cursor: string | undefined;
      do {
        const page = await this.keys.list({ appId: req.appId, limit: 1000, cursor, now: this.clock.now() });
        for (const k of page.items) listed.set(k.id, k);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      keyIds = [...listed.keys()];
    }
    // From the start of the longest window that can contain startDate.
    const rows = await this.store.dailyByKey({ from: start - LONGEST_WINDOW_MS, to: end + DAY_MS, keyIds });
    const admitted = new Map<string, Map<number, number>>();
    for (const r of rows) {
      let byDay = admitted.get(r.keyId);
      if (!byDay) admitted.set(r.keyId, (byDay = new Map()));
      byDay.set(r.day, r.admitted);
    }
    // Per plan, once: the start of the quota window each day ends in (null: not at a UTC midnight).
    const windowStarts = new Map<CompiledPlan, Array<number | null>>();
    const startsFor = (plan: CompiledPlan, quota: QuotaSpec) => {
      let starts = windowStarts.get(plan);
      if (!starts) {
        const schedule: QuotaSchedule = { period: quota.period, timezone: plan.plan.timezone, offsetMs: quota.offset ? (parseDuration(quota.offset) ?? 0) : 0 };
        starts = Array.from({ length: days }, (_, i) => {
          const w = quotaWindow(start + (i + 1) * DAY_MS - 1, schedule);
          return w.start % DAY_MS === 0 ? w.start : null;
        });
        windowStarts.set(plan, starts);
      }
      return starts;
    };
    const items: Record<string, Array<[number, number | null]>> = {};
    for (const id of keyIds ?? [...new Set(rows.filter((r) => r.day >= start).map((r) => r.keyId))]) {
      const record = listed.get(id) ?? (await this.keys.get(id));
      const plan = record ? this.plans.effective(record.planId) : null;
      const quota = plan?.plan.quota ?? null;
      const byDay = admitted.get(id);
      const usedOn = (d: number) => byDay?.get(d) ?? 0;
      const starts = plan && quota ? startsFor(plan, quota) : null;
      let windowStart: number | null = null;
      let inWindow = 0; // admitted in the current window up to the day
      items[id] = Array.from({ length: days }, (_, i): [number, number | null] => {
        const d = start + i * DAY_MS;
        const ws = starts?.[i] ?? null;
        if (ws === null) return [usedOn(d), null];
        if (ws !== windowStart) {
          // A new window (or the first day): its earlier days count too, even before startDate.
          windowStart = ws;
          inWindow = 0;
          for (let x = ws; x < d; x += DAY_MS) inWindow += usedOn(x);
        }
        inWindow += usedOn(d);
        return [usedOn(d), Math.max(0, quota!.limit - inWindow)];
      });
    }
    return { startDate: day(start), endDate: day(end), items };
  }
}
