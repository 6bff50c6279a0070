import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = -1;
const lastRandom = new Uint8Array(16);

/**
 * A new identifier `<prefix>_<26 chars>`: 48 bits of millisecond time then 80 random bits, in
 * Crockford base32 (a ULID). Ids sort by creation, also within one millisecond of one process
 * (the random part is then incremented), which cursor pagination relies on.
 */
export function newId(prefix: string, now = Date.now()): string {
  if (now <= lastTime) {
    // Same (or earlier) millisecond: keep the time, count up the random part.
    for (let i = 15; i >= 0; i--) {
      if (lastRandom[i]! < 31) {
        lastRandom[i]!++;
        break;
      }
      lastRandom[i] = 0;
    }
  } else {
    lastTime = now;
    const bytes = randomBytes(16);
    // The top bit stays clear so increments cannot overflow in practice.
    for (let i = 0; i < 16; i++) lastRandom[i] = bytes[i]! & (i === 0 ? 15 : 31);
  }
  let time = '';
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rnd = '';
  for (let i = 0; i < 16; i++) rnd += CROCKFORD[lastRandom[i]!];
  return `${prefix}_${time}${rnd}`;
}
