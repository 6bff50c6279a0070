import { createHook } from 'node:async_hooks';

let kept: object | null = null;

function noop(): void {}

/**
 * Keeps one `process.nextTick` task object alive for the life of the process, so that the
 * hidden classes ("maps") V8 gives those objects are never collected.
 *
 * Why: `process.nextTick` builds each task as an object literal with computed (symbol) keys.
 * V8's feedback for such a literal has no polymorphic state: once it meets a map other than
 * the one it recorded, it turns megamorphic for good, and from then on every task object is
 * built through the runtime (about 1,300 instructions instead of a few dozen). The maps are
 * held only weakly; a full GC that runs while no task is queued (an idle gateway, or the end
 * of startup) collects them, and the next task creates new ones. Node's streams call nextTick
 * about twenty times per proxied request, so this cost Keygate 3.6 µs of CPU per call
 * (`nextTick` self time 4.3 µs → 0.7 µs with this; see README, Benchmarks).
 *
 * The task object is taken from an async hook's `init` (the public way to see it), enabled for
 * one call and disabled again. Idempotent; call it as early as possible.
 */
export function keepTickShapes(): void {
  if (kept !== null) return;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && kept === null) kept = resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

/** True once a task object is kept (for tests). */
export function tickShapesKept(): boolean {
  return kept !== null;
}
