import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../log.js';
import { decodeChange, encodeChange, LocalChangeBus, type Change, type ChangeBus, type ChangeListener } from '../bus.js';

const CHANNEL = 'keygate_changes';

/**
 * Change broadcast over PostgreSQL LISTEN/NOTIFY, for clusters on PostgreSQL without Redis.
 * Same failure policy as the Redis bus: while the listening connection is down `connected`
 * is false (caches use a 1 s TTL); on reconnect listeners get a `reset`.
 */
export class PostgresChangeBus implements ChangeBus {
  private readonly local = new LocalChangeBus();
  private readonly node = randomBytes(6).toString('hex');
  private client: pg.Client | null = null;
  private ready = false;
  private everReady = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly notify: (channel: string, payload: string) => Promise<void>,
    private readonly logger: Logger,
    /** Called when a change cannot be broadcast (a metric). */
    private readonly onPublishFailure: () => void = () => {},
  ) {}

  /** Connects and listens; on failure keeps retrying in the background. Never throws. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'keygate-bus' });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel === CHANNEL && msg.payload) this.receive(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'change bus (PostgreSQL) cannot listen; retrying');
      this.lost(client);
      return;
    }
    this.client = client;
    const again = this.everReady;
    this.ready = true;
    this.everReady = true;
    if (again) this.local.deliver({ kind: 'reset' });
  }

  private lost(client: pg.Client): void {
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.ready = false;
    client.end().catch(() => {});
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, 1000);
    this.retry.unref();
  }

  get connected(): boolean {
    return this.ready;
  }

  async publish(change: Change): Promise<void> {
    this.local.deliver(change);
    try {
      await this.notify(CHANNEL, encodeChange(this.node, change));
    } catch (err) {
      this.onPublishFailure();
      this.logger.warn({ err: (err as Error).message, change: change.kind }, 'change broadcast failed; other nodes rely on their cache TTL');
    }
  }

  subscribe(listener: ChangeListener): void {
    this.local.subscribe(listener);
  }

  private receive(message: string): void {
    const change = decodeChange(this.node, message);
    if (change) this.local.deliver(change);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.ready = false;
    await client?.end().catch(() => {});
  }
}
