import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { ChangeBus } from '../store/bus.js';

export interface GuardSettings {
  /** Invalid keys from one client address within `windowMs` that trigger a block. */
  maxInvalid: number;
  windowMs: number;
  blockMs: number;
}

/**
 * Counts invalid keys per client address. `hit` returns the epoch ms until which the address
 * is blocked, or 0. The Redis implementation counts across all nodes.
 */
export interface GuardCounter {
  hit(ip: string, now: number): number | Promise<number>;
}

/** Sliding-window estimate (Cloudflare's): the previous window weighted by its overlap, plus this one. */
export class MemoryGuardCounter implements GuardCounter {
  private readonly windows = new Map<string, { start: number; count: number; previous: number; blockedUntil: number }>();

  constructor(
    private readonly settings: GuardSettings,
    private readonly maxTracked = 100_000,
  ) {}

  hit(ip: string, now: number): number {
    const w = this.settings.windowMs;
    const start = Math.floor(now / w) * w;
    let entry = this.windows.get(ip);
    if (entry === undefined) {
      if (this.windows.size >= this.maxTracked) this.windows.delete(this.windows.keys().next().value as string);
      entry = { start, count: 0, previous: 0, blockedUntil: 0 };
      this.windows.set(ip, entry);
    } else if (entry.start !== start) {
      entry.previous = entry.start === start - w ? entry.count : 0;
      entry.start = start;
      entry.count = 0;
    }
    if (entry.blockedUntil > now) return entry.blockedUntil;
    entry.count++;
    const estimate = entry.previous * (1 - (now - start) / w) + entry.count;
    if (estimate >= this.settings.maxInvalid) {
      entry.blockedUntil = now + this.settings.blockMs;
      entry.count = 0;
      entry.previous = 0;
      return entry.blockedUntil;
    }
    return 0;
  }
}

/**
 * Guessing protection: a client address that presents too many invalid keys is refused for a
 * cool-down. The check on every request is one map lookup (no store, no Redis); blocks decided
 * on any node are broadcast to all of them.
 */
export class InvalidKeyGuard {
  private readonly blocked = new Map<string, number>();
  blocksIssued = 0;

  constructor(
    private readonly counter: GuardCounter,
    private readonly bus: ChangeBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    bus.subscribe((change) => {
      if (change.kind === 'block') this.blocked.set(change.ip, change.until);
    });
  }

  /** Epoch ms until which `ip` is blocked, or 0. */
  blockedUntil(ip: string): number {
    const until = this.blocked.get(ip);
    if (until === undefined) return 0;
    if (until > this.clock.now()) return until;
    this.blocked.delete(ip);
    return 0;
  }

  /**
   * Records an invalid key from `ip`; blocks it (everywhere) when it crosses the threshold.
   * With a shared counter this resolves once the count is in, so the very next request from
   * the address already sees the block (only invalid keys wait for it).
   */
  record(ip: string): void | Promise<void> {
    const now = this.clock.now();
    const result = this.counter.hit(ip, now);
    if (typeof result === 'number') return this.apply(ip, result);
    return result.then(
      (until) => this.apply(ip, until),
      (err: Error) => this.logger.warn({ err: err.message }, 'invalid key not counted'),
    );
  }

  private apply(ip: string, until: number): void {
    if (until === 0 || (this.blocked.get(ip) ?? 0) >= until) return;
    this.blocksIssued++;
    this.logger.warn({ ip, until: new Date(until).toISOString() }, 'client address blocked after too many invalid keys');
    void this.bus.publish({ kind: 'block', ip, until });
  }
}
