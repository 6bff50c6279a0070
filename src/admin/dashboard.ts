import { readFileSync } from 'node:fs';
import type { AdminApp } from './server.js';

/** The dashboard's files, read once at start-up: a page, its script modules and a style sheet, no build step. */
const DIR = new URL('../../web/dashboard/', import.meta.url);
const SCRIPTS = ['app.js', 'api.js', 'dom.js', 'ui.js', 'keys.js', 'usage.js', 'views.js'];
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  ...Object.fromEntries(SCRIPTS.map((name) => [name, 'text/javascript; charset=utf-8'])),
};

/**
 * Only the dashboard's own files may run or load; its data comes from this origin's API. No
 * inline script, so an injected string can never execute (the page also builds every element
 * from text, never from HTML).
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The web dashboard on the admin port (`/dashboard/`). Its files are public and hold no data;
 * every call it makes goes through the admin API with the token the user signs in with, so it
 * can do exactly what that token's scopes allow.
 */
export function dashboard(app: AdminApp): void {
  const route = { schema: { hide: true }, config: { public: true } } as const;
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(name, DIR));
    app.get(`/dashboard/${name === 'index.html' ? '' : name}`, route, async (_request, reply) =>
      reply
        .header('content-type', type)
        .header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
  for (const path of ['/', '/dashboard']) app.get(path, route, async (_request, reply) => reply.redirect('/dashboard/'));
}
