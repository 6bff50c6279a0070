import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kg-replay-'));

async function replay(lines: string[], ...args: string[]) {
  const file = join(dir, `events-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, lines.join('\n') + '\n');
  let out = '';
  let err = '';
  const code = await run(['monitor', 'replay', file, ...args], { out: (s) => (out += s), err: (s) => (err += s) }, {});
  return { code, alerts: out.trim() ? out.trim().split('\n').map((l) => JSON.parse(l)) : [], err };
}

const at = (minutes: number) => new Date(Date.parse('2026-11-27T10:00:00Z') + minutes * 60_000).toISOString();

describe('keygate monitor replay', () => {
  it('prints alerts as JSON lines with the time of the deciding event; the flood alert names the address', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ ts: at(i / 20), keyId: null, ip: '203.0.113.5', status: 401, route: '/orders', method: 'GET', latencyMs: 1 }));
    const { code, alerts, err } = await replay(lines);
    expect(code, err).toBe(0);
    expect(alerts).toEqual([{ ts: at(29 / 20), keyId: null, ip: '203.0.113.5', type: 'invalid_key_flood', severity: 'high', detail: expect.objectContaining({ invalidKeys: 30 }) }]);
    expect(err).toMatch(/replayed 40 events from 40 lines/);
  });

  it('reports broken and out-of-order lines by number, skips them, ignores unknown fields, and processes the rest', async () => {
    const ok = (minute: number, extra = {}) => JSON.stringify({ ts: at(minute), keyId: 'key_a', ip: '5.9.0.1', status: 200, route: '/r', method: 'GET', latencyMs: 3, colour: 'red', ...extra });
    const { code, err } = await replay([ok(0), '{not json', ok(1), JSON.stringify({ ts: 'yesterday', keyId: 'k', ip: '1.2.3.4', status: 200 }), ok(0.5), JSON.stringify({ ts: at(2), keyId: 'k', ip: '1.2.3.4', status: 'ok' }), '', ok(3)]);
    expect(code).toBe(0);
    expect(err).toMatch(/line 2: not valid JSON; skipped/);
    expect(err).toMatch(/line 4: "ts" must be an ISO 8601 time; skipped/);
    expect(err).toMatch(/line 5: out of time order \(2026-11-27T10:00:30.000Z is before 2026-11-27T10:01:00.000Z\); skipped/);
    expect(err).toMatch(/line 6: "status" must be an integer; skipped/);
    expect(err).toMatch(/replayed 3 events from 8 lines in [\d.]+ s: 0 alerts, 3 broken lines, 1 out of order/);
  });

  it('takes a country given in the input as the location, and judges on event time only', async () => {
    // Eight days of a key used from Germany, then one call from Brazil; replayed in well under a second.
    const lines: string[] = [];
    for (let h = 0; h < 8 * 24; h++) lines.push(JSON.stringify({ ts: at(h * 60), keyId: 'key_b', ip: '5.9.0.1', status: 200, country: 'DE' }));
    lines.push(JSON.stringify({ ts: at(8 * 24 * 60 + 5), keyId: 'key_b', ip: '5.9.0.1', status: 200, country: 'BR' }));
    const { alerts } = await replay(lines);
    expect(alerts).toEqual([expect.objectContaining({ ts: at(8 * 24 * 60 + 5), keyId: 'key_b', ip: null, type: 'new_location', detail: expect.objectContaining({ country: 'BR', new: ['BR'] }) })]);
    // Without the country, the address is looked up: 200.160.x.x is Brazilian too.
    lines[lines.length - 1] = JSON.stringify({ ts: at(8 * 24 * 60 + 5), keyId: 'key_b', ip: '200.160.2.3', status: 200 });
    for (let i = 0; i < lines.length - 1; i++) lines[i] = lines[i]!.replace(',"country":"DE"', '');
    expect((await replay(lines)).alerts).toEqual([expect.objectContaining({ type: 'new_location', detail: expect.objectContaining({ country: 'BR' }) })]);
  });

  it('takes detector settings from a config file, and explains a missing file', async () => {
    const config = join(dir, 'keygate.yaml');
    writeFileSync(config, 'monitoring:\n  detectors:\n    flood: { threshold: 5, windowMinutes: 1 }\n');
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ ts: at(i / 60), keyId: null, ip: '198.51.100.9', status: 401 }));
    expect((await replay(lines)).alerts).toHaveLength(0);
    expect((await replay(lines, '--config', config)).alerts).toHaveLength(1);
    let err = '';
    expect(await run(['monitor', 'replay', join(dir, 'missing.jsonl')], { out: () => {}, err: (s) => (err += s) }, {})).toBe(1);
    expect(err).toMatch(/cannot read/);
  });
});
