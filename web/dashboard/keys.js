// The Keys view: create, filter, change plan, disable, rotate, revoke; a key's quota.

import { api, ApiError, listAll } from './api.js';
import { badge, field, form, h, heading, once, table, when, withEditor, withParam } from './dom.js';
import { change, flash, showSecret } from './ui.js';

/** What the Keys view knows about the apps and plans, for its rows and forms. */
function directory(apps, plans) {
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  return {
    appName: (id) => appName.get(id) ?? id,
    planById: new Map(plans.map((p) => [p.id, p])),
    planOptions: (selected) => [h('option', { value: '' }, 'no plan'), ...plans.map((p) => h('option', { value: p.id, selected: p.id === selected }, p.name))],
  };
}

/** The quota of the key whose Quota link was followed (`?quota=`), or null. */
async function followedQuota(params, keys) {
  const id = params.get('quota');
  if (!id || !keys.some((k) => k.id === id)) return null;
  return api('GET', `/v1/keys/${id}/quota`).catch((err) => {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    flash(err.message, 'error'); // its plan has no quota (any more): the list is still worth showing
    return null;
  });
}

/** A button that is not offered for a revoked key (nothing can change it any more). */
const keyAction = (k, label, danger, action) =>
  k.status === 'revoked' ? null : h('button', { class: danger ? 'small danger' : 'small', type: 'button', onclick: once(action) }, label);

async function rotate(k, dir) {
  const answer = prompt('Rotate this key. How many seconds should the old key keep working? (0 ends it at once)', '86400');
  if (answer === null) return;
  const graceSeconds = answer.trim() === '' ? NaN : Number(answer);
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) return flash('The grace period is a whole number of seconds, 0 or more.', 'error');
  await change(() => api('POST', `/v1/keys/${k.id}/rotate`, { graceSeconds }), 'Key rotated.', (rotated) =>
    showSecret(`New key for ${dir.appName(rotated.appId)}; the old one works until ${when(rotated.previous.expiresAt)}.`, rotated.key));
}

function keyRow(k, dir, params) {
  return h('tr', { 'data-key-id': k.id },
    h('td', {}, k.name ?? h('span', { class: 'muted' }, 'unnamed')),
    h('td', { class: 'mono' }, k.hint),
    h('td', {}, badge(k.status)),
    h('td', {}, dir.appName(k.appId)),
    h('td', {}, h('select', { 'aria-label': 'plan', disabled: k.status === 'revoked', onchange: async (e) => {
      const planId = e.target.value || null;
      if ((await change(() => api('PATCH', `/v1/keys/${k.id}`, { planId }), 'Plan changed.')) === undefined) e.target.value = k.planId ?? '';
    } }, dir.planOptions(k.planId))),
    h('td', {}, when(k.expiresAt)),
    h('td', {}, when(k.createdAt)),
    h('td', { class: 'actions' },
      h('a', { href: `#/usage?keyId=${encodeURIComponent(k.id)}` }, 'Usage'), ' ',
      dir.planById.get(k.planId)?.quota ? [h('a', { href: `#/keys?${withParam(params, 'quota', k.id)}` }, 'Quota'), ' '] : null,
      keyAction(k, k.enabled ? 'Disable' : 'Enable', false, async () => {
        const action = k.enabled ? 'disable' : 'enable';
        await change(() => api('POST', `/v1/keys/${k.id}/${action}`), `Key ${action}d.`);
      }),
      keyAction(k, 'Rotate', false, () => rotate(k, dir)),
      keyAction(k, 'Revoke', true, async () => {
        if (!confirm(`Revoke key ${k.hint}? It stops working on every node at once, for good.`)) return;
        await change(() => api('POST', `/v1/keys/${k.id}/revoke`), 'Key revoked.');
      }),
    ),
  );
}

function createKeyForm(apps, dir, appId) {
  if (apps.length === 0) return h('p', { class: 'muted' }, 'Create an app first: every key belongs to one.');
  return form('key-form', [
    field('App', h('select', { name: 'appId', required: true }, apps.map((a) => h('option', { value: a.id, selected: a.id === appId }, a.name)))),
    field('Plan', h('select', { name: 'planId' }, dir.planOptions(null))),
    field('Name', h('input', { name: 'name', maxlength: 200 })),
    field('Environment', h('select', { name: 'environment' }, h('option', { value: 'live' }, 'live'), h('option', { value: 'test' }, 'test'))),
    field('Expires', h('input', { name: 'expiresAt', type: 'datetime-local' })),
  ], 'Create key', async (v) => {
    const body = { appId: v.appId, environment: v.environment };
    if (v.planId) body.planId = v.planId;
    if (v.name) body.name = v.name;
    if (v.expiresAt) body.expiresAt = new Date(v.expiresAt).toISOString();
    await change(() => api('POST', '/v1/keys', body), 'Key created.', (issued) => showSecret(`New key for ${dir.appName(issued.appId)}`, issued.key));
  });
}

export async function keysView(params) {
  const [apps, plans] = await Promise.all([listAll('/v1/apps'), listAll('/v1/plans')]);
  const appId = params.get('appId') ?? '';
  const status = params.get('status') ?? '';
  const keys = await listAll('/v1/keys', { appId, status });
  const dir = directory(apps, plans);
  const quota = await followedQuota(params, keys);
  const filter = (name, value) => {
    const next = withParam(params, name, value);
    location.hash = `#/keys${next ? `?${next}` : ''}`;
  };
  return [
    h('h2', {}, 'New key'),
    createKeyForm(apps, dir, appId),
    heading('Keys', keys),
    h('div', {},
      field('App ', h('select', { id: 'filter-app', onchange: (e) => filter('appId', e.target.value) }, h('option', { value: '' }, 'all apps'), apps.map((a) => h('option', { value: a.id, selected: a.id === appId }, a.name)))),
      ' ',
      field('Status ', h('select', { id: 'filter-status', onchange: (e) => filter('status', e.target.value) }, ['', 'active', 'disabled', 'expired', 'revoked'].map((s) => h('option', { value: s, selected: s === status }, s || 'any')))),
    ),
    table(['Name', 'Key', 'Status', 'App', 'Plan', 'Expires', 'Created', ''], keys.flatMap((k) =>
      withEditor(keyRow(k, dir, params), quota !== null && k.id === params.get('quota'), 8, () => quotaPanel(k, quota, dir.planById.get(quota.planId)))), 'No keys here.'),
  ];
}

/** A key's quota in the current window, with reset and grant. */
function quotaPanel(key, q, plan) {
  const granted = Math.max(0, -q.used);
  const adjust = (body, done) => change(() => api('POST', `/v1/keys/${key.id}/quota`, body), done);
  return h('div', { id: 'quota-panel' },
    h('span', { id: 'quota-state' }, `Used ${Math.max(0, q.used).toLocaleString()} of ${q.limit.toLocaleString()} this ${plan?.quota?.period ?? 'window'}`,
      granted ? ` (${granted.toLocaleString()} extra granted)` : '', `; ${q.remaining.toLocaleString()} left; the window ends ${when(q.windowEnd)}.`),
    ' ',
    h('button', { class: 'small', type: 'button', onclick: once(async () => {
      if (confirm('Reset this key\'s quota count for the current window to 0?')) await adjust({ reset: true }, 'Quota reset.');
    }) }, 'Reset'),
    form('quota-form', [field('Grant extra calls', h('input', { name: 'grant', type: 'number', step: '1', min: '1', required: true, size: 8 }))], 'Grant', (v) =>
      adjust({ add: -Number(v.grant) }, `${Number(v.grant).toLocaleString()} extra calls granted.`)),
  );
}
