import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';

/**
 * Change broadcast: how a change made on one node reaches the caches of every node.
 * Every change to a key, plan or admin token is published after it is written to the store.
 */
export type Change =
  /** A key changed (any field) or was created: evict it from caches, by id and by hash. */
  | { kind: 'key'; id: string; hash: string }
  /** An admin token changed or was created. */
  | { kind: 'token'; hash: string }
  /** Many keys were created at once (an import): negative cache entries may be wrong now. */
  | { kind: 'new-keys' }
  /** A client address is blocked for guessing keys, until `until` (epoch ms). */
  | { kind: 'block'; ip: string; until: number }
  /** A plan changed: caches that hold plan settings reload it. */
  | { kind: 'plan'; id: string }
  /** Changes may have been missed (reconnect after an outage): drop everything cached. */
  | { kind: 'reset' };

export type ChangeListener = (change: Change) => void;

export interface ChangeBus {
  /**
   * Delivers the change to this node's listeners synchronously, then to the other nodes.
   * Resolves once handed to the transport; never rejects (a lost broadcast is covered by the
   * cache TTL, see keys/cache.ts).
   */
  publish(change: Change): Promise<void>;
  /** Registers a listener for changes from this and every other node. */
  subscribe(listener: ChangeListener): void;
  /**
   * True while changes from other nodes are being received. While false, caches shorten
   * their TTL so that a change still takes effect within about a second.
   */
  readonly connected: boolean;
  close(): Promise<void>;
}

/** The bus of a single node: there are no other nodes to tell. */
export class LocalChangeBus implements ChangeBus {
  private readonly listeners: ChangeListener[] = [];
  readonly connected = true;

  async publish(change: Change): Promise<void> {
    this.deliver(change);
  }

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Hands a change to the listeners; used by transports for changes from other nodes. */
  deliver(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }

  async close(): Promise<void> {}
}

/**
 * The part every cross-node bus shares: local delivery first, then the wire; messages from this
 * node ignored; `connected` state; a `reset` to local listeners when a lost subscription is
 * back (changes may have been missed). Subclasses send and receive.
 */
export abstract class RemoteChangeBus implements ChangeBus {
  private readonly local = new LocalChangeBus();
  private readonly node = randomBytes(6).toString('hex');
  private ready = false;
  private everReady = false;

  constructor(
    protected readonly logger: Logger,
    /** Called when a change cannot be broadcast (a metric). */
    private readonly onPublishFailure: () => void = () => {},
  ) {}

  /** Puts a message on the wire to the other nodes. */
  protected abstract send(message: string): Promise<void>;

  abstract close(): Promise<void>;

  get connected(): boolean {
    return this.ready;
  }

  async publish(change: Change): Promise<void> {
    this.local.deliver(change);
    try {
      await this.send(JSON.stringify({ from: this.node, change }));
    } catch (err) {
      this.onPublishFailure();
      this.logger.warn({ err: (err as Error).message, change: change.kind }, 'change broadcast failed; other nodes rely on their cache TTL');
    }
  }

  subscribe(listener: ChangeListener): void {
    this.local.subscribe(listener);
  }

  /** A message from the wire. */
  protected receive(message: string): void {
    let parsed: { from?: string; change?: Change };
    try {
      parsed = JSON.parse(message) as { from?: string; change?: Change };
    } catch {
      return;
    }
    if (parsed.from === this.node || !parsed.change || typeof parsed.change.kind !== 'string') return;
    this.local.deliver(parsed.change);
  }

  /** The subscription is (again) receiving. */
  protected up(): void {
    const again = this.everReady;
    this.ready = true;
    this.everReady = true;
    if (again) this.local.deliver({ kind: 'reset' });
  }

  /** The subscription is lost. */
  protected down(): void {
    this.ready = false;
  }

  /** True once the subscription is receiving. */
  protected get isUp(): boolean {
    return this.ready;
  }
}
