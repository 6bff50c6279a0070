import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { UsageEvent } from '../events.js';
import type { DetectionEngine } from './engine.js';

export interface ReplayResult {
  lines: number;
  events: number;
  alerts: number;
  broken: number;
  outOfOrder: number;
}

/** One input line as an event, or the reason it is not one. */
export function parseEventLine(line: string): UsageEvent | string {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return 'not valid JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const ts = typeof raw.ts === 'string' ? Date.parse(raw.ts) : typeof raw.ts === 'number' ? raw.ts : NaN;
  if (!Number.isFinite(ts)) return '"ts" must be an ISO 8601 time';
  if (raw.keyId !== null && typeof raw.keyId !== 'string') return '"keyId" must be a string or null';
  if (typeof raw.ip !== 'string' || raw.ip === '') return '"ip" must be an address';
  if (!Number.isInteger(raw.status)) return '"status" must be an integer';
  if (raw.country !== undefined && raw.country !== null && typeof raw.country !== 'string') return '"country" must be a string';
  return {
    ts,
    keyId: (raw.keyId as string | null) ?? null,
    appId: typeof raw.appId === 'string' ? raw.appId : null,
    route: typeof raw.route === 'string' ? raw.route : '',
    method: typeof raw.method === 'string' ? raw.method : 'GET',
    status: raw.status as number,
    latencyMs: typeof raw.latencyMs === 'number' ? raw.latencyMs : 0,
    ip: raw.ip,
    bytesIn: 0,
    bytesOut: 0,
    code: null,
    ...(typeof raw.country === 'string' ? { country: raw.country.toUpperCase() } : {}),
  };
}

/**
 * Runs the detectors over a JSON-lines file of past calls, in the order given and on event
 * time only. Alerts go to `out` as JSON lines; broken and out-of-order lines are reported to
 * `warn` with their line number and skipped. Streams: the file is never held in memory.
 */
export async function replay(
  input: Readable,
  engine: DetectionEngine,
  out: (line: string) => void,
  warn: (line: string) => void,
  progress?: (lines: number) => void,
): Promise<ReplayResult> {
  const result: ReplayResult = { lines: 0, events: 0, alerts: 0, broken: 0, outOfOrder: 0 };
  let last = -Infinity;
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    result.lines++;
    if (result.lines % 10_000 === 0) progress?.(result.lines);
    if (line.trim() === '') continue;
    const event = parseEventLine(line);
    if (typeof event === 'string') {
      result.broken++;
      warn(`line ${result.lines}: ${event}; skipped`);
      continue;
    }
    if (event.ts < last) {
      result.outOfOrder++;
      warn(`line ${result.lines}: out of time order (${new Date(event.ts).toISOString()} is before ${new Date(last).toISOString()}); skipped`);
      continue;
    }
    last = event.ts;
    result.events++;
    for (const d of engine.process(event)) {
      result.alerts++;
      out(JSON.stringify({ ts: new Date(d.ts).toISOString(), keyId: d.keyId, ip: d.ip, type: d.type, severity: d.severity, detail: d.detail }));
    }
  }
  progress?.(result.lines);
  return result;
}
