/**
 * Token bucket, as GCRA (generic cell rate algorithm) over integer microseconds: a bucket of
 * `burst` tokens refilled at `rate` per second, one token per request. The whole state is one
 * number, the theoretical arrival time (TAT). Pure: callers supply the time and keep the state.
 *
 * The emission interval is rounded up to a whole microsecond, so rounding can only make the
 * bucket (negligibly) stricter: admitted requests never exceed `burst + rate * elapsed`.
 */

export interface BucketParams {
  /** Microseconds per token: ceil(1e6 / rate). */
  readonly intervalUs: number;
  /** How far ahead of now the TAT may run: (burst - 1) * interval. */
  readonly toleranceUs: number;
  readonly burst: number;
}

export function bucketParams(rate: number, burst: number): BucketParams {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError('rate must be a positive number');
  if (!Number.isInteger(burst) || burst < 1) throw new RangeError('burst must be an integer >= 1');
  const intervalUs = Math.ceil(1e6 / rate);
  return { intervalUs, toleranceUs: (burst - 1) * intervalUs, burst };
}

export interface BucketDecision {
  allowed: boolean;
  /** The state after this decision (unchanged when refused). */
  tat: number;
  /** Requests that could still be admitted right now. */
  remaining: number;
  /** When refused: microseconds until one token is back. */
  retryAfterUs: number;
  /** Microseconds until the bucket is full again. */
  resetUs: number;
}

/**
 * Decides one request at `nowUs` against state `tat` (undefined = a full bucket).
 * Does not decide for the caller whether to keep the new state: see `tat` in the result.
 */
export function takeToken(tat: number | undefined, nowUs: number, p: BucketParams): BucketDecision {
  const current = tat === undefined || tat < nowUs ? nowUs : tat;
  const ahead = current - nowUs; // time the bucket still needs to refill
  if (ahead > p.toleranceUs) {
    return {
      allowed: false,
      tat: current,
      remaining: 0,
      retryAfterUs: ahead - p.toleranceUs,
      resetUs: ahead,
    };
  }
  const next = current + p.intervalUs;
  const nextAhead = next - nowUs;
  return {
    allowed: true,
    tat: next,
    remaining: Math.max(0, Math.floor((p.toleranceUs - nextAhead) / p.intervalUs) + 1),
    retryAfterUs: 0,
    resetUs: nextAhead,
  };
}

/** The bucket's state at `nowUs` without taking a token. */
export function peekBucket(tat: number | undefined, nowUs: number, p: BucketParams): { remaining: number; resetUs: number } {
  const ahead = tat === undefined || tat < nowUs ? 0 : tat - nowUs;
  return { remaining: Math.max(0, Math.min(p.burst, Math.floor((p.toleranceUs - ahead) / p.intervalUs) + 1)), resetUs: ahead };
}
