import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { KeyRecord, KeyStore } from '../store/interface.js';
import { KeyCache } from './cache.js';
import { hashKey, hashKeyWith, KeyFormat, type HashMemo } from './format.js';
import { KeyVerifier, StoreUnavailable } from './verify.js';

const format = new KeyFormat();

/** A KeyStore over a Map, counting lookups; `down` makes it fail like an unreachable database. */
class MapKeyStore implements Pick<KeyStore, 'findByHash'> {
  records = new Map<string, KeyRecord>();
  lookups = 0;
  down = false;
  gate: Promise<void> | null = null;
  async findByHash(hash: string): Promise<KeyRecord | null> {
    this.lookups++;
    if (this.gate) await this.gate;
    if (this.down) throw new Error('connection refused');
    const r = this.records.get(hash);
    return r ? { ...r } : null;
  }
}

function record(key: string, over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_1',
    appId: 'app_1',
    hash: hashKey(key),
    hint: '',
    name: null,
    planId: null,
    enabled: true,
    metadata: null,
    lineageId: 'key_1',
    rotatedFrom: null,
    replacedBy: null,
    description: null,
    expiresAt: null,
    revokedAt: null,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

function setup(connected = true) {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new MapKeyStore();
  const state = { connected };
  const cache = new KeyCache({ clock, ttlMs: 30_000, maxEntries: 3, maxNegativeEntries: 2, connected: () => state.connected });
  const verifier = new KeyVerifier(store as unknown as KeyStore, cache, format, clock);
  return { clock, store, cache, verifier, state };
}

describe('key verification and its cache', () => {
  it('answers a warm-cache verification synchronously, with one store lookup in all', async () => {
    const { store, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    const first = await verifier.verify(key);
    expect(first).toMatchObject({ ok: true, principal: { keyId: 'key_1', appId: 'app_1' } });
    const second = verifier.verify(key);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toMatchObject({ ok: true });
    expect(store.lookups).toBe(1);
  });

  it('refuses malformed values without a store lookup', () => {
    const { store, verifier } = setup();
    const key = format.generate();
    const bad = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    expect(verifier.verify(bad)).toEqual({ ok: false, code: 'invalid_api_key' });
    expect(verifier.verify('x'.repeat(300))).toEqual({ ok: false, code: 'invalid_api_key' });
    expect(store.lookups).toBe(0);
  });

  it('coalesces concurrent misses for one key into one lookup', async () => {
    const { store, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    const results = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(key)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(store.lookups).toBe(1);
  });

  it('invalidation rule 1: an evicted key is looked up again', async () => {
    const { store, cache, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    await verifier.verify(key);
    store.records.set(hashKey(key), record(key, { revokedAt: 1 }));
    expect(verifier.verify(key)).toMatchObject({ ok: true }); // still cached
    cache.evictId('key_1');
    expect(await verifier.verify(key)).toMatchObject({ ok: false, code: 'key_revoked', keyId: 'key_1' });
  });

  it('invalidation rule 1b: a lookup that raced with an eviction is not trusted for later requests', async () => {
    const { store, cache, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const pending = verifier.verify(key); // reads the active record...
    store.records.set(hashKey(key), record(key, { revokedAt: 1 }));
    cache.evictHash(hashKey(key)); // ...while a revoke lands
    store.gate = null;
    open();
    await pending;
    expect(await verifier.verify(key)).toMatchObject({ ok: false, code: 'key_revoked' });
  });

  it('invalidation rule 2: entries are reloaded after the TTL, or after 1 s while the bus is down (served once more while reloading)', async () => {
    const { store, clock, verifier, state } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    await verifier.verify(key);
    store.records.set(hashKey(key), record(key, { enabled: false }));
    clock.advance(29_000);
    expect(verifier.verify(key)).toMatchObject({ ok: true });
    expect(store.lookups).toBe(1);
    clock.advance(1_000);
    // Past the TTL: the stale answer is given at once, and a reload starts in the background.
    expect(verifier.verify(key)).toMatchObject({ ok: true });
    await new Promise((r) => setImmediate(r));
    expect(verifier.verify(key)).toMatchObject({ ok: false, code: 'key_disabled' });
    store.records.set(hashKey(key), record(key));
    state.connected = false;
    clock.advance(1_000);
    verifier.verify(key);
    await new Promise((r) => setImmediate(r));
    expect(verifier.verify(key)).toMatchObject({ ok: true });
    expect(store.lookups).toBe(3);
  });

  it('does not let a request join a lookup that started before an eviction (regression)', async () => {
    const { store, cache, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const early = verifier.verify(key); // a lookup reading the active record...
    store.records.set(hashKey(key), record(key, { revokedAt: 1 }));
    cache.evictHash(hashKey(key)); // ...a revoke lands...
    store.gate = null;
    const late = verifier.verify(key); // ...and a request after it must see the revoke
    open();
    await early;
    expect(await late).toMatchObject({ ok: false, code: 'key_revoked' });
  });

  it('invalidation rule 3: clear() forgets everything', async () => {
    const { store, cache, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    await verifier.verify(key);
    cache.clear();
    expect(verifier.verify(key)).toBeInstanceOf(Promise);
  });

  it('judges expiry at every verification without any invalidation', async () => {
    const { store, clock, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key, { expiresAt: clock.now() + 1000 }));
    expect(await verifier.verify(key)).toMatchObject({ ok: true });
    clock.advance(1000);
    expect(verifier.verify(key)).toMatchObject({ ok: false, code: 'key_expired' });
  });

  it('keeps serving a verified key from cache while the store is down, and refuses unknown ones with a fault', async () => {
    const { store, clock, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    await verifier.verify(key);
    store.down = true;
    clock.advance(60_000);
    expect(await verifier.verify(key)).toMatchObject({ ok: true });
    // Retries at most once a second while down.
    const lookups = store.lookups;
    expect(verifier.verify(key)).toMatchObject({ ok: true });
    expect(store.lookups).toBe(lookups);
    await expect(verifier.verify(format.generate())).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('bounds both maps; a flood of unknown keys cannot push out known ones', async () => {
    const { store, cache, verifier } = setup();
    const known = format.generate();
    store.records.set(hashKey(known), record(known));
    await verifier.verify(known);
    for (let i = 0; i < 20; i++) await verifier.verify(format.generate());
    expect(cache.size).toBe(3); // 1 positive + 2 negative
    expect(verifier.verify(known)).toMatchObject({ ok: true });
  });
});

describe('no plaintext comparison', () => {
  it('looks keys up by hash only: values sharing a long prefix with a real key cost the same single lookup', async () => {
    const { store, verifier } = setup();
    const real = format.generate();
    store.records.set(hashKey(real), record(real));
    const asked: string[] = [];
    const original = store.findByHash.bind(store);
    store.findByHash = async (hash: string) => {
      asked.push(hash);
      return original(hash);
    };
    // Imported-style values sharing 0 to 29 leading characters with an imported real key.
    const importedReal = 'partner-key-0123456789abcdefghij';
    store.records.set(hashKey(importedReal), record(importedReal, { id: 'key_2' }));
    const probes = Array.from({ length: 30 }, (_, shared) => importedReal.slice(0, shared) + 'Z'.repeat(importedReal.length - shared));
    for (const probe of probes) expect(await verifier.verify(probe)).toEqual({ ok: false, code: 'invalid_api_key' });
    // One lookup per distinct value, however much of it matched; only hashes reach the store.
    expect(asked).toHaveLength(probes.length);
    expect(new Set(asked).size).toBe(probes.length);
    for (const [i, hash] of asked.entries()) {
      expect(hash).toBe(hashKey(probes[i]!));
      expect(hash).not.toContain(probes[i]!.slice(0, 8));
    }
  });
});

describe('the per-connection hash memo', () => {
  it('gives the hash of the value presented, whatever the memo held before', () => {
    const memo: HashMemo = { value: null, hash: '' };
    const key = format.generate();
    // Same length, one character apart, and the other way round: never the memo's hash.
    const near = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    for (const value of [key, key, near, key, near, near, `${key}x`, key]) {
      expect(hashKeyWith(value, memo)).toBe(hashKey(value));
      expect(memo).toEqual({ value, hash: hashKey(value) });
    }
  });

  it('serves verdicts through a memo exactly as without: another value on the connection, a revoked key', async () => {
    const { store, cache, verifier } = setup();
    const key = format.generate();
    store.records.set(hashKey(key), record(key));
    const memo: HashMemo = { value: null, hash: '' };
    expect(await verifier.verify(key, undefined, memo)).toMatchObject({ ok: true });
    const other = format.generate();
    expect(await verifier.verify(other, undefined, memo)).toEqual({ ok: false, code: 'invalid_api_key' });
    expect(verifier.verify(key, undefined, memo)).toMatchObject({ ok: true });
    store.records.set(hashKey(key), record(key, { revokedAt: 1 }));
    cache.evictId('key_1');
    expect(await verifier.verify(key, undefined, memo)).toMatchObject({ ok: false, code: 'key_revoked' });
  });
});
