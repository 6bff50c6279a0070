/**
 * Probes until `ok` holds or `ms` have passed, and returns the last answer either way: the
 * caller's assertion on it then says what was seen instead of a bare timeout.
 */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}
