// The Apps, Plans and Alerts views.

import { api, listAll } from './api.js';
import { badge, choices, field, form, h, heading, once, query, table, when, withEditor } from './dom.js';
import { change, saveThenGo } from './ui.js';

export async function appsView(params) {
  const apps = await listAll('/v1/apps');
  const appFields = (a = null) => [
    field('Name', h('input', { name: 'name', required: true, maxlength: 200, value: a?.name })),
    field('Description', h('input', { name: 'description', maxlength: 2000, value: a?.description ?? '' })),
  ];
  const rows = apps.flatMap((a) => withEditor(h('tr', { 'data-app-id': a.id },
    h('td', {}, a.name), h('td', { class: 'mono' }, a.id), h('td', {}, a.description ?? ''), h('td', {}, when(a.createdAt)),
    h('td', { class: 'actions' },
      h('a', { href: `#/apps?edit=${encodeURIComponent(a.id)}` }, 'Edit'), ' ',
      h('a', { href: `#/keys?appId=${encodeURIComponent(a.id)}` }, 'Keys'), ' ',
      h('a', { href: `#/usage?appId=${encodeURIComponent(a.id)}` }, 'Usage')),
  ), params.get('edit') === a.id, 5, () => form('app-edit-form', appFields(a), 'Save', (v) =>
    saveThenGo(() => api('PATCH', `/v1/apps/${a.id}`, { name: v.name, description: v.description || null }), `App "${v.name}" saved.`, '#/apps'))));
  return [
    h('h2', {}, 'New app'),
    form('app-form', appFields(), 'Create app', async (v) => {
      await change(() => api('POST', '/v1/apps', { name: v.name, ...(v.description ? { description: v.description } : {}) }), `App "${v.name}" created.`);
    }),
    heading('Apps', apps),
    table(['Name', 'ID', 'Description', 'Created', ''], rows, 'No apps yet.'),
  ];
}

function planFields(p = null) {
  return [
    field('Rate (per second)', h('input', { name: 'rate', type: 'number', step: 'any', min: '0.0001', required: true, value: p?.rate })),
    field('Burst', h('input', { name: 'burst', type: 'number', step: '1', min: '1', required: true, value: p?.burst })),
    field('Quota (calls)', h('input', { name: 'quotaLimit', type: 'number', step: '1', min: '1', value: p?.quota?.limit, placeholder: 'none' })),
    field('per', h('select', { name: 'quotaPeriod' }, ['day', 'week', 'month'].map((x) => h('option', { value: x, selected: p?.quota?.period === x }, x)))),
    field('Window offset', h('input', { name: 'quotaOffset', value: p?.quota?.offset ?? '', placeholder: 'e.g. 6h', maxlength: 20, size: 8 })),
    field('Time zone', h('input', { name: 'timezone', value: p?.timezone ?? 'UTC', maxlength: 64 })),
  ];
}

function planBody(v) {
  return {
    rate: Number(v.rate),
    burst: Number(v.burst),
    quota: v.quotaLimit ? { limit: Number(v.quotaLimit), period: v.quotaPeriod, ...(v.quotaOffset ? { offset: v.quotaOffset } : {}) } : null,
    timezone: v.timezone || 'UTC',
  };
}

export async function plansView(params) {
  const plans = await listAll('/v1/plans');
  const editing = params.get('edit');
  const quota = (p) => (p.quota ? `${p.quota.limit.toLocaleString()} per ${p.quota.period}${p.quota.offset ? ` (+${p.quota.offset})` : ''}` : 'none');
  const rows = plans.flatMap((p) => {
    const row = h('tr', { 'data-plan-id': p.id },
      h('td', {}, p.name), h('td', {}, p.rate), h('td', {}, p.burst), h('td', {}, quota(p)), h('td', {}, p.timezone),
      h('td', {}, p.overrides.length ? p.overrides.map((o) => `${o.route} ${o.method ?? '*'}: ${o.rate}/s, ${o.burst}`).join('; ') : '—'),
      h('td', { class: 'actions' },
        h('a', { href: `#/plans?edit=${encodeURIComponent(p.id)}` }, 'Edit'), ' ',
        h('button', { class: 'small danger', type: 'button', onclick: once(async () => {
          if (!confirm(`Delete plan "${p.name}"?`)) return;
          await change(() => api('DELETE', `/v1/plans/${p.id}`).then(() => true), `Plan "${p.name}" deleted.`);
        }) }, 'Delete')),
    );
    return withEditor(row, editing === p.id, 7, () => form('plan-edit-form', planFields(p), 'Save', (v) =>
      saveThenGo(() => api('PATCH', `/v1/plans/${p.id}`, planBody(v)), `Plan "${p.name}" saved; every node applies it within a second.`, '#/plans')));
  });
  return [
    h('h2', {}, 'New plan'),
    form('plan-form', [field('Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9_.\\-]+', maxlength: 100 })), ...planFields()], 'Create plan', async (v) => {
      await change(() => api('POST', '/v1/plans', { name: v.name, ...planBody(v) }), `Plan "${v.name}" created.`);
    }),
    heading('Plans', plans),
    table(['Name', 'Rate/s', 'Burst', 'Quota', 'Time zone', 'Route overrides', ''], rows, 'No plans yet.'),
  ];
}

export async function alertsView(params) {
  const status = params.get('status') ?? 'open';
  const alerts = (await api('GET', `/v1/alerts${query({ status: status === 'all' ? '' : status, limit: 200 })}`)).items;
  return [
    h('h2', {}, 'Alerts'),
    choices(['open', 'acknowledged', 'all'], status, (s) => (location.hash = `#/alerts?status=${s}`)),
    table(['Time', 'Type', 'Severity', 'Key', 'App', 'Address', 'Detail', 'Status', ''], alerts.map((a) => h('tr', { 'data-alert-id': a.id },
      h('td', {}, when(a.ts)), h('td', {}, a.type), h('td', {}, badge(a.severity)),
      h('td', { class: 'mono' }, a.keyId ? h('a', { href: `#/usage?keyId=${encodeURIComponent(a.keyId)}` }, a.keyId) : '—'),
      h('td', { class: 'mono' }, a.appId ?? '—'), h('td', { class: 'mono' }, a.ip ?? '—'),
      h('td', { class: 'mono' }, JSON.stringify(a.detail)),
      h('td', {}, badge(a.acknowledgedAt ? 'acknowledged' : 'open'), a.suspended ? ' key suspended' : ''),
      h('td', { class: 'actions' }, a.acknowledgedAt ? h('span', { class: 'muted' }, `by ${a.acknowledgedBy}`) : h('button', { class: 'small', type: 'button', onclick: once(async () => {
        await change(() => api('POST', `/v1/alerts/${a.id}/ack`), 'Alert acknowledged.');
      }) }, 'Acknowledge')),
    )), status === 'open' ? 'No open alerts.' : 'No alerts.'),
  ];
}
