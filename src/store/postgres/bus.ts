import pg from 'pg';
import type { Logger } from '../../log.js';
import { RemoteChangeBus } from '../bus.js';

const CHANNEL = 'keygate_changes';

/**
 * Change broadcast over PostgreSQL LISTEN/NOTIFY, for clusters on PostgreSQL without Redis.
 * Same failure policy as the Redis bus: while the listening connection is down `connected`
 * is false (caches use a 1 s TTL); on reconnect listeners get a `reset`.
 */
export class PostgresChangeBus extends RemoteChangeBus {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly notify: (channel: string, payload: string) => Promise<void>,
    logger: Logger,
    onPublishFailure?: () => void,
  ) {
    super(logger, onPublishFailure);
  }

  /** Connects and listens; on failure keeps retrying in the background. Never throws. */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'keygate-bus', keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
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
    this.up();
  }

  private lost(client: pg.Client): void {
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.down();
    client.end().catch(() => {});
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.start();
    }, 1000);
    this.retry.unref();
  }

  protected async send(message: string): Promise<void> {
    await this.notify(CHANNEL, message);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.down();
    await client?.end().catch(() => {});
  }
}
