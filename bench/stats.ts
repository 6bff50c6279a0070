/** Small statistics for the benchmark's figures. */

/** The values that are figures (a latency probe that got no answer reports NaN). */
export function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

/** Milliseconds for display, 'n/a' when there is no figure. */
export function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : 'n/a';
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * A distribution-free confidence interval for the median: the order statistics x(k) and
 * x(n+1-k), with k the largest rank such that P(Binomial(n, 1/2) < k) <= (1 - level) / 2.
 * It assumes nothing about the shape of the values (turn ratios on a noisy machine are not
 * normal). Null when there are too few values for the level (fewer than 6 for 95%).
 */
export function medianInterval(values: readonly number[], level = 0.95): [number, number] | null {
  const n = values.length;
  const tail = (1 - level) / 2;
  // Cumulative binomial probabilities, in log space so that large n cannot underflow.
  let logP = -n * Math.LN2;
  let below = 0; // P(B < k) for the current k
  let k = 0;
  for (let i = 0; i <= n; i++) {
    const next = below + Math.exp(logP); // P(B <= i) = P(B < i + 1)
    if (next > tail) break;
    below = next;
    k = i + 1;
    logP += Math.log((n - i) / (i + 1));
  }
  if (k === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return [s[k - 1]!, s[n - k]!];
}
