import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../../dist/proxy/tick-shapes.js', import.meta.url).href;

/**
 * A fresh Node process that queues tasks, lets a full GC run while none is queued (as an idle
 * gateway does), queues tasks again, and prints V8's feedback for `process.nextTick`: the
 * states of its object-literal slots (MONOMORPHIC, or MEGAMORPHIC once the maps were lost).
 */
function literalFeedbackAfterIdleGc(keep: boolean): string[] {
  const script = `
    if (${keep}) { const { keepTickShapes } = await import(${JSON.stringify(MODULE)}); keepTickShapes(); }
    const ticks = async (n) => { for (let i = 0; i < n; i++) await new Promise((r) => process.nextTick(r)); };
    const idle = () => new Promise((r) => setTimeout(r, 20));
    await ticks(500);
    await idle();
    globalThis.gc();
    globalThis.gc();
    await idle();
    await ticks(500);
    %DebugPrint(process.nextTick);
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return [...r.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]!);
}

describe('keepTickShapes', () => {
  it('without it, a full GC at an idle moment turns the nextTick literal megamorphic (the problem it solves)', () => {
    // If this starts failing after a Node upgrade, V8 no longer loses these maps and
    // keepTickShapes can be removed.
    expect(literalFeedbackAfterIdleGc(false)).toContain('MEGAMORPHIC');
  });

  it('with it, the nextTick literal stays monomorphic across that GC', () => {
    const states = literalFeedbackAfterIdleGc(true);
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s === 'MONOMORPHIC')).toBe(true);
  });

  it('is idempotent and keeps a task object', async () => {
    const { keepTickShapes, tickShapesKept } = await import('./tick-shapes.js');
    keepTickShapes();
    keepTickShapes();
    expect(tickShapesKept()).toBe(true);
  });
});
