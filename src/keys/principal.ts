import type { KeyRefusalCode } from '../errors/codes.js';
import type { Json, KeyRecord } from '../store/interface.js';

/**
 * Who is calling: written once by authentication, read by every later stage (as Kong's
 * `kong.client.authenticate` does).
 */
export interface Principal {
  readonly keyId: string;
  readonly appId: string;
  readonly planId: string | null;
  /** Throttle and quota state is kept per lineage, so a rotated key inherits its predecessor's usage. */
  readonly lineageId: string;
  readonly metadata: Json | null;
}

/** The outcome of checking a key. A refusal is data, not an exception. */
export type Verdict =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly code: KeyRefusalCode; readonly keyId?: string; readonly appId?: string };

export function principalOf(record: KeyRecord): Principal {
  return {
    keyId: record.id,
    appId: record.appId,
    planId: record.planId,
    lineageId: record.lineageId,
    metadata: record.metadata,
  };
}

/** The status of a stored key at `now`. Revoked wins over expired, expired over disabled. */
export function statusOf(record: KeyRecord, now: number): 'active' | 'disabled' | 'expired' | 'revoked' {
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired';
  if (!record.enabled) return 'disabled';
  return 'active';
}
