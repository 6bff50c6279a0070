import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import { PublicError } from '../errors/codes.js';
import { newId } from '../ids.js';
import { hashKey } from '../keys/format.js';
import type { ChangeBus } from '../store/bus.js';
import type { AdminToken, AdminTokenStore, MetaStore, Page, PageRequest, Scope } from '../store/interface.js';
import type { Actor, Auditor } from './audit.js';

export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** `admin` implies `write`, which implies `read`. */
export function scopeAllows(granted: readonly Scope[], needed: Scope): boolean {
  const rank = (s: Scope) => SCOPES.indexOf(s);
  return granted.some((g) => rank(g) >= rank(needed));
}

/** The caller of an admin request, as established from its token. */
export interface AdminCaller {
  actor: Actor;
  scopes: readonly Scope[];
}

export interface TokenView {
  id: string;
  name: string;
  hint: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

function view(t: AdminToken): TokenView {
  return {
    id: t.id,
    name: t.name,
    hint: t.hint,
    scopes: t.scopes,
    createdAt: new Date(t.createdAt).toISOString(),
    revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
  };
}

const TOKEN_PREFIX = 'kga_';
const CACHE_TTL_MS = 30_000;

/**
 * Admin tokens: stored hashed, compared in constant time, cached by hash. Cache invalidation:
 * every token change is broadcast on the ChangeBus (evicts on all nodes); entries also expire
 * after 30 s, or 1 s while the bus is disconnected.
 */
export class AdminTokenService {
  private readonly cache = new Map<string, { token: AdminToken | null; at: number }>();
  private readonly rootHash: Buffer | null;
  /** Bumped by every invalidation: a lookup that overlapped one is not cached. */
  private version = 0;

  constructor(
    private readonly tokens: AdminTokenStore,
    private readonly meta: MetaStore,
    private readonly auditor: Auditor,
    private readonly bus: ChangeBus,
    private readonly clock: Clock,
    rootToken?: string,
  ) {
    this.rootHash = rootToken ? Buffer.from(hashKey(rootToken)) : null;
    bus.subscribe((change) => {
      if (change.kind === 'token') {
        this.version++;
        this.cache.delete(change.hash);
      } else if (change.kind === 'reset') {
        this.version++;
        this.cache.clear();
      }
    });
  }

  /** The caller for a presented token, or null if it is not a live admin token. */
  async authenticate(presented: string): Promise<AdminCaller | null> {
    if (presented.length < 20 || presented.length > 512) return null;
    const hash = hashKey(presented);
    if (this.rootHash && timingSafeEqual(Buffer.from(hash), this.rootHash)) return { actor: 'root', scopes: ['admin'] };
    const now = this.clock.now();
    const ttl = this.bus.connected ? CACHE_TTL_MS : 1000;
    let cached = this.cache.get(hash);
    if (!cached || now - cached.at >= ttl) {
      const version = this.version;
      cached = { token: await this.tokens.findByHash(hash), at: now };
      if (version === this.version) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(hash, cached);
      }
    }
    const token = cached.token;
    if (!token || token.revokedAt !== null) return null;
    return { actor: `token:${token.id}`, scopes: token.scopes };
  }

  async create(actor: Actor, input: { name: string; scopes: Scope[] }): Promise<TokenView & { token: string }> {
    const { token, plaintext } = await this.issue(actor, input.name, [...new Set(input.scopes)]);
    return { ...view(token), token: plaintext };
  }

  /** Generates, stores, broadcasts and audits a new token. */
  private async issue(actor: Actor, name: string, scopes: Scope[]): Promise<{ token: AdminToken; plaintext: string }> {
    const plaintext = TOKEN_PREFIX + randomBytes(30).toString('base64url');
    const now = this.clock.now();
    const token: AdminToken = {
      id: newId('tok', now),
      name,
      hash: hashKey(plaintext),
      hint: `${TOKEN_PREFIX}...${plaintext.slice(-4)}`,
      scopes,
      createdAt: now,
      revokedAt: null,
    };
    await this.tokens.insert(token);
    await this.bus.publish({ kind: 'token', hash: token.hash });
    await this.auditor.record(actor, 'admin_token.create', token.id, null, view(token));
    return { token, plaintext };
  }

  async list(page: PageRequest): Promise<Page<TokenView>> {
    const result = await this.tokens.list(page);
    return { items: result.items.map(view), nextCursor: result.nextCursor };
  }

  async revoke(actor: Actor, id: string): Promise<TokenView> {
    const before = await this.tokens.get(id);
    if (!before) throw new PublicError('not_found', `no admin token with id ${id}`);
    if (before.revokedAt !== null) return view(before);
    const after = (await this.tokens.revoke(id, this.clock.now()))!;
    await this.bus.publish({ kind: 'token', hash: after.hash });
    await this.auditor.record(actor, 'admin_token.revoke', id, view(before), view(after));
    return view(after);
  }

  /**
   * On a cluster's first start without KEYGATE_ADMIN_TOKEN: issues an admin-scoped token and
   * returns its plaintext, exactly once across all nodes sharing the store; null otherwise.
   */
  async bootstrap(): Promise<string | null> {
    if (this.rootHash) return null;
    if (!(await this.meta.claim('bootstrap_token', new Date(this.clock.now()).toISOString()))) return null;
    return (await this.issue('system', 'bootstrap', ['admin'])).plaintext;
  }
}
