import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { GuardCounter, GuardSettings } from '../../keys/guard.js';
import { MemoryGuardCounter } from '../../keys/guard.js';

const GUARD = readFileSync(new URL('./guard.lua', import.meta.url), 'utf8');

/**
 * Invalid-key counting shared by every node, in Redis. If Redis does not answer, this node
 * counts on its own until it does (a guessing client is still blocked, by this node's count).
 */
export class RedisGuardCounter implements GuardCounter {
  private readonly redis: Redis & { kgGuard(prefix: string, max: number, window: number, block: number, now: string): Promise<number> };
  private readonly local: MemoryGuardCounter;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly settings: GuardSettings,
    private readonly passClock: boolean,
  ) {
    redis.defineCommand('kgGuard', { numberOfKeys: 1, lua: GUARD });
    this.redis = redis as never;
    this.local = new MemoryGuardCounter(settings);
  }

  async hit(ip: string, now: number): Promise<number> {
    try {
      return Number(
        await this.redis.kgGuard(`${this.prefix}guard:${ip}:`, this.settings.maxInvalid, this.settings.windowMs, this.settings.blockMs, this.passClock ? String(now) : ''),
      );
    } catch {
      return this.local.hit(ip, now);
    }
  }
}
