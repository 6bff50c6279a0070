// The message bar, the one-time secret panel, and running changes through the API.

import { ApiError } from './api.js';
import { h } from './dom.js';

const flashBox = document.getElementById('flash');

/** What the app supplies: drawing the current view (true once drawn), and signing out. */
export const hooks = { render: async () => false, signOut: () => {} };

/** A message to show once the next view is drawn (after a change of location). */
let pending = null;

/** The message waiting for the next view, if any; taken only once. */
export function takePending() {
  const text = pending;
  pending = null;
  return text;
}

export function flash(text, kind = 'info') {
  flashBox.textContent = text;
  flashBox.className = kind;
  flashBox.hidden = false;
}

export function clearFlash() {
  flashBox.hidden = true;
  flashBox.textContent = '';
}

/** Runs an action; its failure goes to the message bar (a 401 signs out) and it returns undefined. */
export async function attempt(action) {
  clearFlash();
  try {
    return await action();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return hooks.signOut('Your admin token was refused; sign in again.');
    flash(err.message, 'error');
    return undefined;
  }
}

/**
 * Runs a change through the API; once it is done, `before` sees the result (say, to show a
 * new key's plaintext), the view is redrawn and, if that worked, says `done`.
 */
export async function change(action, done, before) {
  const result = await attempt(action);
  if (result === undefined) return undefined;
  before?.(result);
  if (await hooks.render(false)) flash(done);
  return result;
}

/**
 * Shows a key's plaintext, the one time the API returns it, above every view until the user
 * presses Done, signs out or leaves the page: redrawing or changing the view cannot lose it.
 */
export function showSecret(title, key) {
  const box = document.getElementById('secret');
  const input = h('input', { id: 'new-key', readonly: true, value: key, 'aria-label': 'new API key' });
  const copy = h('button', { type: 'button', onclick: async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(key);
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Select and copy it by hand';
    }
  } }, 'Copy');
  const done = h('button', { type: 'button', id: 'secret-done', onclick: clearSecret }, 'Done');
  box.replaceChildren(h('b', {}, title), h('div', {}, 'Copy it now: Keygate stores only its hash and will never show it again.'), input, copy, ' ', done);
  box.hidden = false;
}

export function clearSecret() {
  const box = document.getElementById('secret');
  box.replaceChildren();
  box.hidden = true;
}

/** Saves an edit form; once saved, goes back to `hash`, whose view then shows `done`. */
export async function saveThenGo(action, done, hash) {
  if ((await attempt(action)) === undefined) return;
  pending = done;
  location.hash = hash;
}
