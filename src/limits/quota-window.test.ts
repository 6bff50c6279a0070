import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { MAX_OFFSET_MS, quotaWindow, scheduleProblem, WindowCache, type Period } from './quota-window.js';

const H = 3_600_000;
const D = 24 * H;
const utc = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

describe('quota windows', () => {
  it('aligns days, ISO weeks and months in UTC', () => {
    const now = utc('2026-11-27T10:00:00Z'); // a Friday
    expect(quotaWindow(now, { period: 'day', timezone: 'UTC', offsetMs: 0 })).toEqual({ start: utc('2026-11-27T00:00:00Z'), end: utc('2026-11-28T00:00:00Z') });
    expect(quotaWindow(now, { period: 'week', timezone: 'UTC', offsetMs: 0 })).toEqual({ start: utc('2026-11-23T00:00:00Z'), end: utc('2026-11-30T00:00:00Z') });
    expect(quotaWindow(now, { period: 'month', timezone: 'UTC', offsetMs: 0 })).toEqual({ start: utc('2026-11-01T00:00:00Z'), end: utc('2026-12-01T00:00:00Z') });
  });

  it('shifts by a wall-clock offset: days from 06:00, months from the 15th', () => {
    expect(quotaWindow(utc('2026-11-27T05:59:59Z'), { period: 'day', timezone: 'UTC', offsetMs: 6 * H })).toEqual({
      start: utc('2026-11-26T06:00:00Z'),
      end: utc('2026-11-27T06:00:00Z'),
    });
    expect(quotaWindow(utc('2026-11-27T06:00:00Z'), { period: 'day', timezone: 'UTC', offsetMs: 6 * H }).start).toBe(utc('2026-11-27T06:00:00Z'));
    expect(quotaWindow(utc('2026-03-10T00:00:00Z'), { period: 'month', timezone: 'UTC', offsetMs: 14 * D })).toEqual({
      start: utc('2026-02-15T00:00:00Z'),
      end: utc('2026-03-15T00:00:00Z'),
    });
  });

  it('handles month ends and leap years', () => {
    expect(quotaWindow(utc('2028-02-29T23:59:59.999Z'), { period: 'month', timezone: 'UTC', offsetMs: 0 })).toEqual({
      start: utc('2028-02-01T00:00:00Z'),
      end: utc('2028-03-01T00:00:00Z'),
    });
    expect(quotaWindow(utc('2028-02-29T12:00:00Z'), { period: 'day', timezone: 'UTC', offsetMs: 0 }).end).toBe(utc('2028-03-01T00:00:00Z'));
    expect(quotaWindow(utc('2026-12-31T23:00:00Z'), { period: 'week', timezone: 'UTC', offsetMs: 0 })).toEqual({
      start: utc('2026-12-28T00:00:00Z'),
      end: utc('2027-01-04T00:00:00Z'),
    });
  });

  it('is DST-correct in a plan time zone: 23 and 25 hour days, 06:00 local either side', () => {
    const berlin = { period: 'day' as Period, timezone: 'Europe/Berlin', offsetMs: 0 };
    const spring = quotaWindow(utc('2026-03-29T12:00:00Z'), berlin); // clocks go forward at 02:00
    expect(iso(spring.start)).toBe('2026-03-28T23:00:00.000Z');
    expect(spring.end - spring.start).toBe(23 * H);
    const autumn = quotaWindow(utc('2026-10-25T12:00:00Z'), berlin); // clocks go back at 03:00
    expect(autumn.end - autumn.start).toBe(25 * H);
    const six = quotaWindow(utc('2026-03-29T12:00:00Z'), { ...berlin, offsetMs: 6 * H });
    expect(iso(six.start)).toBe('2026-03-29T04:00:00.000Z'); // 06:00 CEST
    expect(iso(six.end)).toBe('2026-03-30T04:00:00.000Z');
    const before = quotaWindow(utc('2026-03-29T00:30:00Z'), { ...berlin, offsetMs: 6 * H });
    expect(iso(before.start)).toBe('2026-03-28T05:00:00.000Z'); // 06:00 CET the day before
  });

  it('starts windows at the offset wall-clock time in a zone whose clocks change at midnight', () => {
    // America/Santiago skips from 00:00 to 01:00: the day starts at 01:00, and a 49 h month
    // offset means "the 3rd at 01:00", which is that very instant.
    const s = { period: 'month' as Period, timezone: 'America/Santiago', offsetMs: 49 * H };
    const w = quotaWindow(2040868800000, s);
    const local = DateTime.fromMillis(w.start, { zone: s.timezone });
    expect([local.day, local.hour, local.minute]).toEqual([3, 1, 0]);
    expect(quotaWindow(w.end, s).start).toBe(w.end);
  });

  it('validates schedules', () => {
    expect(scheduleProblem({ period: 'day', timezone: 'Mars/Olympus', offsetMs: 0 })).toMatch(/time zone/);
    expect(scheduleProblem({ period: 'day', timezone: 'UTC', offsetMs: D })).toMatch(/shorter than a day/);
    expect(scheduleProblem({ period: 'month', timezone: 'UTC', offsetMs: 28 * D })).toMatch(/28 days/);
    expect(scheduleProblem({ period: 'year' as Period, timezone: 'UTC', offsetMs: 0 })).toMatch(/period/);
    expect(scheduleProblem({ period: 'week', timezone: 'America/New_York', offsetMs: 3 * D })).toBeNull();
  });

  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Santiago'];
  const schedule = fc.constantFrom<Period>('day', 'week', 'month').chain((period) =>
    fc.record({
      period: fc.constant(period),
      timezone: fc.constantFrom(...zones),
      offsetMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: Math.floor(MAX_OFFSET_MS[period] / 60_000) }).map((m) => m * 60_000)),
    }),
  );
  const instant = fc.integer({ min: utc('2020-01-01T00:00:00Z'), max: utc('2035-12-31T00:00:00Z') });

  it('contains now, tiles time without gaps, and starts at the period start plus the offset in local time', () => {
    fc.assert(
      fc.property(schedule, instant, (s, now) => {
        const w = quotaWindow(now, s);
        expect(w.start).toBeLessThanOrEqual(now);
        expect(now).toBeLessThan(w.end);
        // The next window starts where this one ends, and the previous ends where it starts.
        expect(quotaWindow(w.end, s).start).toBe(w.end);
        expect(quotaWindow(w.start - 1, s).end).toBe(w.start);
        // Reference: in local time, the start minus the offset's whole days is the first day of
        // its period, and the start's time of day is the offset's (unless DST skips that hour).
        const local = DateTime.fromMillis(w.start, { zone: s.timezone });
        const offsetDays = Math.floor(s.offsetMs / D);
        const base = local.minus({ days: offsetDays });
        expect(base.startOf(s.period).toISODate()).toBe(base.toISODate());
        // A change at the day's very start counts too (in America/Santiago, midnight is skipped).
        const day = local.startOf('day');
        const before = DateTime.fromMillis(day.toMillis() - 1, { zone: s.timezone });
        if (before.offset === day.offset && day.offset === day.plus({ days: 1 }).offset) {
          const wallClock = ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.millisecond;
          expect(wallClock).toBe(s.offsetMs - offsetDays * D);
        }
        const length = w.end - w.start;
        const nominal = s.period === 'day' ? D : s.period === 'week' ? 7 * D : 28 * D;
        expect(length).toBeGreaterThanOrEqual(nominal - 3 * H);
        expect(length).toBeLessThanOrEqual((s.period === 'month' ? 31 * D : nominal) + 3 * H);
      }),
      { numRuns: 500 },
    );
  });

  it('matches plain arithmetic in UTC for days and weeks, and Date.UTC for months', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 23 }), (now, hours) => {
        const off = hours * H;
        const day = quotaWindow(now, { period: 'day', timezone: 'UTC', offsetMs: off });
        expect(day.start).toBe(Math.floor((now - off) / D) * D + off);
        const monday = utc('2024-01-01T00:00:00Z'); // a Monday
        const week = quotaWindow(now, { period: 'week', timezone: 'UTC', offsetMs: off });
        expect(week.start).toBe(monday + Math.floor((now - off - monday) / (7 * D)) * 7 * D + off);
        const month = quotaWindow(now, { period: 'month', timezone: 'UTC', offsetMs: 0 });
        const d = new Date(now);
        expect(month.start).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
        expect(month.end).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
      }),
      { numRuns: 500 },
    );
  });

  it('caches the current window and follows the clock across boundaries, forwards and back', () => {
    const cache = new WindowCache({ period: 'day', timezone: 'UTC', offsetMs: 0 });
    const a = cache.at(utc('2026-11-27T10:00:00Z'));
    expect(cache.at(utc('2026-11-27T23:59:59Z'))).toBe(a);
    expect(cache.at(utc('2026-11-28T00:00:00Z')).start).toBe(utc('2026-11-28T00:00:00Z'));
    expect(cache.at(utc('2026-11-26T12:00:00Z')).start).toBe(utc('2026-11-26T00:00:00Z'));
  });
});
