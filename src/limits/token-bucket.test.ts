import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketParams, peekBucket, takeToken } from './token-bucket.js';
import { ReferenceBucket } from '../../test/support/reference-bucket.js';

/**
 * Gaps between calls in microseconds: none, short, long, and backward jumps of the clock (small,
 * up to a few seconds, and up to a day, as an NTP step or a wrong clock corrected).
 */
const jump = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 2000 }),
  fc.integer({ min: 0, max: 5_000_000 }),
  fc.integer({ min: -2000, max: 0 }),
  fc.integer({ min: -5_000_000, max: 0 }),
  fc.integer({ min: -86_400_000_000, max: 0 }),
);

describe('token bucket (GCRA)', () => {
  it('admits a burst at once, then one per interval', () => {
    const p = bucketParams(1, 50);
    let tat: number | undefined;
    let admitted = 0;
    for (let i = 0; i < 200; i++) {
      const d = takeToken(tat, 1_000_000, p);
      if (d.allowed) {
        admitted++;
        tat = d.tat;
      }
    }
    expect(admitted).toBe(50);
    const refused = takeToken(tat, 1_000_000, p);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterUs: 1_000_000 });
    expect(takeToken(tat, 2_000_000, p).allowed).toBe(true);
  });

  it('reports remaining tokens and time to full', () => {
    const p = bucketParams(10, 5);
    const first = takeToken(undefined, 0, p);
    expect(first).toMatchObject({ allowed: true, remaining: 4, resetUs: 100_000 });
    const second = takeToken(first.tat, 0, p);
    expect(second).toMatchObject({ remaining: 3, resetUs: 200_000 });
    expect(peekBucket(second.tat, 150_000, p)).toEqual({ remaining: 4, resetUs: 50_000 });
    expect(peekBucket(undefined, 0, p)).toEqual({ remaining: 5, resetUs: 0 });
  });

  it('refuses invalid parameters', () => {
    expect(() => bucketParams(0, 1)).toThrow(/rate/);
    expect(() => bucketParams(-1, 1)).toThrow(/rate/);
    expect(() => bucketParams(1, 0)).toThrow(/burst/);
    expect(() => bucketParams(1, 1.5)).toThrow(/burst/);
  });

  it('decides exactly as the reference bucket, for any arrival pattern (clock jumps included)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 5000, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(jump, { minLength: 1, maxLength: 300, size: 'max' }),
        (rate, burst, gaps) => {
          const p = bucketParams(rate, burst);
          const ref = new ReferenceBucket(p.intervalUs, burst);
          let tat: number | undefined;
          let now = 1_700_000_000_000_000;
          for (const gap of gaps) {
            now += gap;
            const d = takeToken(tat, now, p);
            expect(d.allowed).toBe(ref.take(now));
            if (d.allowed) tat = d.tat;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never admits more than burst + rate * elapsed', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 500 }),
        (rate, burst, gaps) => {
          const p = bucketParams(rate, burst);
          let tat: number | undefined;
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            const d = takeToken(tat, now, p);
            if (d.allowed) {
              admitted++;
              tat = d.tat;
            }
            expect(admitted).toBeLessThanOrEqual(burst + (rate * now) / 1e6 + 1e-9);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never admits more than burst + rate * (latest time seen - first call), whatever the clock does', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 5000, noNaN: true }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(jump, { minLength: 1, maxLength: 500, size: 'max' }),
        (rate, burst, gaps) => {
          const p = bucketParams(rate, burst);
          let tat: number | undefined;
          let now = 1_700_000_000_000_000;
          const first = now + gaps[0]!; // the first call's time
          let latest = first;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            latest = Math.max(latest, now);
            const d = takeToken(tat, now, p);
            if (d.allowed) {
              admitted++;
              tat = d.tat;
            }
            // A backward jump never earns tokens: time spent going back and forth over the same
            // stretch refills it once.
            expect(admitted).toBeLessThanOrEqual(burst + (rate * (latest - first)) / 1e6 + 1e-9);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes tokens away when the clock goes back, until it has caught up', () => {
    const p = bucketParams(1, 5); // one token a second, five at most
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) tat = takeToken(tat, 10_000_000, p).tat; // empty at 10 s
    expect(tat).toBe(15_000_000);
    // Back to 5 s: the bucket is 10 s from full, 6 s from its next token.
    expect(takeToken(tat, 5_000_000, p)).toMatchObject({ allowed: false, retryAfterUs: 6_000_000, resetUs: 10_000_000 });
    expect(peekBucket(tat, 5_000_000, p)).toEqual({ remaining: 0, resetUs: 10_000_000 });
    expect(takeToken(tat, 10_999_999, p).allowed).toBe(false);
    expect(takeToken(tat, 11_000_000, p)).toMatchObject({ allowed: true, remaining: 0 });
    // A jump back by more than burst / rate seconds refuses everything until the clock is back.
    expect(takeToken(tat, 10_000_000 - 3_600_000_000, p)).toMatchObject({ allowed: false, retryAfterUs: 3_601_000_000 });
  });
});
