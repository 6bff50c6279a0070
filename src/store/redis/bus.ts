import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { RemoteChangeBus } from '../bus.js';

/**
 * Change broadcast over Redis pub/sub: every node publishes its changes on one channel and
 * applies everyone else's. Failure policy: while the subscription is down `connected` is false
 * (caches fall back to a 1 s TTL, see keys/cache.ts); after it comes back every listener gets a
 * `reset` (changes may have been missed). A publish that fails is logged and dropped: other
 * nodes then pick the change up through their cache TTL.
 */
export class RedisChangeBus extends RemoteChangeBus {
  private readonly channel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    logger: Logger,
    onPublishFailure?: () => void,
  ) {
    super(logger, onPublishFailure);
    this.channel = `${prefix}changes`;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    // After a reconnect: subscribing again is harmless (ioredis also re-subscribes).
    subscriber.on('ready', () => void this.start());
    subscriber.on('close', () => this.down());
  }

  /** Subscribes if the connection is up (otherwise on 'ready'). Never throws. */
  async start(): Promise<void> {
    if (this.isUp || this.subscriber.status !== 'ready') return;
    try {
      await this.subscriber.subscribe(this.channel);
      this.up();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'change bus subscribe failed');
    }
  }

  protected async send(message: string): Promise<void> {
    await this.publisher.publish(this.channel, message);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
