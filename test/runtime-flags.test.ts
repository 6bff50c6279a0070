import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../bench/flags.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

/**
 * The state of V8's feedback for `o.x` in a function that has read it from eight objects of
 * different shapes, in a fresh Node started with `flags`.
 */
function loadFeedback(flags: string[]): string {
  const script = `
    function get(o) { return o.x; }
    const shapes = [{ x: 1 }, { a: 1, x: 1 }, { b: 1, x: 1 }, { c: 1, x: 1 }, { d: 1, x: 1 }, { e: 1, x: 1 }, { f: 1, x: 1 }, { g: 1, x: 1 }];
    for (let i = 0; i < 100; i++) for (const o of shapes) get(o);
    %DebugPrint(get);
  `;
  const r = spawnSync(process.execPath, [...flags, '--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  const m = /slot #0 LoadProperty (\w+)/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return m![1]!;
}

describe('runtime flags', () => {
  it('bin/keygate.js, npm start and the benchmark run Node with the same flags', () => {
    expect(NODE_FLAGS).toContain('--max-semi-space-size=64');
    expect(NODE_FLAGS).toContain('--max-valid-polymorphic-map-count=64');
    expect(pkg.scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} bin/keygate.js start`);
  });

  it('are accepted by this Node', () => {
    const r = spawnSync(process.execPath, [...NODE_FLAGS, '-e', '0'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
  });

  it('keep a property read that meets eight shapes polymorphic, where Node alone turns it megamorphic', () => {
    // If the first expectation starts failing after a Node upgrade, V8's own limit has grown
    // and the flag may no longer be needed.
    expect(loadFeedback([])).toBe('MEGAMORPHIC');
    expect(loadFeedback(NODE_FLAGS)).toBe('POLYMORPHIC');
  });
});
