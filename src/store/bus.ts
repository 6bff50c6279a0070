/**
 * Change broadcast: how a change made on one node reaches the caches of every node.
 * Every change to a key, plan or admin token is published after it is written to the store.
 */
export type Change =
  /** A key changed (any field) or was created: evict it from caches, by id and by hash. */
  | { kind: 'key'; id: string; hash: string }
  /** An admin token changed or was created. */
  | { kind: 'token'; hash: string }
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

/** Wire form of a change sent to other nodes; `from` lets a node skip its own messages. */
export function encodeChange(from: string, change: Change): string {
  return JSON.stringify({ from, change });
}

/** The change in a message from another node, or null (own message, or not a change). */
export function decodeChange(self: string, message: string): Change | null {
  try {
    const parsed = JSON.parse(message) as { from?: string; change?: Change };
    if (parsed.from === self || !parsed.change || typeof parsed.change.kind !== 'string') return null;
    return parsed.change;
  } catch {
    return null;
  }
}
