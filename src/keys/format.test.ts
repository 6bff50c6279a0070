import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyFormat, hashKey, keyHint } from './format.js';

const format = new KeyFormat('kg');

describe('key format', () => {
  it('generates keys with prefix, environment and a valid checksum', () => {
    const live = format.generate('live');
    const test = format.generate('test');
    expect(live).toMatch(/^kg_live_[0-9A-Za-z]{38}$/);
    expect(test).toMatch(/^kg_test_[0-9A-Za-z]{38}$/);
    expect(format.shape(live)).toBe('generated');
    expect(format.environmentOf(test)).toBe('test');
  });

  it('never repeats a key', () => {
    const seen = new Set(Array.from({ length: 5000 }, () => format.generate()));
    expect(seen.size).toBe(5000);
  });

  it('draws random characters close to uniformly (no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      for (const c of format.generate().slice(8, 40)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    const expected = (4000 * 32) / 62;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.12);
  });

  it('rejects any single-character change through the checksum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 45 }), fc.constantFrom(...'0123456789abcdefXYZ'), (pos, ch) => {
        const key = format.generate();
        fc.pre(key[pos] !== ch);
        const bad = key.slice(0, pos) + ch + key.slice(pos + 1);
        expect(format.shape(bad)).toBe('malformed');
      }),
    );
  });

  it('classifies lengths, characters and foreign values', () => {
    expect(format.shape('short')).toBe('malformed');
    expect(format.shape('x'.repeat(257))).toBe('malformed');
    expect(format.shape('abc def ghi jkl mno pqr')).toBe('malformed');
    expect(format.shape('clé-non-ascii-clé-non-ascii')).toBe('malformed');
    expect(format.shape('a-customer-chosen-key-value')).toBe('imported');
    expect(format.shape('kg_live_tooShort12345678')).toBe('malformed');
  });

  it('hashes deterministically and hints without revealing the secret', () => {
    const key = format.generate();
    expect(hashKey(key)).toBe(hashKey(key));
    expect(hashKey(key)).not.toContain(key.slice(8, 20));
    expect(keyHint(key, format)).toBe(`kg_live_...${key.slice(-4)}`);
    expect(keyHint('a-customer-chosen-key-value', format)).toBe('...alue');
  });

  it('refuses an invalid prefix', () => {
    expect(() => new KeyFormat('KG!')).toThrow(/prefix/);
  });
});
