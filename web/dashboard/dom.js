// Building the page: elements from text (never from HTML), tables, forms, small formatters.

/** An element with attributes (`on*` are listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
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

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const badge = (text) => h('span', { class: `badge ${text}` }, text);
export const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

/** "Keys (12)", or "Keys (first 1,000)" for a list that was cut off. */
export const heading = (what, items) => h('h2', {}, `${what} (${items.more ? `first ${items.length.toLocaleString()}` : items.length})`);

export function table(columns, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
}

export function field(label, input) {
  return h('label', {}, label, input);
}

/**
 * A handler that ignores calls while its previous run is still going (no double submit). The
 * button clicked (or `button`, for a form's submit) is disabled meanwhile.
 */
export function once(action, button = null) {
  let running = false;
  return async (event) => {
    if (running) return;
    running = true;
    button ??= event?.currentTarget instanceof HTMLButtonElement ? event.currentTarget : null;
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
export function form(id, fields, submitText, onsubmit) {
  const button = h('button', { class: 'primary', type: 'submit' }, submitText);
  const el = h('form', { class: 'inline', id }, fields, button);
  const submit = once(() => onsubmit(Object.fromEntries([...new FormData(el).entries()].map(([k, v]) => [k, String(v).trim()])), el), button);
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });
  return el;
}

/** A row of buttons, one per option, the current one highlighted; `pick(option)` on a click. */
export function choices(options, current, pick, label = (o) => o) {
  return h('div', {}, options.map((o) => h('button', { type: 'button', class: o === current ? 'primary small' : 'small', onclick: () => pick(o) }, label(o))));
}

/** A list row, followed by its edit form when it is the one being edited. */
export function withEditor(row, editing, columns, editor) {
  return editing ? [row, h('tr', {}, h('td', { colspan: columns }, editor()))] : [row];
}

/** The query `params` with `name` set to `value` (or removed when it is empty), as text. */
export function withParam(params, name, value) {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value);
  else next.delete(name);
  return next.toString();
}
