import type { Socket } from 'node:net';
import type { HashMemo } from '../keys/format.js';
import type { Verdict } from '../keys/principal.js';
import type { KeyVerifier } from '../keys/verify.js';
import type { KeySource } from '../proxy/routes.js';
import type { Refusal, RequestContext, Stage, StageResult } from './context.js';

const MISSING: Refusal = { code: 'missing_api_key', detail: 'send an API key in the x-api-key header' };
const MULTIPLE: Refusal = { code: 'invalid_api_key', detail: 'more than one API key in the request' };
const INVALID: Refusal = { code: 'invalid_api_key' };
const BEARER = /^bearer[ \t]+/i;
const HASH_MEMO = Symbol('keygate.hashMemo');

/** The hash memo of the request's connection, made on its first call. */
function memoOf(ctx: RequestContext): HashMemo | undefined {
  const socket = ctx.req.socket as (Socket & { [HASH_MEMO]?: HashMemo }) | null | undefined;
  if (!socket) return undefined;
  return (socket[HASH_MEMO] ??= { value: null, hash: '' });
}

/** The credential presented through `source`, '' if absent or empty, or null if ambiguous. */
function read(ctx: RequestContext, source: KeySource): string | null {
  const headers = ctx.req.headers;
  if (source.kind === 'header') {
    const value = headers['x-api-key'] as string | undefined;
    if (value === undefined) return '';
    // Duplicate x-api-key headers arrive joined by ", ": no key contains a space.
    return value.includes(', ') ? null : value.trim();
  }
  if (source.kind === 'bearer') {
    const value = headers.authorization;
    if (value === undefined || !BEARER.test(value)) return '';
    return value.replace(BEARER, '').trim();
  }
  if (ctx.search === '') return '';
  const values = new URLSearchParams(ctx.search).getAll(source.name);
  if (values.length > 1) return null;
  if (values.length === 1) ctx.credentialQueryParam = source.name;
  return values[0] ?? '';
}

/** Told of every verdict; a promise it returns delays the refusal (not an admitted call). */
export type KeyListener = (ctx: RequestContext, verdict: Verdict) => void | Promise<void>;

/**
 * Finds the credential in the route's key sources (in their configured order; an empty value
 * counts as none) and verifies it. Writes `ctx.principal` on success.
 */
export class Authenticate implements Stage {
  readonly name = 'authenticate';

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly onVerdict?: KeyListener,
  ) {}

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    let credential = '';
    for (const source of ctx.route.keySources) {
      const value = read(ctx, source);
      if (value === null) return this.refuse(ctx, MULTIPLE);
      if (value !== '') {
        credential = value;
        break;
      }
    }
    if (credential === '') return MISSING;
    ctx.credential = credential;
    const verdict = this.verifier.verify(credential, ctx.receivedAt, memoOf(ctx));
    if (verdict instanceof Promise) return verdict.then((v) => this.apply(ctx, v));
    return this.apply(ctx, verdict);
  }

  private apply(ctx: RequestContext, verdict: Verdict): StageResult | Promise<StageResult> {
    const told = this.onVerdict?.(ctx, verdict);
    if (verdict.ok) {
      ctx.principal = verdict.principal;
      return undefined;
    }
    ctx.refusedKeyId = verdict.keyId ?? null;
    ctx.refusedAppId = verdict.appId ?? null;
    const refusal = verdict.code === 'invalid_api_key' ? INVALID : { code: verdict.code };
    return told instanceof Promise ? told.then(() => refusal) : refusal;
  }

  private refuse(ctx: RequestContext, refusal: Refusal): Refusal | Promise<Refusal> {
    const told = this.onVerdict?.(ctx, { ok: false, code: 'invalid_api_key' });
    return told instanceof Promise ? told.then(() => refusal) : refusal;
  }
}
