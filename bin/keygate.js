#!/usr/bin/env -S node --max-semi-space-size=64 --max-valid-polymorphic-map-count=64
// The `keygate` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare)
// and rebuilt by `npm start` when they changed.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('keygate is not built yet: run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
// First, before loading the rest: keeps V8's feedback for process.nextTick monomorphic
// (src/proxy/tick-shapes.ts explains why; it is worth several µs per proxied call).
const { keepTickShapes } = await import(new URL('../dist/proxy/tick-shapes.js', import.meta.url).href);
keepTickShapes();
const { run } = await import(entry.href);
const code = await run(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
