import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { Logger } from '../../log.js';
import type { Metrics } from '../metrics.js';

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key of the `x-keygate-signature` header; unsigned without one. */
  secret: string | null;
  /** Attempts per alert, the first included. */
  attempts?: number;
  /** First retry delay; doubled on each retry (with jitter). */
  backoffMs?: number;
  /** Deliveries waiting at most; beyond it the oldest is dropped (and counted). */
  maxQueued?: number;
  timeoutMs?: number;
}

/** The signature header value for a body: `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Sends alerts to a webhook as JSON, signed with HMAC-SHA256, retried with exponential back-off
 * on network errors and non-2xx answers, in the background (never blocking detection).
 */
export class WebhookNotifier {
  private readonly queue: Array<{ id: string; body: string; attempt: number; due: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;

  constructor(
    private readonly options: WebhookOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  send(id: string, payload: object): void {
    if (this.closed) return;
    if (this.queue.length >= (this.options.maxQueued ?? 1000)) {
      this.queue.shift();
      this.metrics.webhookFailures.inc({ reason: 'dropped' });
    }
    this.queue.push({ id, body: JSON.stringify(payload), attempt: 0, due: Date.now() });
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.deliver();
    }, ms);
    this.timer.unref();
  }

  private async deliver(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      const now = Date.now();
      const ready = this.queue.filter((q) => q.due <= now);
      for (const item of ready) {
        const ok = await this.post(item);
        const index = this.queue.indexOf(item);
        if (ok) {
          if (index >= 0) this.queue.splice(index, 1);
          continue;
        }
        item.attempt++;
        if (item.attempt >= (this.options.attempts ?? 6)) {
          if (index >= 0) this.queue.splice(index, 1);
          this.metrics.webhookFailures.inc({ reason: 'gave_up' });
          this.logger.error({ alert: item.id, attempts: item.attempt }, 'webhook delivery failed for good');
          continue;
        }
        const base = (this.options.backoffMs ?? 1000) * 2 ** (item.attempt - 1);
        item.due = Date.now() + base * (0.8 + Math.random() * 0.4);
      }
    } finally {
      this.sending = false;
    }
    if (this.queue.length > 0) this.schedule(Math.max(0, Math.min(...this.queue.map((q) => q.due)) - Date.now()));
  }

  private async post(item: { id: string; body: string; attempt: number }): Promise<boolean> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'keygate-webhook',
      'x-keygate-event': 'alert',
      'x-keygate-delivery': item.id,
      'x-keygate-attempt': String(item.attempt + 1),
    };
    if (this.options.secret) headers['x-keygate-signature'] = signature(this.options.secret, item.body);
    try {
      const res = await request(this.options.url, {
        method: 'POST',
        headers,
        body: item.body,
        headersTimeout: this.options.timeoutMs ?? 10_000,
        bodyTimeout: this.options.timeoutMs ?? 10_000,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return true;
      this.metrics.webhookFailures.inc({ reason: `http_${res.statusCode}` });
      this.logger.warn({ alert: item.id, status: res.statusCode, attempt: item.attempt + 1 }, 'webhook answered with an error; will retry');
    } catch (err) {
      this.metrics.webhookFailures.inc({ reason: 'network' });
      this.logger.warn({ alert: item.id, err: (err as Error).message, attempt: item.attempt + 1 }, 'webhook unreachable; will retry');
    }
    return false;
  }

  /** Tries once more to deliver what is due, then stops. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.deliver();
    this.closed = true;
  }
}
