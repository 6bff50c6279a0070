import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Key format. A generated key reads `<prefix>_<env>_<32 random><6 checksum>`, e.g.
 * `kg_live_3Nq...x7Yb0a`:
 * - 32 characters drawn uniformly from base62 by a CSPRNG: 190 bits of entropy;
 * - a CRC32 of everything before it, in 6 base62 characters, so a mistyped or made-up key is
 *   refused without a store lookup, and secret scanners can tell a real key from noise.
 * Imported keys (any printable ASCII of 20–256 characters) are accepted too, and stored hashed
 * the same way.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const RANDOM_CHARS = 32;
export const CHECKSUM_CHARS = 6;
export const MIN_KEY_LENGTH = 20;
export const MAX_KEY_LENGTH = 256;
export const ENVIRONMENTS = ['live', 'test'] as const;
export type KeyEnvironment = (typeof ENVIRONMENTS)[number];

/** What a presented credential turned out to be, before any store lookup. */
export type KeyShape = 'generated' | 'imported' | 'malformed';

function base62Random(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(length * 2);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i]!;
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (b < 248) out += BASE62[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function isBase62(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!ok) return false;
  }
  return true;
}

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export class KeyFormat {
  private readonly heads: string[];

  /** @param prefix product prefix, e.g. `kg` (lowercase letters, 1–10). */
  constructor(readonly prefix = 'kg') {
    if (!/^[a-z]{1,10}$/.test(prefix)) throw new Error(`key prefix must be 1-10 lowercase letters, got "${prefix}"`);
    this.heads = ENVIRONMENTS.map((env) => `${prefix}_${env}_`);
  }

  /** A fresh key for `env`. The caller shows it once and stores only `hashKey(key)`. */
  generate(env: KeyEnvironment = 'live'): string {
    const body = `${this.prefix}_${env}_${base62Random(RANDOM_CHARS)}`;
    return body + checksum(body);
  }

  /**
   * Classifies a presented value without any I/O: a generated key with a valid checksum, a
   * value that could be an imported key, or something that can never be a key.
   */
  shape(value: string): KeyShape {
    const len = value.length;
    if (len < MIN_KEY_LENGTH || len > MAX_KEY_LENGTH || !isPrintableAscii(value)) return 'malformed';
    const head = this.heads.find((h) => value.startsWith(h));
    if (head === undefined) return 'imported';
    // Anything under our own prefix must be a well-formed generated key: no import may shadow it.
    if (len !== head.length + RANDOM_CHARS + CHECKSUM_CHARS || !isBase62(value, head.length, len)) return 'malformed';
    const cut = len - CHECKSUM_CHARS;
    return checksum(value.slice(0, cut)) === value.slice(cut) ? 'generated' : 'malformed';
  }

  /** The environment named by a generated key, or null for an imported one. */
  environmentOf(value: string): KeyEnvironment | null {
    for (const env of ENVIRONMENTS) if (value.startsWith(`${this.prefix}_${env}_`)) return env;
    return null;
  }
}

/** The stored, non-reversible form of a key: SHA-256, base64url. Keys are high-entropy, so no slow KDF is needed. */
export function hashKey(value: string): string {
  return hash('sha256', value, 'base64url');
}

/**
 * A key value and its hash, remembered for one client connection: a keep-alive client sends the
 * same key on every call, and this spares it a SHA-256 each time (about 1 µs of a proxied
 * call). Held in memory only, for the life of the connection, like the request that carried it.
 */
export interface HashMemo {
  value: string | null;
  hash: string;
}

/**
 * `hashKey(value)`, or the memo's hash when the memo holds this very value. The values are
 * compared in constant time (for a given length): on a connection shared by several clients,
 * as behind a load balancer, no caller learns anything of another's key from the timing.
 */
export function hashKeyWith(value: string, memo: HashMemo): string {
  const known = memo.value;
  if (known !== null && known.length === value.length) {
    let diff = 0;
    for (let i = 0; i < value.length; i++) diff |= known.charCodeAt(i) ^ value.charCodeAt(i);
    if (diff === 0) return memo.hash;
  }
  const hash = hashKey(value);
  memo.value = value;
  memo.hash = hash;
  return hash;
}

/** A short non-secret reminder of a key for display: its readable prefix and last 4 characters. */
export function keyHint(value: string, format: KeyFormat): string {
  const env = format.environmentOf(value);
  const last4 = value.slice(-4);
  return env ? `${format.prefix}_${env}_...${last4}` : `...${last4}`;
}
