// The live event inspector: polls /micro/ui/rows for what arrived since the last look, and shows
// one event in full from /micro/ui/events/<seq>. Plain DOM, no build step. Text is always set with
// textContent, never as HTML: events carry whatever a tracker (or anyone) sent.
'use strict';

const POLL_MS = 1000;
const MAX_ROWS = 500; // the server sends at most this many; older rows leave the table

// Behind a token (COLLECTOR_MICRO_TOKEN), open the page as /micro/ui#token=<token>: the fragment
// never leaves the browser, and every request below carries it as a bearer token.
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const headers = token ? { Authorization: `Bearer ${token}` } : {};

// `query` counts filter changes: an answer to an older query is dropped, never shown.
const state = { lastSeq: 0, resets: null, selected: null, timer: null, query: 0 };
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function filterQuery(after) {
  const form = new FormData($('filters'));
  const query = new URLSearchParams({ after: String(after) });
  for (const name of ['valid', 'type', 'app_id', 'text']) {
    const value = String(form.get(name) ?? '').trim();
    if (value) query.set(name, value);
  }
  return query;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  if (text) td.title = text;
  if (className) td.className = className;
  return td;
}

function rowElement(row) {
  const tr = document.createElement('tr');
  tr.tabIndex = 0;
  tr.dataset.seq = row.seq;
  if (row.seq === state.selected) tr.setAttribute('aria-current', 'true');
  const time = document.createElement('td');
  const stamp = document.createElement('time');
  stamp.dateTime = row.time;
  stamp.textContent = row.time ? row.time.slice(11, 23) : '—';
  stamp.title = row.time ?? '';
  time.append(stamp);
  tr.append(
    time,
    cell(row.type),
    cell(row.app),
    cell(row.page),
    cell(row.network_userid),
    row.anonymous ? cell('anonymous', 'anonymous') : cell(row.user_ipaddress),
    row.valid ? cell('good', 'good') : cell(`bad: ${row.failure}`, 'bad'),
  );
  return tr;
}

function showSummary(summary) {
  $('summary').textContent = `${summary.total} events held: ${summary.good} good, ${summary.bad} bad`;
  $('shown').textContent = `(${$('rows').rows.length} shown)`;
}

async function poll(fromScratch) {
  if (fromScratch) state.query += 1;
  const query = state.query;
  const data = await api(`/micro/ui/rows?${filterQuery(fromScratch ? 0 : state.lastSeq)}`);
  if (query !== state.query) return; // the filters changed meanwhile
  const tbody = $('rows');
  if (fromScratch || (state.resets !== null && data.resets !== state.resets)) {
    tbody.replaceChildren();
    if (!fromScratch) return poll(true); // emptied by a reset: start over
    tbody.setAttribute('aria-busy', 'false');
  }
  state.resets = data.resets;
  state.lastSeq = data.lastSeq;
  if (data.rows.length) {
    const fragment = document.createDocumentFragment();
    for (const row of data.rows) fragment.append(rowElement(row));
    tbody.prepend(fragment);
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
  }
  showSummary(data.summary);
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    // While new filters wait for their rows, an update would add to rows they no longer match.
    if ($('filters').elements.live.checked && $('rows').getAttribute('aria-busy') !== 'true') {
      try {
        await poll(false);
      } catch (error) {
        $('summary').textContent = `Not connected: ${error.message}`;
      }
    }
    schedule();
  }, POLL_MS);
}

// --- detail ------------------------------------------------------------------------------

// JSON as text, with every `"name":` of a failing property wrapped in <mark>.
function markedJson(target, value, names) {
  target.replaceChildren();
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  if (!names.length) {
    target.textContent = text;
    return;
  }
  const keys = names.map((name) => `"${name}":`);
  let rest = text;
  for (;;) {
    const hits = keys.map((key) => [rest.indexOf(key), key]).filter(([at]) => at >= 0);
    if (!hits.length) break;
    const [at, key] = hits.reduce((a, b) => (a[0] <= b[0] ? a : b));
    const mark = document.createElement('mark');
    mark.textContent = key.slice(0, -1);
    target.append(rest.slice(0, at), mark, ':');
    rest = rest.slice(at + key.length);
  }
  target.append(rest);
}

// `$.items[0].targetUrl` → `targetUrl`; a tracker parameter (`ue_pr`) stays as it is.
function propertyName(path) {
  if (!path || path === '$') return null;
  const last = path.split(/[.[\]]/).filter(Boolean).pop();
  return last && !/^\d+$/.test(last) ? last : null;
}

function failureItem(failure) {
  const li = document.createElement('li');
  const message = document.createElement('span');
  message.className = 'failure-message';
  message.textContent = failure.message;
  li.append(message);
  if (failure.path) {
    const mark = document.createElement('mark');
    mark.className = 'failure-path';
    mark.textContent = failure.path;
    li.append(' at ', mark);
  }
  if (failure.schema) li.append(` in ${failure.schema}`);
  return li;
}

async function showDetail(seq) {
  state.selected = seq;
  for (const tr of $('rows').rows) {
    if (Number(tr.dataset.seq) === seq) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
  const detail = await api(`/micro/ui/events/${seq}`);
  const section = $('detail');
  const status = detail.valid ? 'good' : `bad: ${detail.failure}`;
  $('detail-title').textContent = `${detail.type ?? 'payload'} · ${status}`;
  const filled = Object.fromEntries(Object.entries(detail.event).filter(([, value]) => value !== null));
  const failingNames = detail.failures.map((f) => propertyName(f.path)).filter(Boolean);
  markedJson($('event'), filled, []);
  markedJson($('contexts'), detail.contexts, failingNames);
  $('failures-block').hidden = detail.valid;
  $('failures').replaceChildren(...detail.failures.map(failureItem));
  const sent = Object.keys(detail.sent).length ? detail.sent : detail.badRow?.data?.payload ?? {};
  markedJson($('sent'), sent, failingNames);
  section.hidden = false;
  section.focus();
}

function choose(event) {
  const tr = event.target.closest('tr[data-seq]');
  if (tr) showDetail(Number(tr.dataset.seq));
}

// --- wiring -------------------------------------------------------------------------------

function start() {
  const rows = $('rows');
  rows.addEventListener('click', choose);
  rows.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      choose(event);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? event.target.nextElementSibling : event.target.previousElementSibling;
      next?.focus();
    }
  });
  let typing;
  $('filters').addEventListener('input', () => {
    rows.setAttribute('aria-busy', 'true'); // until the rows for the new filters are in
    clearTimeout(typing);
    typing = setTimeout(() => poll(true).catch((error) => ($('summary').textContent = error.message)), 200);
  });
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('reset').addEventListener('click', async () => {
    await api('/micro/reset', { method: 'POST' });
    $('detail').hidden = true;
    await poll(true);
  });
  poll(true)
    .catch((error) => ($('summary').textContent = `Not connected: ${error.message}`))
    .finally(schedule);
}

start();
