// Keygate's web dashboard: apps, keys, plans, usage charts and alerts, over the admin API.
// Plain JavaScript, no build step. Every element is built from text (never from HTML), so no
// value from the API can become markup; the page's content security policy forbids inline code.

import { api, ApiError, TOKEN } from './api.js';
import { field, h } from './dom.js';
import { keysView } from './keys.js';
import { clearFlash, clearSecret, flash, hooks, takePending } from './ui.js';
import { usageView } from './usage.js';
import { alertsView, appsView, plansView } from './views.js';

const main = document.getElementById('main');

const VIEWS = { usage: usageView, keys: keysView, apps: appsView, plans: plansView, alerts: alertsView };

function signInView(message) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, placeholder: 'kga_...' });
  const box = h('form', { class: 'signin' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an admin token. The dashboard can do what the token\'s scopes allow; it keeps the token in this tab only.'),
    field('Admin token', input),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'));
  box.addEventListener('submit', async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN, input.value.trim());
    try {
      await api('GET', '/v1/plans?limit=1');
    } catch (err) {
      sessionStorage.removeItem(TOKEN);
      flash(err instanceof ApiError && err.status === 401 ? 'That token was refused: unknown or revoked.' : err.message, 'error');
      return;
    }
    clearFlash();
    await render();
  });
  if (message) flash(message, 'error');
  return box;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN);
  drawing++;
  clearSecret();
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  main.replaceChildren(signInView(message));
}

async function refreshAlertCount() {
  const badgeEl = document.getElementById('open-alerts');
  try {
    const open = await api('GET', '/v1/alerts?status=open&limit=100');
    badgeEl.textContent = open.items.length >= 100 ? '100+' : String(open.items.length);
    badgeEl.hidden = open.items.length === 0;
  } catch {
    badgeEl.hidden = true;
  }
}

/** Renders started; only the newest may draw (a slow view must not cover a newer one). */
let drawing = 0;

/** Draws the view the location's hash names; true once it is drawn. `fresh` clears the message bar. */
async function render(fresh = true) {
  if (!sessionStorage.getItem(TOKEN)) {
    signOut();
    return false;
  }
  const mine = ++drawing;
  const hash = location.hash;
  const [path, search] = hash.replace(/^#\/?/, '').split('?');
  const name = VIEWS[path] ? path : 'usage';
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = false;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${name}`);
  const waiting = takePending();
  if (waiting !== null) flash(waiting);
  else if (fresh) clearFlash();
  try {
    const view = await VIEWS[name](new URLSearchParams(search ?? ''));
    if (mine !== drawing) return false;
    main.replaceChildren(...view);
    main.dataset.view = name;
    main.dataset.drawn = hash;
  } catch (err) {
    if (mine !== drawing) return false;
    if (err instanceof ApiError && err.status === 401) signOut('Your admin token was refused; sign in again.');
    else {
      main.replaceChildren(h('p', { class: 'muted' }, 'This view could not be loaded.'));
      flash(err.message, 'error');
    }
    return false;
  }
  void refreshAlertCount();
  return true;
}

hooks.render = render;
hooks.signOut = signOut;
document.getElementById('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => void render());
void render();
