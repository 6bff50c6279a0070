import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { AuditLog, Json } from '../store/interface.js';

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
    const ts = this.clock.now();
    await this.log.append({
      id: newId('aud', ts),
      ts,
      actor,
      action,
      target,
      before: before as Json | null,
      after: after as Json | null,
    });
  }
}
