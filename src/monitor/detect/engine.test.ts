import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../events.js';
import { DetectionEngine } from './engine.js';
import { detectorSettings } from './settings.js';

const start = Date.parse('2026-09-07T00:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function call(ts: number, country: string): UsageEvent {
  return { ts, keyId: 'key_1', appId: 'app_1', route: '/demo', method: 'GET', status: 200, latencyMs: 3, ip: '198.51.100.7', bytesIn: 0, bytesOut: 10, code: null, country };
}

describe('new_location memory', () => {
  it('forgets the least recently seen location first, and raises it again when it comes back', () => {
    const engine = new DetectionEngine({ settings: detectorSettings({ calmMinutes: 1, location: { warmupDays: 1, warmupCalls: 10, maxLocations: 3 } }), locator: null });
    const alerts: Array<{ country: unknown }> = [];
    const feed = (ts: number, country: string) => {
      for (const d of engine.process(call(ts, country))) if (d.type === 'new_location') alerts.push({ country: d.detail.country });
    };
    // Two days of calls from DE, FR and IT, DE last seen hours after the others.
    for (let m = 0; m < 2 * 24 * 60; m += 10) for (const c of ['FR', 'IT', 'DE']) feed(start + m * MINUTE, c);
    expect(alerts).toEqual([]);
    let t = start + 2 * DAY;
    // FR again, more than a minute later: it moves behind DE and IT.
    feed(t, 'FR');
    // Within the minute IT is seen many times: it keeps its place (refreshed at most once a minute).
    t += 5 * MINUTE;
    feed(t, 'IT');
    for (let i = 0; i < 50; i++) feed(t + i * 100, 'IT');
    // A fourth location: the least recently seen goes, which is DE.
    feed(t + 10 * MINUTE, 'ES');
    expect(alerts).toEqual([{ country: 'ES' }]);
    // FR and IT are still known; DE is not.
    feed(t + 15 * MINUTE, 'FR');
    feed(t + 20 * MINUTE, 'IT');
    expect(alerts).toEqual([{ country: 'ES' }]);
    feed(t + 25 * MINUTE, 'DE');
    expect(alerts).toEqual([{ country: 'ES' }, { country: 'DE' }]);
  });
});
