import { readFileSync } from 'node:fs';

/** The Node flags of a `#!/usr/bin/env -S node ...` first line. */
export function runtimeFlags(script: string): string[] {
  const first = script.slice(0, script.indexOf('\n'));
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)$/.exec(first);
  if (m === null) throw new Error(`bin/keygate.js does not start with a node shebang: ${first}`);
  return m[1]!.trim().split(' ').filter(Boolean);
}

/**
 * Node flags for every process under test, the bare proxy included: the ones `keygate start`
 * runs with, read from the first line of bin/keygate.js (README, Benchmarks, says why each).
 */
export const NODE_FLAGS = runtimeFlags(readFileSync(new URL('../bin/keygate.js', import.meta.url), 'utf8'));
