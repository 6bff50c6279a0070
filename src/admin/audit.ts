import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { AuditEntry, AuditLog, Json } from '../store/interface.js';

/** Who made a change: `root` (KEYGATE_ADMIN_TOKEN), `token:<id>`, or `system` (e.g. auto-suspend). */
export type Actor = string;

/**
 * Writes the audit trail. Callers pass public views (never a key's plaintext or hash), so an
 * audit entry can be shown to any reader.
 */
export class Auditor {
  constructor(
    private readonly log: AuditLog,
    private readonly clock: Clock,
  ) {}

  async record(actor: Actor, action: string, target: string, before: object | null, after: object | null): Promise<void> {
    await this.log.append(this.entry(actor, action, target, before, after));
  }

  /** Several entries in one write (bulk operations). */
  async recordMany(items: Array<{ actor: Actor; action: string; target: string; before: object | null; after: object | null }>): Promise<void> {
    await this.log.appendMany(items.map((i) => this.entry(i.actor, i.action, i.target, i.before, i.after)));
  }

  private entry(actor: Actor, action: string, target: string, before: object | null, after: object | null): AuditEntry {
    const ts = this.clock.now();
    return { id: newId('aud', ts), ts, actor, action, target, before: before as Json | null, after: after as Json | null };
  }
}
