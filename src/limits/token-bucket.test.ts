import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketParams, peekBucket, takeToken } from './token-bucket.js';

/**
 * Reference model: a literal token bucket in integer units (one token = `interval` units, one
 * unit refills per microsecond), capacity `burst` tokens, starting full.
 */
class ReferenceBucket {
  private level: number;
  private at: number | null = null;
  constructor(
    private readonly interval: number,
    private readonly burst: number,
  ) {
    this.level = burst * interval;
  }
  take(now: number): boolean {
    if (this.at !== null) this.level = Math.min(this.burst * this.interval, this.level + (now - this.at));
    this.at = now;
    if (this.level < this.interval) return false;
    this.level -= this.interval;
    return true;
  }
}

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
        fc.array(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 5_000_000 }), fc.constant(0)), { minLength: 1, maxLength: 300 }),
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
});
