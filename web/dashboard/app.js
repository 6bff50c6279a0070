// Keygate's web dashboard: apps, keys, plans, usage charts and alerts, over the admin API.
// Plain JavaScript, no build step. Every element is built from text (never from HTML), so no
// value from the API can become markup; the page's content security policy forbids inline code.

const TOKEN = 'keygate.adminToken';
const main = document.getElementById('main');
/** A message to show once the next view is drawn (after a change of location). */
let pending = null;
const flashBox = document.getElementById('flash');

/** An element with attributes (`on*` are listeners) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function flash(text, kind = 'info') {
  flashBox.textContent = text;
  flashBox.className = kind;
  flashBox.hidden = false;
}

function clearFlash() {
  flashBox.hidden = true;
  flashBox.textContent = '';
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `the gateway answered ${status}`);
    this.status = status;
    this.code = problem?.code ?? null;
  }
}

/** One admin API call with the signed-in token; problem+json answers become ApiErrors. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Runs an action; its failure goes to the message bar (a 401 signs out) and it returns undefined. */
async function attempt(action) {
  clearFlash();
  try {
    return await action();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut('Your admin token was refused; sign in again.');
    flash(err.message, 'error');
    return undefined;
  }
}

/**
 * Runs a change through the API; once it is done, `before` sees the result (say, to show a
 * new key's plaintext), the view is redrawn and, if that worked, says `done`.
 */
async function change(action, done, before) {
  const result = await attempt(action);
  if (result === undefined) return undefined;
  before?.(result);
  if (await render(false)) flash(done);
  return result;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const badge = (text) => h('span', { class: `badge ${text}` }, text);
const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

/** Every page of a list, up to `max` items; `more` is set when there were more. */
async function listAll(path, params = {}, max = 1000) {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path + query({ ...params, limit: 200, cursor }));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  items.more = Boolean(cursor);
  return items;
}

/** "Keys (12)", or "Keys (first 1,000)" for a list that was cut off. */
const heading = (what, items) => h('h2', {}, `${what} (${items.more ? `first ${items.length.toLocaleString()}` : items.length})`);

function table(columns, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
}

function field(label, input) {
  return h('label', {}, label, input);
}

/** A click handler that ignores clicks while its previous run is still going (no double submit). */
function once(action) {
  let running = false;
  return async (event) => {
    if (running) return;
    running = true;
    const button = event?.currentTarget instanceof HTMLButtonElement ? event.currentTarget : null;
    if (button) button.disabled = true;
    try {
      await action(event);
    } finally {
      running = false;
      if (button) button.disabled = false;
    }
  };
}

/** A form whose submit runs `onsubmit(values)`, once at a time; values are the named inputs' trimmed strings. */
function form(id, fields, submitText, onsubmit) {
  const button = h('button', { class: 'primary', type: 'submit' }, submitText);
  const el = h('form', { class: 'inline', id }, fields, button);
  const submit = once(async () => {
    const values = Object.fromEntries([...new FormData(el).entries()].map(([k, v]) => [k, String(v).trim()]));
    button.disabled = true;
    try {
      await onsubmit(values, el);
    } finally {
      button.disabled = false;
    }
  });
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });
  return el;
}

/**
 * Shows a key's plaintext, the one time the API returns it, above every view until the user
 * presses Done, signs out or leaves the page: redrawing or changing the view cannot lose it.
 */
function showSecret(title, key) {
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

function clearSecret() {
  const box = document.getElementById('secret');
  box.replaceChildren();
  box.hidden = true;
}

// ---- views ------------------------------------------------------------------------------

/** Saves an edit form; once saved, goes back to `hash`, whose view then shows `done`. */
async function saveThenGo(action, done, hash) {
  if ((await attempt(action)) === undefined) return;
  pending = done;
  location.hash = hash;
}

/** A list row, followed by its edit form when it is the one being edited. */
function withEditor(row, editing, columns, editor) {
  return editing ? [row, h('tr', {}, h('td', { colspan: columns }, editor()))] : [row];
}

async function appsView(params) {
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

async function keysView(params) {
  const [apps, plans] = await Promise.all([listAll('/v1/apps'), listAll('/v1/plans')]);
  const appId = params.get('appId') ?? '';
  const status = params.get('status') ?? '';
  const keys = await listAll('/v1/keys', { appId, status });
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  const planById = new Map(plans.map((p) => [p.id, p]));
  // The quota of the key whose Quota link was followed, shown under its row.
  const quotaOf = params.get('quota');
  const quota = quotaOf && keys.some((k) => k.id === quotaOf)
    ? await api('GET', `/v1/keys/${quotaOf}/quota`).catch((err) => {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      flash(err.message, 'error'); // its plan has no quota (any more): the list is still worth showing
      return null;
    })
    : null;
  const planOptions = (selected) => [h('option', { value: '' }, 'no plan'), ...plans.map((p) => h('option', { value: p.id, selected: p.id === selected }, p.name))];
  const filter = (name, value) => {
    const next = withParam(params, name, value);
    location.hash = `#/keys${next ? `?${next}` : ''}`;
  };
  const row = (k) => h('tr', { 'data-key-id': k.id },
    h('td', {}, k.name ?? h('span', { class: 'muted' }, 'unnamed')),
    h('td', { class: 'mono' }, k.hint),
    h('td', {}, badge(k.status)),
    h('td', {}, appName.get(k.appId) ?? k.appId),
    h('td', {}, h('select', { 'aria-label': 'plan', disabled: k.status === 'revoked', onchange: async (e) => {
      const planId = e.target.value || null;
      if ((await change(() => api('PATCH', `/v1/keys/${k.id}`, { planId }), 'Plan changed.')) === undefined) e.target.value = k.planId ?? '';
    } }, planOptions(k.planId))),
    h('td', {}, when(k.expiresAt)),
    h('td', {}, when(k.createdAt)),
    h('td', { class: 'actions' },
      h('a', { href: `#/usage?keyId=${encodeURIComponent(k.id)}` }, 'Usage'), ' ',
      planById.get(k.planId)?.quota ? [h('a', { href: `#/keys?${withParam(params, 'quota', k.id)}` }, 'Quota'), ' '] : null,
      k.status === 'revoked' ? null : h('button', { class: 'small', type: 'button', onclick: once(async () => {
        const action = k.enabled ? 'disable' : 'enable';
        await change(() => api('POST', `/v1/keys/${k.id}/${action}`), `Key ${action}d.`);
      }) }, k.enabled ? 'Disable' : 'Enable'),
      k.status === 'revoked' ? null : h('button', { class: 'small', type: 'button', onclick: once(async () => {
        const answer = prompt('Rotate this key. How many seconds should the old key keep working? (0 ends it at once)', '86400');
        if (answer === null) return;
        const graceSeconds = answer.trim() === '' ? NaN : Number(answer);
        if (!Number.isInteger(graceSeconds) || graceSeconds < 0) return flash('The grace period is a whole number of seconds, 0 or more.', 'error');
        await change(() => api('POST', `/v1/keys/${k.id}/rotate`, { graceSeconds }), 'Key rotated.', (rotated) =>
          showSecret(`New key for ${appName.get(rotated.appId) ?? rotated.appId}; the old one works until ${when(rotated.previous.expiresAt)}.`, rotated.key));
      }) }, 'Rotate'),
      k.status === 'revoked' ? null : h('button', { class: 'small danger', type: 'button', onclick: once(async () => {
        if (!confirm(`Revoke key ${k.hint}? It stops working on every node at once, for good.`)) return;
        await change(() => api('POST', `/v1/keys/${k.id}/revoke`), 'Key revoked.');
      }) }, 'Revoke'),
    ),
  );
  return [
    h('h2', {}, 'New key'),
    apps.length === 0
      ? h('p', { class: 'muted' }, 'Create an app first: every key belongs to one.')
      : form('key-form', [
        field('App', h('select', { name: 'appId', required: true }, apps.map((a) => h('option', { value: a.id, selected: a.id === appId }, a.name)))),
        field('Plan', h('select', { name: 'planId' }, planOptions(null))),
        field('Name', h('input', { name: 'name', maxlength: 200 })),
        field('Environment', h('select', { name: 'environment' }, h('option', { value: 'live' }, 'live'), h('option', { value: 'test' }, 'test'))),
        field('Expires', h('input', { name: 'expiresAt', type: 'datetime-local' })),
      ], 'Create key', async (v) => {
        const body = { appId: v.appId, environment: v.environment };
        if (v.planId) body.planId = v.planId;
        if (v.name) body.name = v.name;
        if (v.expiresAt) body.expiresAt = new Date(v.expiresAt).toISOString();
        await change(() => api('POST', '/v1/keys', body), 'Key created.', (issued) =>
          showSecret(`New key for ${appName.get(issued.appId) ?? issued.appId}`, issued.key));
      }),
    heading('Keys', keys),
    h('div', {},
      field('App ', h('select', { id: 'filter-app', onchange: (e) => filter('appId', e.target.value) }, h('option', { value: '' }, 'all apps'), apps.map((a) => h('option', { value: a.id, selected: a.id === appId }, a.name)))),
      ' ',
      field('Status ', h('select', { id: 'filter-status', onchange: (e) => filter('status', e.target.value) }, ['', 'active', 'disabled', 'expired', 'revoked'].map((s) => h('option', { value: s, selected: s === status }, s || 'any')))),
    ),
    table(['Name', 'Key', 'Status', 'App', 'Plan', 'Expires', 'Created', ''], keys.flatMap((k) =>
      withEditor(row(k), quota !== null && k.id === quotaOf, 8, () => quotaPanel(k, quota, planById.get(quota.planId)))), 'No keys here.'),
  ];
}

/** The query `params` with `name` set to `value` (or removed when it is empty), as text. */
function withParam(params, name, value) {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value);
  else next.delete(name);
  return next.toString();
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

async function plansView(params) {
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

/** Each range as a number of buckets of a granularity, the last one being the current bucket. */
const RANGES = { '1h': [60, 'minute'], '24h': [24, 'hour'], '7d': [7 * 24, 'hour'], '30d': [30, 'day'] };
const SPAN = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Day buckets are UTC days (as the usage API aggregates them); shorter ones are shown in local time. */
const bucketLabel = (granularity) => (granularity === 'day' ? (iso) => `${iso.slice(0, 10)} UTC` : when);

/** Requests (and, over them, errors) per bucket as an SVG bar chart. */
function chart(items, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const W = 1000, H = 220, left = 48, bottom = 20, top = 10;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...items.map((p) => p.requests));
  const width = (W - left) / Math.max(1, items.length);
  const y = (v) => H - bottom - (v / max) * (H - bottom - top);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  items.forEach((p, i) => {
    const x = left + i * width;
    const title = `${label(p.ts)}: ${p.requests} requests, ${p.errors} errors${p.p99 === null ? '' : `, p99 ${p.p99} ms`}`;
    if (p.requests > 0) add('rect', { class: 'requests', x, y: y(p.requests), width: Math.max(1, width - 1), height: y(0) - y(p.requests) }).append(Object.assign(document.createElementNS(ns, 'title'), { textContent: title }));
    if (p.errors > 0) add('rect', { class: 'errors', x, y: y(p.errors), width: Math.max(1, width - 1), height: y(0) - y(p.errors) });
  });
  add('text', { x: 0, y: top + 10 }, max.toLocaleString());
  add('text', { x: 0, y: H - bottom }, '0');
  if (items.length) {
    add('text', { x: left, y: H - 4 }, label(items[0].ts));
    add('text', { x: W, y: H - 4, 'text-anchor': 'end' }, label(items[items.length - 1].ts));
  }
  return svg;
}

async function usageView(params) {
  const range = RANGES[params.get('range')] ? params.get('range') : '1h';
  const [buckets, granularity] = RANGES[range];
  const span = SPAN[granularity];
  const scope = params.get('keyId') ? { keyId: params.get('keyId') } : params.get('appId') ? { appId: params.get('appId') } : params.get('route') ? { route: params.get('route') } : {};
  // Whole buckets, so the totals cover exactly the range the button names.
  const to = (Math.floor(Date.now() / span) + 1) * span;
  const from = to - buckets * span;
  const series = await api('GET', `/v1/usage${query({ ...scope, granularity, from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`);
  const sum = (name) => series.items.reduce((n, p) => n + p[name], 0);
  const p99 = Math.max(...series.items.map((p) => p.p99 ?? 0));
  const what = scope.keyId ? `key ${scope.keyId}` : scope.appId ? `app ${scope.appId}` : scope.route ? `route ${scope.route}` : 'all traffic';
  const go = (next) => {
    const q = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v); else q.delete(k);
    location.hash = `#/usage?${q}`;
  };
  const stat = (label, value, id) => h('div', { id }, h('b', {}, value.toLocaleString()), label);
  return [
    h('h2', {}, `Usage of ${what}`),
    h('div', {},
      Object.keys(RANGES).map((r) => h('button', { type: 'button', class: r === range ? 'primary small' : 'small', onclick: () => go({ range: r }) }, `last ${r}`)),
      ' ',
      scope.keyId || scope.appId || scope.route ? h('a', { href: '#/usage' }, 'show all traffic') : null,
    ),
    h('div', { class: 'summary' },
      stat('requests', sum('requests'), 'total-requests'),
      stat('admitted', sum('admitted'), 'total-admitted'),
      stat('errors (4xx/5xx)', sum('errors'), 'total-errors'),
      stat('throttled', sum('throttled'), 'total-throttled'),
      stat('over quota', sum('quotaExceeded'), 'total-quota'),
      stat('key refused', sum('authRefused'), 'total-auth'),
      stat('worst p99 (ms)', p99, 'worst-p99'),
    ),
    h('div', { class: 'chart' }, chart(series.items, bucketLabel(granularity)), h('div', { class: 'legend' }, `per ${granularity}:`, h('span', { class: 'l-requests' }, 'requests'), h('span', { class: 'l-errors' }, 'errors'))),
  ];
}

async function alertsView(params) {
  const status = params.get('status') ?? 'open';
  const alerts = (await api('GET', `/v1/alerts${query({ status: status === 'all' ? '' : status, limit: 200 })}`)).items;
  return [
    h('h2', {}, 'Alerts'),
    h('div', {}, ['open', 'acknowledged', 'all'].map((s) => h('button', { type: 'button', class: s === status ? 'primary small' : 'small', onclick: () => (location.hash = `#/alerts?status=${s}`) }, s))),
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
  if (pending !== null) {
    flash(pending);
    pending = null;
  } else if (fresh) clearFlash();
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

document.getElementById('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => void render());
void render();
