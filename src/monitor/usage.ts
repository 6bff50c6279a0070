import type { Clock } from '../clock.js';
import { invalidField } from '../errors/codes.js';
import type { PlanDirectory } from '../plans/directory.js';
import type { KeyStore, UsageQuery, UsageStore } from '../store/interface.js';
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
   * admitted calls; `remaining` is left of a daily quota, null for keys without one.
   */
  async daily(req: { startDate: string; endDate: string; keyId?: string | undefined; appId?: string | undefined }) {
    const start = Date.parse(`${req.startDate}T00:00:00Z`);
    const end = Date.parse(`${req.endDate}T00:00:00Z`);
    if (Number.isNaN(start)) throw invalidField('startDate', 'must be a date such as 2026-11-01');
    if (Number.isNaN(end)) throw invalidField('endDate', 'must be a date such as 2026-11-30');
    if (end < start) throw invalidField('endDate', 'must not be before startDate');
    const days = (end - start) / 86_400_000 + 1;
    if (days > 366) throw invalidField('endDate', 'at most 366 days per report');
    let keyIds: string[] | null = null;
    if (req.keyId) keyIds = [req.keyId];
    else if (req.appId) {
      keyIds = [];
      let cursor: string | undefined;
      do {
        const page = await this.keys.list({ appId: req.appId, limit: 1000, cursor, now: this.clock.now() });
        keyIds.push(...page.items.map((k) => k.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    const rows = await this.store.dailyByKey({ from: start, to: end + 86_400_000, keyIds });
    const items: Record<string, Array<[number, number | null]>> = {};
    const dailyLimit = new Map<string, number | null>();
    for (const id of keyIds ?? [...new Set(rows.map((r) => r.keyId))]) {
      const record = await this.keys.get(id);
      const plan = record ? this.plans.effective(record.planId) : null;
      dailyLimit.set(id, plan?.plan.quota?.period === 'day' ? plan.plan.quota.limit : null);
      items[id] = Array.from({ length: days }, () => [0, dailyLimit.get(id) ?? null] as [number, number | null]);
    }
    for (const r of rows) {
      const slot = items[r.keyId]?.[(r.day - start) / 86_400_000];
      if (!slot) continue;
      slot[0] = r.admitted;
      const limit = dailyLimit.get(r.keyId);
      slot[1] = limit == null ? null : Math.max(0, limit - r.admitted);
    }
    return { startDate: day(start), endDate: day(end), items };
  }
}
