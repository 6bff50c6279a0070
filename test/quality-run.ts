// Runs the detectors over a labelled synthetic scenario and prints the quality report.
//   npx tsx test/quality-run.ts [keys] [days] [seed]
import { DetectionEngine } from '../src/monitor/detect/engine.js';
import { Locator } from '../src/monitor/detect/geo.js';
import { detectorSettings } from '../src/monitor/detect/settings.js';
import { formatQuality, scenario, score, type Detected } from './support/scenarios.js';

const [keys = 40, days = 35, seed = 7] = process.argv.slice(2).map(Number);
const s = scenario({ seed, keys, days, anomalousShare: 0.6, anomaliesFrom: 21, start: Date.parse('2026-09-07T00:00:00Z') });
const engine = new DetectionEngine({ settings: detectorSettings(), locator: await Locator.open() });
const alerts: Detected[] = [];
let events = 0;
const t0 = performance.now();
for (const e of s.events()) {
  events++;
  for (const d of engine.process(e)) alerts.push(d);
}
const ms = performance.now() - t0;
const q = score(s.anomalies, alerts, (keys * days) / 30);
console.log(formatQuality(q));
console.log(`${events} events in ${(ms / 1000).toFixed(1)} s`);
if (process.env.SHOW) for (const a of alerts) if (!s.anomalies.some((x) => x.type === a.type && (x.keyId ? x.keyId === a.keyId : x.ip === a.ip) && a.ts >= x.start && a.ts <= x.end + 1800000)) console.log('FALSE', new Date(a.ts).toISOString(), a.type, a.keyId ?? a.ip, JSON.stringify((a as unknown as { detail: unknown }).detail), s.keys.find((k) => k.id === a.keyId)?.kind);
if (process.env.MISSED) for (const x of s.anomalies) if (!alerts.some((a) => x.type === a.type && (x.keyId ? x.keyId === a.keyId : x.ip === a.ip) && a.ts >= x.start && a.ts <= x.end + 1800000)) console.log('MISSED', x.type, x.keyId ?? x.ip, new Date(x.start).toISOString(), (x.end - x.start) / 60000, 'min', JSON.stringify(s.keys.find((k) => k.id === x.keyId)));
