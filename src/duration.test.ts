import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
    ['250ms', 250],
    ['60', 60_000],
    ['0s', 0],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'abc', '10x', '5 days', '-5s', 'h', '1d 2h'])('refuses %j', (text) => expect(parseDuration(text)).toBeNull());

  it('formats', () => {
    expect(formatDuration(129_600_000)).toBe('1d12h');
    expect(formatDuration(61_000)).toBe('1m1s');
    expect(formatDuration(5)).toBe('5ms');
  });
});
