import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export type OutgoingHeaders = Record<string, string | string[]>;

/** Header names a Connection header lists (to be dropped), or null; `keep-alive`/`close` alone list none. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === '') return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t && t !== 'close' && t !== 'keep-alive');
  return tokens.length ? new Set(tokens) : null;
}

export interface ForwardIdentity {
  appId: string;
  keyId: string;
  metadata: string | null;
}

/**
 * Headers for the upstream request: the client's, minus hop-by-hop headers, the credential
 * headers the route reads keys from, and any `x-keygate-*` a client tried to inject; plus the
 * caller's identity and the usual `x-forwarded-*`.
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  clientIp: string,
  drop: readonly string[],
  identity: ForwardIdentity,
): OutgoingHeaders {
  const incoming: IncomingHttpHeaders = req.headers;
  const named = connectionTokens(incoming.connection);
  const out: OutgoingHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || name === 'host' || name.startsWith('x-keygate-')) continue;
    if (named?.has(name) || drop.includes(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  const prior = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${clientIp}` : clientIp;
  out['x-forwarded-proto'] = 'http';
  if (incoming.host) out['x-forwarded-host'] = incoming.host;
  out['x-keygate-app-id'] = identity.appId;
  out['x-keygate-key-id'] = identity.keyId;
  if (identity.metadata !== null) out['x-keygate-key-metadata'] = identity.metadata;
  return out;
}
