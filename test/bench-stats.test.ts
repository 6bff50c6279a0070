import { describe, expect, it } from 'vitest';
import { finite, median, medianInterval, ms } from '../bench/stats.js';

describe('benchmark statistics', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('gives the order statistics of the binomial interval for the median', () => {
    const ranks = (n: number) => Array.from({ length: n }, (_, i) => n - i); // n..1, unsorted on purpose
    // n = 24: P(B <= 6) = 0.0113 and P(B <= 7) = 0.0320, so the 95% interval is [x(7), x(18)].
    expect(medianInterval(ranks(24))).toEqual([7, 18]);
    // n = 6: P(B = 0) = 0.0156 is the only tail within 2.5%: [x(1), x(6)].
    expect(medianInterval(ranks(6))).toEqual([1, 6]);
    // n = 100: the textbook interval is [x(40), x(61)].
    expect(medianInterval(ranks(100))).toEqual([40, 61]);
    // A lower level gives a narrower interval.
    expect(medianInterval(ranks(24), 0.5)).toEqual([10, 15]);
  });

  it('leaves out rounds without a latency figure, and shows them as n/a', () => {
    // A probe whose gateway answered nothing reports NaN (lib.ts turns JSON's null back into it).
    expect(finite([1.5, NaN, 0.5, Infinity])).toEqual([1.5, 0.5]);
    expect(median(finite([2, NaN, 4]))).toBe(3);
    expect(ms(1.234)).toBe('1.23');
    expect(ms(NaN)).toBe('n/a');
    expect(ms(Infinity)).toBe('n/a');
  });

  it('has no 95% interval for fewer than six values', () => {
    expect(medianInterval([1, 2, 3, 4, 5])).toBeNull();
    expect(medianInterval([])).toBeNull();
  });

  it('holds the true median about as often as it claims', () => {
    // Values drawn from a skewed distribution with a known median (exponential: ln 2).
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      const values = Array.from({ length: 30 }, () => -Math.log(random()));
      const [lo, hi] = medianInterval(values)!;
      if (lo <= Math.LN2 && Math.LN2 <= hi) covered++;
    }
    // The exact coverage for n = 30 is 95.7%; 2000 trials put it within about ±1%.
    expect(covered / trials).toBeGreaterThan(0.93);
    expect(covered / trials).toBeLessThan(0.98);
  });
});
