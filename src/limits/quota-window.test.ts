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

  /**
   * Reference for UTC without luxon: integer division for days and weeks (1970-01-05 was a
   * Monday), Date.UTC for months. A window is [P + offset, next P + offset) for the period P
   * containing `now - offset`: offsets are shorter than any period, so these tile time.
   */
  function utcReference(now: number, period: Period, offsetMs: number): { start: number; end: number } {
    const t = now - offsetMs;
    if (period === 'day') {
      const p = Math.floor(t / D) * D;
      return { start: p + offsetMs, end: p + D + offsetMs };
    }
    if (period === 'week') {
      const monday = 4 * D;
      const p = monday + Math.floor((t - monday) / (7 * D)) * 7 * D;
      return { start: p + offsetMs, end: p + 7 * D + offsetMs };
    }
    const d = new Date(t);
    return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) + offsetMs, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) + offsetMs };
  }

  it('matches the reference in UTC, by hand: month ends, Feb 29, offsets that cross a month boundary', () => {
    const cases: Array<[now: string, period: Period, offsetMs: number, start: string, end: string]> = [
      // Feb 29 in a leap year: the day, the week (Monday Feb 28 2028) and the month end.
      ['2028-02-29T23:59:59.999Z', 'day', 0, '2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
      ['2028-02-29T12:00:00.000Z', 'week', 0, '2028-02-28T00:00:00.000Z', '2028-03-06T00:00:00.000Z'],
      ['2028-02-29T12:00:00.000Z', 'month', 0, '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
      // Months from the 29th are not possible (offset < 28 d), from the 28th at 23:00 are: the
      // window holding Mar 10 starts in February, on the 28th in leap years and others alike.
      ['2028-03-10T00:00:00.000Z', 'month', 27 * D + 23 * H, '2028-02-28T23:00:00.000Z', '2028-03-28T23:00:00.000Z'],
      ['2027-03-10T00:00:00.000Z', 'month', 27 * D + 23 * H, '2027-02-28T23:00:00.000Z', '2027-03-28T23:00:00.000Z'],
      ['2028-02-28T22:59:59.999Z', 'month', 27 * D + 23 * H, '2028-01-28T23:00:00.000Z', '2028-02-28T23:00:00.000Z'],
      // Months from the 15th: February's window is 29 days in a leap year, 28 otherwise.
      ['2028-03-14T23:59:59.999Z', 'month', 14 * D, '2028-02-15T00:00:00.000Z', '2028-03-15T00:00:00.000Z'],
      ['2027-03-14T23:59:59.999Z', 'month', 14 * D, '2027-02-15T00:00:00.000Z', '2027-03-15T00:00:00.000Z'],
      // Days from 23:00: the first minutes of March belong to the day that began on Feb 28/29.
      ['2028-03-01T00:30:00.000Z', 'day', 23 * H, '2028-02-29T23:00:00.000Z', '2028-03-01T23:00:00.000Z'],
      ['2027-03-01T00:30:00.000Z', 'day', 23 * H, '2027-02-28T23:00:00.000Z', '2027-03-01T23:00:00.000Z'],
      ['2026-12-31T23:30:00.000Z', 'day', 23 * H, '2026-12-31T23:00:00.000Z', '2027-01-01T23:00:00.000Z'],
      // Weeks from Sunday noon (6.5 d): Mar 1 2026 00:00 is still in the week begun Feb 22.
      ['2026-03-01T00:00:00.000Z', 'week', 6 * D + 12 * H, '2026-02-22T12:00:00.000Z', '2026-03-01T12:00:00.000Z'],
      ['2026-03-01T12:00:00.000Z', 'week', 6 * D + 12 * H, '2026-03-01T12:00:00.000Z', '2026-03-08T12:00:00.000Z'],
      // The year end: ISO week 53 of 2026 runs into 2027; a month from the 1st at 06:00.
      ['2027-01-01T05:59:59.999Z', 'month', 6 * H, '2026-12-01T06:00:00.000Z', '2027-01-01T06:00:00.000Z'],
      ['2026-12-31T23:59:59.999Z', 'week', 0, '2026-12-28T00:00:00.000Z', '2027-01-04T00:00:00.000Z'],
    ];
    for (const [now, period, offsetMs, start, end] of cases) {
      const w = quotaWindow(utc(now), { period, timezone: 'UTC', offsetMs });
      expect([now, period, offsetMs, iso(w.start), iso(w.end)]).toEqual([now, period, offsetMs, start, end]);
      expect(utcReference(utc(now), period, offsetMs)).toEqual(w);
    }
  });

  it('matches plain Date.UTC arithmetic in UTC, for any period, offset and instant (near boundaries most)', () => {
    const utcSchedule = fc.constantFrom<Period>('day', 'week', 'month').chain((period) =>
      fc.record({
        period: fc.constant(period),
        offsetMs: fc.oneof(
          fc.constant(0),
          fc.integer({ min: 0, max: MAX_OFFSET_MS[period] }),
          fc.integer({ min: 0, max: Math.floor(MAX_OFFSET_MS[period] / H) }).map((h) => h * H),
          fc.integer({ min: 0, max: 3 * H }).map((ms) => MAX_OFFSET_MS[period] - ms),
        ),
      }),
    );
    // Near the start of a month, of Feb 29 or of a window (with its offset), within a day or a
    // few milliseconds; or anywhere.
    const year = fc.integer({ min: 2020, max: 2035 });
    const near = fc.oneof(fc.constant(0), fc.constant(-1), fc.integer({ min: -5, max: 5 }), fc.integer({ min: -D, max: D }));
    const around = (base: fc.Arbitrary<number>) => fc.tuple(base, near).map(([b, d]) => b + d);
    const instantFor = (s: { period: Period; offsetMs: number }) =>
      fc.oneof(
        around(fc.tuple(year, fc.integer({ min: 0, max: 11 })).map(([y, m]) => Date.UTC(y, m, 1))),
        around(fc.tuple(year, fc.integer({ min: 0, max: 11 })).map(([y, m]) => Date.UTC(y, m, 1) + s.offsetMs)),
        around(fc.constantFrom(2020, 2024, 2028, 2032).map((y) => Date.UTC(y, 1, 29))),
        around(instant.map((t) => utcReference(t, s.period, s.offsetMs).start)),
        instant,
      );
    fc.assert(
      fc.property(
        utcSchedule.chain((s) => fc.tuple(fc.constant(s), instantFor(s))),
        ([s, now]) => {
          expect(quotaWindow(now, { ...s, timezone: 'UTC' })).toEqual(utcReference(now, s.period, s.offsetMs));
        },
      ),
      { numRuns: 3000 },
    );
  });

  /**
   * Time zones, by hand. Berlin: 2026-03-29 02:00 CET (01:00Z) -> 03:00 CEST, 2026-10-25
   * 03:00 CEST (01:00Z) -> 02:00 CET. New York: 2026-03-08 02:00 EST (07:00Z) -> 03:00 EDT,
   * 2026-11-01 02:00 EDT (06:00Z) -> 01:00 EST. CET = UTC+1, CEST = UTC+2, EST = UTC-5,
   * EDT = UTC-4. An offset landing in the skipped hour starts the window that much later
   * (02:30 -> 03:30); in the repeated hour, at its first occurrence (summer time).
   */
  it('is DST-correct in Europe/Berlin and America/New_York, checked against instants written out by hand', () => {
    const cases: Array<[zone: string, now: string, period: Period, offsetMs: number, start: string, end: string]> = [
      // Berlin, spring forward: a 23 h day, a 167 h week, a 743 h month.
      ['Europe/Berlin', '2026-03-29T12:00:00Z', 'day', 0, '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'], // 00:00 CET -> 00:00 CEST
      ['Europe/Berlin', '2026-03-29T00:59:59.999Z', 'day', 0, '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'], // 01:59:59 CET, just before
      ['Europe/Berlin', '2026-03-29T03:59:59.999Z', 'day', 6 * H, '2026-03-28T05:00:00.000Z', '2026-03-29T04:00:00.000Z'], // 05:59 CEST: still since 06:00 CET
      ['Europe/Berlin', '2026-03-29T04:00:00Z', 'day', 6 * H, '2026-03-29T04:00:00.000Z', '2026-03-30T04:00:00.000Z'], // 06:00 CEST
      ['Europe/Berlin', '2026-03-29T12:00:00Z', 'day', 2 * H + 30 * 60_000, '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'], // 02:30 skipped: 03:30 CEST
      ['Europe/Berlin', '2026-03-29T12:00:00Z', 'week', 0, '2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z'], // Mon 23 00:00 CET -> Mon 30 00:00 CEST
      ['Europe/Berlin', '2026-03-10T00:00:00Z', 'month', 0, '2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z'],
      ['Europe/Berlin', '2026-03-20T00:00:00Z', 'month', 14 * D + 6 * H, '2026-03-15T05:00:00.000Z', '2026-04-15T04:00:00.000Z'], // the 15th 06:00 CET -> CEST
      // Berlin, fall back: a 25 h day, a 169 h week, a 745 h month.
      ['Europe/Berlin', '2026-10-25T12:00:00Z', 'day', 0, '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'], // 00:00 CEST -> 00:00 CET
      ['Europe/Berlin', '2026-10-25T04:30:00Z', 'day', 6 * H, '2026-10-24T04:00:00.000Z', '2026-10-25T05:00:00.000Z'], // 05:30 CET: since 06:00 CEST
      ['Europe/Berlin', '2026-10-25T05:00:00Z', 'day', 6 * H, '2026-10-25T05:00:00.000Z', '2026-10-26T05:00:00.000Z'], // 06:00 CET
      ['Europe/Berlin', '2026-10-25T00:45:00Z', 'day', 2 * H + 30 * 60_000, '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'], // 02:30 twice: the CEST one
      ['Europe/Berlin', '2026-10-25T12:00:00Z', 'week', 0, '2026-10-18T22:00:00.000Z', '2026-10-25T23:00:00.000Z'], // Mon 19 00:00 CEST -> Mon 26 00:00 CET
      ['Europe/Berlin', '2026-10-10T00:00:00Z', 'month', 0, '2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z'],
      ['Europe/Berlin', '2026-10-25T12:00:00Z', 'month', 24 * D + 2 * H + 30 * 60_000, '2026-10-25T00:30:00.000Z', '2026-11-25T01:30:00.000Z'], // the 25th 02:30 CEST -> CET
      ['Europe/Berlin', '2026-10-25T00:29:59.999Z', 'month', 24 * D + 2 * H + 30 * 60_000, '2026-09-25T00:30:00.000Z', '2026-10-25T00:30:00.000Z'],
      // New York, spring forward.
      ['America/New_York', '2026-03-08T12:00:00Z', 'day', 0, '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'], // 00:00 EST -> 00:00 EDT
      ['America/New_York', '2026-03-08T09:00:00Z', 'day', 6 * H, '2026-03-07T11:00:00.000Z', '2026-03-08T10:00:00.000Z'], // 05:00 EDT: since 06:00 EST
      ['America/New_York', '2026-03-08T12:00:00Z', 'day', 2 * H + 30 * 60_000, '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z'], // 02:30 skipped: 03:30 EDT
      ['America/New_York', '2026-03-08T12:00:00Z', 'week', 0, '2026-03-02T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
      ['America/New_York', '2026-03-10T00:00:00Z', 'month', 0, '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z'],
      // New York, fall back.
      ['America/New_York', '2026-11-01T12:00:00Z', 'day', 0, '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'], // 00:00 EDT -> 00:00 EST
      ['America/New_York', '2026-11-01T05:15:00Z', 'day', H + 30 * 60_000, '2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z'], // 01:15 EDT
      ['America/New_York', '2026-11-01T06:15:00Z', 'day', H + 30 * 60_000, '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'], // 01:15 EST: after the first 01:30
      ['America/New_York', '2026-11-01T12:00:00Z', 'week', 0, '2026-10-26T04:00:00.000Z', '2026-11-02T05:00:00.000Z'],
      ['America/New_York', '2026-11-10T00:00:00Z', 'month', 0, '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z'],
    ];
    for (const [timezone, now, period, offsetMs, start, end] of cases) {
      const w = quotaWindow(utc(now), { period, timezone, offsetMs });
      expect([timezone, now, period, offsetMs, iso(w.start), iso(w.end)]).toEqual([timezone, now, period, offsetMs, start, end]);
    }
  });

  it('caches the current window and follows the clock across boundaries, forwards and back', () => {
    const cache = new WindowCache({ period: 'day', timezone: 'UTC', offsetMs: 0 });
    const a = cache.at(utc('2026-11-27T10:00:00Z'));
    expect(cache.at(utc('2026-11-27T23:59:59Z'))).toBe(a);
    expect(cache.at(utc('2026-11-28T00:00:00Z')).start).toBe(utc('2026-11-28T00:00:00Z'));
    expect(cache.at(utc('2026-11-26T12:00:00Z')).start).toBe(utc('2026-11-26T00:00:00Z'));
  });
});
