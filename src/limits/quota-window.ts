import { DateTime, IANAZone } from 'luxon';

/**
 * Calendar quota windows: a day (from 00:00), an ISO week (from Monday 00:00) or a month (from
 * the 1st 00:00), in UTC or an IANA time zone, shifted by an offset. Offsets are wall-clock:
 * `6h` makes days begin at 06:00 local time even on the days daylight saving time changes;
 * `14d` makes months begin on the 15th. Pure: callers supply the time.
 */

export type Period = 'day' | 'week' | 'month';
export const PERIODS: readonly Period[] = ['day', 'week', 'month'];

export interface QuotaSchedule {
  readonly period: Period;
  /** IANA zone name, e.g. `UTC` or `Europe/Berlin`. */
  readonly timezone: string;
  /** Wall-clock shift of the window start, in ms. */
  readonly offsetMs: number;
}

export interface QuotaWindow {
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive: the next window's start. */
  readonly end: number;
}

const DAY_MS = 86_400_000;
/** Largest offset per period: shorter than the shortest period (months: February). */
export const MAX_OFFSET_MS: Record<Period, number> = { day: DAY_MS - 1, week: 7 * DAY_MS - 1, month: 28 * DAY_MS - 1 };

export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

/** Why a schedule is invalid, or null. */
export function scheduleProblem(s: QuotaSchedule): string | null {
  if (!PERIODS.includes(s.period)) return `period must be one of ${PERIODS.join(', ')}`;
  if (!isTimeZone(s.timezone)) return `unknown time zone "${s.timezone}"`;
  if (!Number.isInteger(s.offsetMs) || s.offsetMs < 0) return 'offset must not be negative';
  if (s.offsetMs > MAX_OFFSET_MS[s.period]) return `offset must be shorter than ${s.period === 'month' ? '28 days' : `a ${s.period}`}`;
  return null;
}

function withOffset(periodStart: DateTime, offsetMs: number): DateTime {
  if (offsetMs === 0) return periodStart;
  const days = Math.floor(offsetMs / DAY_MS);
  let rest = offsetMs - days * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  // Calendar days first, then the time of day as wall-clock (not elapsed) time.
  return periodStart.plus({ days }).set({ hour, minute, second, millisecond: rest - second * 1000 });
}

/** The window containing `nowMs`. */
export function quotaWindow(nowMs: number, s: QuotaSchedule): QuotaWindow {
  const unit = s.period === 'day' ? 'days' : s.period === 'week' ? 'weeks' : 'months';
  let periodStart = DateTime.fromMillis(nowMs, { zone: s.timezone }).startOf(s.period);
  let start = withOffset(periodStart, s.offsetMs);
  if (start.toMillis() > nowMs) {
    periodStart = periodStart.minus({ [unit]: 1 }).startOf(s.period);
    start = withOffset(periodStart, s.offsetMs);
  }
  const end = withOffset(periodStart.plus({ [unit]: 1 }).startOf(s.period), s.offsetMs);
  return { start: start.toMillis(), end: end.toMillis() };
}

/**
 * Caches the current window of one schedule, so a request costs two comparisons instead of
 * calendar arithmetic; recomputed when the clock leaves it (either way).
 */
export class WindowCache {
  private current: QuotaWindow | null = null;

  constructor(readonly schedule: QuotaSchedule) {}

  at(nowMs: number): QuotaWindow {
    const w = this.current;
    if (w !== null && nowMs >= w.start && nowMs < w.end) return w;
    return (this.current = quotaWindow(nowMs, this.schedule));
  }
}
