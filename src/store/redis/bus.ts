import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { decodeChange, encodeChange, LocalChangeBus, type Change, type ChangeBus, type ChangeListener } from '../bus.js';

/**
 * Change broadcast over Redis pub/sub: every node publishes its changes on one channel and
 * applies everyone else's. Failure policy: while the subscription is down `connected` is false
 * (caches fall back to a 1 s TTL, see keys/cache.ts); after it comes back every listener gets a
 * `reset` (changes may have been missed). A publish that fails is logged and dropped: other
 * nodes then pick the change up through their cache TTL.
 */
export class RedisChangeBus implements ChangeBus {
  private readonly local = new LocalChangeBus();
  private readonly node = randomBytes(6).toString('hex');
  private readonly channel: string;
  private ready = false;
  private everReady = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly logger: Logger,
    /** Called when a change cannot be broadcast (a metric). */
    private readonly onPublishFailure: () => void = () => {},
  ) {
    this.channel = `${prefix}changes`;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    subscriber.on('ready', () => {
      if (this.ready) return;
      // Subscribing twice (ioredis also re-subscribes on reconnect) is harmless.
      subscriber.subscribe(this.channel).then(
        () => {
          const again = this.everReady;
          this.ready = true;
          this.everReady = true;
          if (again) this.local.deliver({ kind: 'reset' });
        },
        (err: Error) => logger.warn({ err: err.message }, 'change bus subscribe failed'),
      );
    });
    subscriber.on('close', () => {
      this.ready = false;
    });
  }

  /** Subscribes now if the connection is up (otherwise on 'ready'). Never throws. */
  async start(): Promise<void> {
    if (this.subscriber.status !== 'ready') return;
    try {
      await this.subscriber.subscribe(this.channel);
      this.ready = true;
      this.everReady = true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'change bus subscribe failed');
    }
  }

  get connected(): boolean {
    return this.ready;
  }

  async publish(change: Change): Promise<void> {
    this.local.deliver(change);
    try {
      await this.publisher.publish(this.channel, encodeChange(this.node, change));
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
    this.subscriber.disconnect();
  }
}
