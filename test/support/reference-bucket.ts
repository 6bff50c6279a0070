/**
 * Reference model of the throttle, written plainly and independent of src/limits: a bucket of
 * `burst * interval` units, refilled one unit per microsecond up to the brim, one token =
 * `interval` units, starting full. Its state changes only when a token is taken (a refused
 * call, throttled or over quota, leaves it as it was). When the clock goes back by J the level
 * is J lower (the refill since then is taken back) and may go below zero; nothing is refilled
 * until the clock has caught up. GCRA keeps an absolute time (the TAT), which behaves exactly so:
 * going back makes the bucket look J emptier, never fuller.
 */
export class ReferenceBucket {
  private level: number;
  private at: number | null = null;
  constructor(
    private readonly interval: number,
    private readonly burst: number,
  ) {
    this.level = burst * interval;
  }

  /** Units in the bucket at `now` (µs). */
  levelAt(now: number): number {
    return this.at === null ? this.burst * this.interval : Math.min(this.burst * this.interval, this.level + (now - this.at));
  }

  /** The decision at `now` if only the throttle had a say; `take` commits it. */
  peek(now: number): { allowed: boolean; remaining: number; retryAfterUs: number; resetUs: number } {
    const level = this.levelAt(now);
    const full = this.burst * this.interval;
    if (level < this.interval) return { allowed: false, remaining: 0, retryAfterUs: this.interval - level, resetUs: full - level };
    const after = level - this.interval;
    return { allowed: true, remaining: Math.floor(after / this.interval), retryAfterUs: 0, resetUs: full - after };
  }

  /** Takes a token at `now` if there is one; whether it did. */
  take(now: number): boolean {
    if (!this.peek(now).allowed) return false;
    this.level = this.levelAt(now) - this.interval;
    this.at = now;
    return true;
  }
}
