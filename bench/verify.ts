import { ManualClock } from '../src/clock.js';
import { KeyCache } from '../src/keys/cache.js';
import { hashKey, KeyFormat } from '../src/keys/format.js';
import { KeyVerifier } from '../src/keys/verify.js';
import type { KeyRecord, KeyStore } from '../src/store/interface.js';

/**
 * Warm-cache key verification on one core: shape + checksum, SHA-256, map lookup, status.
 * The cache holds `keys` keys; verifications cycle through a sample of them.
 */
export async function verifyBench(keys = 100_000, seconds = 2): Promise<{ perSecond: number; keys: number }> {
  const format = new KeyFormat();
  const clock = new ManualClock();
  const records = new Map<string, KeyRecord>();
  const plain: string[] = [];
  for (let i = 0; i < keys; i++) {
    const key = format.generate();
    const hash = hashKey(key);
    plain.push(key);
    records.set(hash, {
      id: `key_${i}`, appId: 'app_1', hash, hint: '', name: null, planId: null, enabled: true, metadata: null,
      lineageId: `key_${i}`, rotatedFrom: null, replacedBy: null, description: null, expiresAt: null, revokedAt: null, createdAt: 0, updatedAt: 0,
    });
  }
  const store = { findByHash: async (h: string) => records.get(h) ?? null } as unknown as KeyStore;
  const cache = new KeyCache({ clock, ttlMs: 3_600_000, maxEntries: keys * 2, connected: () => true });
  const verifier = new KeyVerifier(store, cache, format, clock);
  for (const key of plain) await verifier.verify(key);
  const sample = plain.slice(0, 4096);
  let n = 0;
  let ok = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 4096; i++) {
      const v = verifier.verify(sample[i]!);
      if ((v as { ok: boolean }).ok) ok++;
    }
    n += 4096;
  }
  const elapsed = (performance.now() - start) / 1000;
  if (ok !== n) throw new Error('verification failed during the benchmark');
  return { perSecond: n / elapsed, keys };
}
