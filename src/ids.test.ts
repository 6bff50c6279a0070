import { describe, expect, it } from 'vitest';
import { newId } from './ids.js';

describe('ids', () => {
  it('sort by creation, also within one millisecond and when the clock stands still', () => {
    const fixed = Date.parse('2026-11-27T10:00:00Z');
    const ids = Array.from({ length: 1000 }, (_, i) => newId('key', fixed + (i < 500 ? 0 : 1)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    expect(ids[0]).toMatch(/^key_[0-9a-hjkmnp-tv-z]{26}$/);
  });

  it('never go backwards when the clock does', () => {
    const a = newId('x', Date.parse('2030-01-01T00:00:00Z'));
    const b = newId('x', Date.parse('2029-01-01T00:00:00Z'));
    expect(b > a).toBe(true);
  });
});
