import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('request duration histogram', () => {
  it('is exposed as a Prometheus histogram: cumulative buckets, +Inf, sum and count per route', async () => {
    const metrics = new Metrics({ defaults: false });
    const api = metrics.duration.labels('/api');
    for (const seconds of [0.0005, 0.001, 0.003, 0.2, 42]) api.observe(seconds);
    metrics.duration.labels('/odd "route"\\x').observe(0.02);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE keygate_request_duration_seconds histogram');
    const line = (le: string) => new RegExp(`^keygate_request_duration_seconds_bucket\\{route="/api",le="${le.replace('+', '\\+')}"\\} (\\S+)$`, 'm').exec(text)?.[1];
    // Upper bounds are inclusive, as in Prometheus: 0.001 falls in le="0.001".
    expect([line('0.001'), line('0.0025'), line('0.005'), line('0.25'), line('30'), line('+Inf')]).toEqual(['2', '2', '3', '4', '4', '5']);
    expect(text).toMatch(/^keygate_request_duration_seconds_count\{route="\/api"\} 5$/m);
    expect(Number(/^keygate_request_duration_seconds_sum\{route="\/api"\} (\S+)$/m.exec(text)?.[1])).toBeCloseTo(42.2045, 6);
    // Label values are escaped.
    expect(text).toContain('keygate_request_duration_seconds_count{route="/odd \\"route\\"\\\\x"} 1');
  });
});
