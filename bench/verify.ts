import { ManualClock } from '../src/clock.js';
import { KeyCache } from '../src/keys/cache.js';
import { hashKey, KeyFormat } from '../src/keys/format.js';
import { KeyVerifier } from '../src/keys/verify.js';
import type { KeyRecord, KeyStore } from '../src/store/interface.js';

/**
 * Warm-cache key verification on one core: shape + checksum, SHA-256, map lookup, status.
 * The cache holds `keys` keys. Two access patterns: a hot set of 4,096 of them (the usual case:
 * most traffic comes from few keys), and keys drawn uniformly from the whole set (the worst
 * case: nearly every lookup misses the CPU caches).
 */
export async function verifyBench(keys = 100_000, seconds = 2): Promise<{ keys: number; hot: number; uniform: number }> {
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
  const run = (sample: string[]) => {
    let n = 0;
    let ok = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < sample.length; i++) {
        const v = verifier.verify(sample[i]!);
        if ((v as { ok: boolean }).ok) ok++;
      }
      n += sample.length;
    }
    if (ok !== n) throw new Error('verification failed during the benchmark');
    return n / ((performance.now() - start) / 1000);
  };
  const hot = run(plain.slice(0, 4096));
  const uniform = run(Array.from({ length: 65_536 }, () => plain[Math.floor(Math.random() * plain.length)]!));
  return { keys, hot, uniform };
}
