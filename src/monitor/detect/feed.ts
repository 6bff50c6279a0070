import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { UsageEvent } from '../events.js';

/**
 * Carries every node's calls to the node that runs the detectors, so detectors judge a key's
 * whole traffic and raise each alert once. Events reach the handler in time order (on a
 * cluster, a short reorder delay lets calls recorded on other nodes catch up).
 */
export interface EventFeed {
  /** This node's calls (every node publishes). */
  publish(events: readonly UsageEvent[]): void;
  /** Starts handing the merged calls to `handler` (only the detector node consumes). */
  consume(handler: (events: UsageEvent[]) => void): void;
  /** Stops consuming (publishing goes on). */
  pause(): Promise<void>;
  close(): Promise<void>;
}

/** One node: its own calls are the whole traffic, handed to the detectors at once. */
export class LocalFeed implements EventFeed {
  private handler: ((events: UsageEvent[]) => void) | null = null;

  /**
   * Each batch (the calls of the recorder's last aggregation pass) goes on in time order. A
   * call is recorded when it ends, so a slow call can come a batch after later ones: the
   * detectors count it in their current minute. Nothing is held back, so no call outlives
   * the pass that recorded it (holding them would promote them all to the old generation).
   */
  publish(events: readonly UsageEvent[]): void {
    if (this.handler === null || events.length === 0) return;
    this.handler(inOrder(events) ? (events as UsageEvent[]) : [...events].sort(byTime));
  }

  consume(handler: (events: UsageEvent[]) => void): void {
    this.handler = handler;
  }

  async pause(): Promise<void> {
    this.handler = null;
  }

  async close(): Promise<void> {
    await this.pause();
  }
}

const byTime = (a: UsageEvent, b: UsageEvent) => a.ts - b.ts;

function inOrder(events: readonly UsageEvent[]): boolean {
  for (let i = 1; i < events.length; i++) if (events[i]!.ts < events[i - 1]!.ts) return false;
  return true;
}

type Packed = [number, string | null, string | null, string, string, number, number, string, number, number, string | null];

const pack = (e: UsageEvent): Packed => [e.ts, e.keyId, e.appId, e.route, e.method, e.status, Math.round(e.latencyMs * 100) / 100, e.ip, e.bytesIn, e.bytesOut, e.code];
const unpack = (p: Packed): UsageEvent => ({ ts: p[0], keyId: p[1], appId: p[2], route: p[3], method: p[4], status: p[5], latencyMs: p[6], ip: p[7], bytesIn: p[8], bytesOut: p[9], code: p[10] });

/**
 * Holds each batch of calls (as the packed JSON it arrived in: one string, not a thousand
 * objects to keep alive) for `lateMs` after it arrived, so batches from other nodes can catch
 * up, then releases what is due merged and sorted by event time. Release follows the wall
 * clock; the detectors themselves only ever look at event times.
 */
export class ReorderBuffer {
  private batches: Array<{ at: number; packed: string }> = [];

  constructor(private readonly lateMs: number) {}

  push(packed: string, now = Date.now()): void {
    this.batches.push({ at: now, packed });
  }

  drain(now: number, all = false): UsageEvent[] {
    const due = all ? this.batches : this.batches.filter((b) => b.at <= now - this.lateMs);
    if (due.length === 0) return [];
    this.batches = all ? [] : this.batches.filter((b) => b.at > now - this.lateMs);
    const out: UsageEvent[] = [];
    for (const b of due) for (const p of JSON.parse(b.packed) as Packed[]) out.push(unpack(p));
    return out.sort(byTime);
  }
}

/**
 * Many nodes: every node appends its calls to a Redis stream (one entry per batch, the stream
 * capped at about `maxEntries`); the detector node reads it. The read position is kept in Redis,
 * so a new detector node carries on where the last one stopped.
 */
export class RedisFeed implements EventFeed {
  private readonly stream: string;
  private readonly cursorKey: string;
  private readonly buffer = new ReorderBuffer(2000);
  private reading = false;
  private loop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private handler: ((events: UsageEvent[]) => void) | null = null;

  constructor(
    private readonly writer: Redis,
    /** A connection of its own (XREAD blocks it), failing fast while Redis is down. */
    private readonly reader: Redis,
    prefix: string,
    private readonly logger: Logger,
    private readonly maxEntries = 100_000,
  ) {
    this.stream = `${prefix}events`;
    this.cursorKey = `${prefix}events:cursor`;
  }

  publish(events: readonly UsageEvent[]): void {
    if (events.length === 0) return;
    this.writer
      .xadd(this.stream, 'MAXLEN', '~', String(this.maxEntries), '*', 'b', JSON.stringify(events.map(pack)))
      .catch((err: Error) => this.logger.warn({ err: err.message, events: events.length }, 'calls not handed to the detectors (Redis unreachable)'));
  }

  consume(handler: (events: UsageEvent[]) => void): void {
    this.handler = handler;
    this.reading = true;
    if (this.reader.status === 'end') this.reader.connect().catch(() => {});
    this.loop = this.read();
    this.timer = setInterval(() => this.release(false), 250);
    this.timer.unref();
  }

  private release(all: boolean): void {
    const events = this.buffer.drain(Date.now(), all);
    if (events.length > 0) this.handler?.(events);
  }

  private async read(): Promise<void> {
    let cursor = (await this.writer.get(this.cursorKey).catch(() => null)) ?? '$';
    while (this.reading) {
      try {
        const answer = (await this.reader.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.stream, cursor)) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            cursor = id;
            const batch = fields[fields.indexOf('b') + 1];
            if (batch) this.buffer.push(batch);
          }
          await this.writer.set(this.cursorKey, cursor);
        }
      } catch (err) {
        if (!this.reading) break;
        this.logger.warn({ err: (err as Error).message }, 'reading calls for the detectors failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async pause(): Promise<void> {
    this.reading = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.reader.disconnect(); // ends a blocked XREAD
    await this.loop;
    this.release(true);
    this.handler = null;
  }

  async close(): Promise<void> {
    await this.pause();
  }
}
