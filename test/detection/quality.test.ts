import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../src/monitor/detect/engine.js';
import { Locator } from '../../src/monitor/detect/geo.js';
import { detectorSettings } from '../../src/monitor/detect/settings.js';
import { formatQuality, scenario, score, type Detected } from '../support/scenarios.js';

/**
 * The quality report of the detectors on labelled synthetic traffic (see
 * test/support/scenarios.ts; `npx tsx test/quality-run.ts 100 35 <seed>` runs a bigger one).
 * Targets: recall and precision of at least 0.9 for every type, fewer than 0.5 false alerts
 * per key-month.
 */
describe('detector quality on labelled synthetic traffic', () => {
  it.each([5, 17])('meets the targets (seed %i)', async (seed) => {
    const keys = 40;
    const days = 35;
    const s = scenario({ seed, keys, days, anomalousShare: 0.6, anomaliesFrom: 21, start: Date.parse('2026-09-07T00:00:00Z') });
    const engine = new DetectionEngine({ settings: detectorSettings(), locator: await Locator.open() });
    const alerts: Detected[] = [];
    for (const e of s.events()) for (const d of engine.process(e)) alerts.push(d);
    const q = score(s.anomalies, alerts, (keys * days) / 30);
    process.stdout.write(`\nseed ${seed}:\n${formatQuality(q)}\n`);
    for (const row of q.rows) {
      expect(row.injected, row.type).toBeGreaterThan(0);
      expect(row.recall, row.type).toBeGreaterThanOrEqual(0.9);
      expect(row.precision, row.type).toBeGreaterThanOrEqual(0.9);
    }
    expect(q.falseAlertsPerKeyMonth).toBeLessThan(0.5);
  }, 300_000);
});
