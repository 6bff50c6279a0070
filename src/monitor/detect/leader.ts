import pg from 'pg';
import type { Logger } from '../../log.js';

/**
 * Who runs the detectors. With SQLite there is one node: it always does. With PostgreSQL, the
 * node holding a session advisory lock does; the others try every few seconds, and take over
 * when the holder's connection ends (stopped or crashed node).
 */
export interface Leadership {
  start(onChange: (leader: boolean) => void): void;
  stop(): Promise<void>;
}

export class SoleLeader implements Leadership {
  start(onChange: (leader: boolean) => void): void {
    onChange(true);
  }
  async stop(): Promise<void> {}
}

const LOCK = 0x6b6764; // "kgd"

export class PostgresLeadership implements Leadership {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private leader = false;
  private stopped = false;
  private onChange: (leader: boolean) => void = () => {};

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly retryMs = 3000,
  ) {}

  start(onChange: (leader: boolean) => void): void {
    this.onChange = onChange;
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.leader) return;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.url, application_name: 'keygate-detector-lock' });
        client.on('error', () => this.lost(client));
        client.on('end', () => this.lost(client));
        await client.connect();
        if (this.stopped) {
          await client.end().catch(() => {});
          return;
        }
        this.client = client;
      }
      const { rows } = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LOCK]);
      if (this.stopped) return;
      if (rows[0]?.ok) {
        this.leader = true;
        this.logger.info('this node runs the detectors for the cluster');
        this.onChange(true);
        return;
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'detector leadership check failed');
      this.lost(this.client);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, this.retryMs);
    this.timer.unref();
  }

  private lost(client: pg.Client | null): void {
    if (client !== this.client) return;
    this.client = null;
    client?.end().catch(() => {});
    if (this.leader) {
      this.leader = false;
      this.logger.warn('lost the detector lock; another node may take over');
      this.onChange(false);
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (this.leader) {
      this.leader = false;
      this.onChange(false);
    }
    await client?.end().catch(() => {});
  }
}
