import type { Clock } from '../clock.js';
import type { KeyRecord } from '../store/interface.js';
import type { Verdict } from './principal.js';

/**
 * Cache of key lookups by hash, positive (the record) and negative (no such key).
 *
 * Invalidation rule:
 * 1. Every change to a key is published on the ChangeBus; each node evicts the key's hash at
 *    once (the node that made the change before its admin call returns).
 * 2. As a safety net for lost broadcasts, an entry is reloaded from the store after `ttlMs`
 *    (default 30 s), or after `disconnectedTtlMs` (1 s) while the bus is disconnected.
 * 3. A bus reconnect clears the whole cache (changes may have been missed); a bulk import
 *    clears the negative entries.
 * Expiry is judged at every verification from `expiresAt`, so it needs no invalidation.
 * Both maps are bounded; when full, the oldest inserted entry goes first.
 */
export interface CacheEntry {
  record: KeyRecord | null;
  loadedAt: number;
  /** The verdict for an active key, built once so a hit allocates nothing. */
  active?: Verdict;
}

export interface KeyCacheOptions {
  clock: Clock;
  ttlMs: number;
  disconnectedTtlMs?: number;
  maxEntries: number;
  /** Bound of the negative map, kept separate so a flood of made-up keys cannot push out real ones. */
  maxNegativeEntries?: number;
  /** Whether broadcasts are currently received. */
  connected: () => boolean;
}

export class KeyCache {
  private readonly positive = new Map<string, CacheEntry>();
  private readonly negative = new Map<string, CacheEntry>();
  private readonly byId = new Map<string, string>();
  hits = 0;
  misses = 0;
  /** Bumped by every eviction, so a load that raced with a change is not trusted (see `set`). */
  version = 0;

  constructor(private readonly options: KeyCacheOptions) {}

  /** The entry for `hash` if present and fresh at `now`; undefined means "ask the store". */
  get(hash: string, now = this.options.clock.now()): CacheEntry | undefined {
    let entry = this.positive.get(hash);
    if (entry === undefined) entry = this.negative.get(hash);
    if (entry !== undefined && now - entry.loadedAt < this.ttl()) {
      this.hits++;
      return entry;
    }
    this.misses++;
    return undefined;
  }

  /** The entry for `hash` even if stale: served while the store is unreachable. */
  stale(hash: string): CacheEntry | undefined {
    return this.positive.get(hash) ?? this.negative.get(hash);
  }

  /**
   * Caches what the store said. `loadStartedAt` is the `version` read before the store query:
   * if anything was evicted meanwhile, the answer may predate a change, so it is kept only for
   * the requests already waiting and reloaded on the next one.
   */
  set(hash: string, record: KeyRecord | null, loadStartedAt = this.version): CacheEntry {
    const fresh = loadStartedAt === this.version;
    const entry: CacheEntry = { record, loadedAt: fresh ? this.options.clock.now() : -Infinity };
    const map = record ? this.positive : this.negative;
    const max = record ? this.options.maxEntries : (this.options.maxNegativeEntries ?? 100_000);
    this.remove(hash);
    if (map.size >= max) this.remove(map.keys().next().value as string);
    map.set(hash, entry);
    if (record) this.byId.set(record.id, hash);
    return entry;
  }

  /** Keeps serving `entry` but retries the store after `retryMs` (used when the store is down). */
  postpone(entry: CacheEntry, retryMs: number): void {
    entry.loadedAt = this.options.clock.now() - this.ttl() + retryMs;
  }

  /** Invalidates the key with this hash (it changed, or was created). */
  evictHash(hash: string): void {
    this.version++;
    this.remove(hash);
  }

  private remove(hash: string): void {
    const entry = this.positive.get(hash);
    if (entry?.record) this.byId.delete(entry.record.id);
    this.positive.delete(hash);
    this.negative.delete(hash);
  }

  /** Invalidates the key with this id. */
  evictId(id: string): void {
    const hash = this.byId.get(id);
    if (hash !== undefined) this.evictHash(hash);
  }

  /** Forgets every "no such key" answer (after keys were created in bulk). */
  clearNegative(): void {
    this.version++;
    this.negative.clear();
  }

  clear(): void {
    this.version++;
    this.positive.clear();
    this.negative.clear();
    this.byId.clear();
  }

  get size(): number {
    return this.positive.size + this.negative.size;
  }

  private ttl(): number {
    return this.options.connected() ? this.options.ttlMs : (this.options.disconnectedTtlMs ?? 1000);
  }
}
