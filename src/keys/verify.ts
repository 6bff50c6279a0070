import type { Clock } from '../clock.js';
import type { KeyStore } from '../store/interface.js';
import type { CacheEntry, KeyCache } from './cache.js';
import { hashKey, hashKeyWith, MAX_KEY_LENGTH, type HashMemo, type KeyFormat } from './format.js';
import { principalOf, statusOf, type Verdict } from './principal.js';

const INVALID: Verdict = Object.freeze({ ok: false, code: 'invalid_api_key' });

/** Raised when a key is not cached and the store cannot be reached: a fault, not a verdict. */
export class StoreUnavailable extends Error {
  constructor(cause: unknown) {
    super('key store unavailable', { cause });
    this.name = 'StoreUnavailable';
  }
}

/**
 * Verifies presented keys. A warm-cache verification is synchronous (no promise) and allocates
 * nothing: one SHA-256, one map lookup, the status at the current time. Only a cache miss pays
 * for the format and checksum check, which refuses malformed keys before any store lookup.
 * Lookups compare hashes only, never plaintext, so the time taken does not depend on how much
 * of a key matches a real one.
 */
export class KeyVerifier {
  /** Store lookups under way, with the cache version they started at. */
  private readonly loading = new Map<string, { version: number; promise: Promise<CacheEntry> }>();

  constructor(
    private readonly store: KeyStore,
    private readonly cache: KeyCache,
    private readonly format: KeyFormat,
    private readonly clock: Clock,
  ) {}

  /**
   * The verdict for a presented key value (non-empty), at `now` (the request's arrival time on
   * the request path). `memo`: the client connection's last key and hash (see `hashKeyWith`).
   */
  verify(value: string, now = this.clock.now(), memo?: HashMemo): Verdict | Promise<Verdict> {
    if (value.length > MAX_KEY_LENGTH) return INVALID;
    const hash = memo === undefined ? hashKey(value) : hashKeyWith(value, memo);
    const entry = this.cache.get(hash, now);
    if (entry !== undefined) return this.judge(entry, now);
    // Only real keys and well-formed unknown values are ever cached, so the check can wait until here.
    if (this.format.shape(value) === 'malformed') return INVALID;
    // Past its TTL (not evicted: an evicted entry is gone), an entry is served while it is
    // reloaded in the background: the request path never waits for the store for a known key.
    const stale = this.cache.stale(hash);
    if (stale !== undefined && stale.loadedAt !== -Infinity) {
      this.load(hash).catch(() => {});
      return this.judge(stale, now);
    }
    return this.load(hash).then((loaded) => this.judge(loaded, this.clock.now()));
  }

  private judge(entry: CacheEntry, now: number): Verdict {
    const record = entry.record;
    if (record === null) return INVALID;
    const status = statusOf(record, now);
    if (status === 'active') return (entry.active ??= { ok: true, principal: principalOf(record) });
    const code = status === 'revoked' ? 'key_revoked' : status === 'expired' ? 'key_expired' : 'key_disabled';
    return { ok: false, code, keyId: record.id, appId: record.appId };
  }

  /** Loads from the store, one query per hash however many requests wait for it. */
  private load(hash: string): Promise<CacheEntry> {
    const version = this.cache.version;
    const running = this.loading.get(hash);
    // A lookup that started before the latest eviction may predate a change: do not join it.
    if (running !== undefined && running.version === version) return running.promise;
    const pending: Promise<CacheEntry> = this.store
        .findByHash(hash)
        .then(
          (record) => this.cache.set(hash, record, version),
          (err: unknown) => {
            // The store is down: a key verified before keeps working from the stale entry.
            const stale = this.cache.stale(hash);
            if (stale === undefined) throw new StoreUnavailable(err);
            this.cache.postpone(stale, 1000);
            return stale;
          },
        )
      .finally(() => {
        if (this.loading.get(hash)?.promise === pending) this.loading.delete(hash);
      });
    this.loading.set(hash, { version, promise: pending });
    return pending;
  }
}
