import type { Clock } from '../clock.js';
import type { KeyStore } from '../store/interface.js';
import type { CacheEntry, KeyCache } from './cache.js';
import { hashKey, type KeyFormat } from './format.js';
import { principalOf, statusOf, type Principal, type Verdict } from './principal.js';

const INVALID: Verdict = Object.freeze({ ok: false, code: 'invalid_api_key' });

/** Raised when a key is not cached and the store cannot be reached: a fault, not a verdict. */
export class StoreUnavailable extends Error {
  constructor(cause: unknown) {
    super('key store unavailable', { cause });
    this.name = 'StoreUnavailable';
  }
}

/**
 * Verifies presented keys. A warm-cache verification is synchronous (no promise): shape check,
 * one SHA-256, one map lookup. Lookups compare hashes only, never plaintext, so the time taken
 * does not depend on how much of a key matches a real one.
 */
export class KeyVerifier {
  private readonly loading = new Map<string, Promise<CacheEntry>>();
  private readonly principals = new WeakMap<CacheEntry, Principal>();

  constructor(
    private readonly store: KeyStore,
    private readonly cache: KeyCache,
    private readonly format: KeyFormat,
    private readonly clock: Clock,
  ) {}

  /** The verdict for a presented key value (non-empty). */
  verify(value: string): Verdict | Promise<Verdict> {
    if (this.format.shape(value) === 'malformed') return INVALID;
    const hash = hashKey(value);
    const entry = this.cache.get(hash);
    if (entry !== undefined) return this.judge(entry);
    return this.load(hash).then((loaded) => this.judge(loaded));
  }

  private judge(entry: CacheEntry): Verdict {
    const record = entry.record;
    if (record === null) return INVALID;
    const status = statusOf(record, this.clock.now());
    if (status === 'active') {
      let principal = this.principals.get(entry);
      if (principal === undefined) {
        principal = principalOf(record);
        this.principals.set(entry, principal);
      }
      return { ok: true, principal };
    }
    const code = status === 'revoked' ? 'key_revoked' : status === 'expired' ? 'key_expired' : 'key_disabled';
    return { ok: false, code, keyId: record.id, appId: record.appId };
  }

  /** Loads from the store, one query per hash however many requests wait for it. */
  private load(hash: string): Promise<CacheEntry> {
    let pending = this.loading.get(hash);
    if (pending === undefined) {
      const version = this.cache.version;
      pending = this.store
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
        .finally(() => this.loading.delete(hash));
      this.loading.set(hash, pending);
    }
    return pending;
  }
}
