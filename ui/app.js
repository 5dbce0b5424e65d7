// The cluster manager's web UI: plain JavaScript over the HTTP/JSON API
// (docs/manager.md). The token is asked once and kept in sessionStorage;
// every API call sends it. Errors from the API are shown as they come.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { cluster: null, window: null, polling: null, jobCluster: null, shards: [], auto: null, editPolicy: null };

function token() { return sessionStorage.getItem('strataToken'); }

function showError(msg) {
  const e = $('#error');
  e.textContent = msg;
  e.hidden = false;
}
function clearError() { $('#error').hidden = true; }

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

// One API call; resolves to the parsed JSON, rejects with the API's message.
async function api(method, path, body) {
  const opts = { method, headers: { Authorization: 'Bearer ' + token() } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, `${method} ${path}: the cluster manager did not answer (${e.message})`);
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON: reported below */ }
  if (resp.status === 401) {
    sessionStorage.removeItem('strataToken');
    showLogin();
  }
  if (!resp.ok) {
    const why = data && data.error ? data.error : `HTTP ${resp.status}`;
    throw new ApiError(resp.status, `${method} ${path}: ${resp.status}: ${why}`);
  }
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c === null || c === undefined ? '' : c);
  return e;
}

function bytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
function pad(n) { return String(n).padStart(2, '0'); }
// Every time on the page is shown and picked in UTC, labelled so: the API,
// the CP records and the policies' daily windows are all in UTC, and one
// zone for all avoids a display in one zone and a picker in another.
function utcText(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
// A PostgreSQL timestamptz as text ("2026-12-01 23:23:25.123456+00") as a
// Date; null when it is not one.
function pgDate(text) {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d)(?::?(\d\d))?$/.exec(String(text || ''));
  if (!m) return null;
  const frac = m[3] ? m[3].slice(0, 4) : '';
  const d = new Date(`${m[1]}T${m[2]}${frac}${m[4]}:${m[5] || '00'}`);
  return isNaN(d) ? null : d;
}
// A timestamp from the API, readable and in UTC; an unparsable one as it came.
function when(text) {
  if (text === null || text === undefined || text === '') return '';
  const d = pgDate(text);
  return d ? utcText(d) + ' UTC' : String(text);
}
function whenEpoch(epoch) { return epoch === null || epoch === undefined ? '' : utcText(new Date(epoch * 1000)) + ' UTC'; }
// Unix seconds as a datetime-local value, in UTC (the picker is labelled UTC).
function toUtcInput(epoch) { return utcText(new Date(epoch * 1000)).replace(' ', 'T'); }
// The picker's value (UTC) as the API's time and as Unix seconds.
function toApiTime(value) {
  const v = value.length === 16 ? value + ':00' : value;
  return v.replace('T', ' ') + '+00';
}
function inputEpoch(value) {
  const v = value.length === 16 ? value + ':00' : value;
  return Date.parse(v + 'Z') / 1000;
}
function duration(s) {
  if (s === null || s === undefined || isNaN(s)) return '';
  s = Math.abs(s);
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

// ---- login --------------------------------------------------------------------

function showLogin() {
  setAutoRefresh(false);
  $('#login').hidden = false;
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#token').focus();
}

async function start() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  await loadClusters();
  loadNodeManagers();
  setAutoRefresh($('#auto-refresh').checked);
}

// Every 10 s while the box is ticked: the cluster list, the selected
// cluster and the node managers' health. A followed job polls on its own.
function setAutoRefresh(on) {
  if (state.auto) clearInterval(state.auto);
  state.auto = null;
  if (!on) return;
  state.auto = setInterval(async () => {
    if ($('#app').hidden || $('#restore-dialog').open) return;
    await loadClusters();
    await refreshCluster();
    await loadNodeManagers();
  }, 10000);
}

async function loadNodeManagers() {
  const ul = $('#nm-health');
  try {
    const data = await api('GET', '/api/v1/node-managers');
    const list = data.node_managers || [];
    ul.replaceChildren(...list.map((n) => el('li', { 'data-nm': n.host || n.url },
      el('span', { class: n.reachable ? 'ok' : 'bad' }, n.reachable ? 'up' : 'unreachable'), ' ',
      `${n.host || ''} ${n.url || ''}`,
      n.reachable ? ` (${(n.instances || []).length} instance(s))` : `: ${n.error || n.status || ''}`)));
    if (!list.length) ul.append(el('li', { id: 'nm-none' }, 'None configured: backups run in this process.'));
  } catch (e) {
    ul.replaceChildren(el('li', { class: 'bad' }, e.message));
  }
}

// ---- clusters -------------------------------------------------------------------

async function loadClusters() {
  try {
    const data = await api('GET', '/api/v1/clusters');
    const ul = $('#clusters');
    ul.replaceChildren();
    for (const c of data.clusters) {
      const b = el('button', { type: 'button', 'data-name': c.name },
        c.name, el('span', { class: 'hint' }, ` ${c.shards} shard(s)${c.origin ? ', from ' + c.origin : ''}`));
      if (c.name === state.cluster) b.classList.add('selected');
      b.addEventListener('click', () => selectCluster(c.name));
      ul.append(el('li', {}, b));
    }
    if (!data.clusters.length) ul.append(el('li', { class: 'hint' }, 'No cluster registered.'));
    clearError();
  } catch (e) {
    showError(e.message);
  }
}

async function selectCluster(name) {
  state.cluster = name;
  for (const b of document.querySelectorAll('#clusters button')) {
    b.classList.toggle('selected', b.dataset.name === name);
  }
  $('#placeholder').hidden = true;
  $('#cluster').hidden = false;
  $('#cluster-name').textContent = name;
  $('#check-result').hidden = true;
  // The job panel belongs to the cluster whose job it follows.
  $('#job').hidden = state.jobCluster !== name;
  $('#restore-plan').hidden = true;
  $('#cp-taken').textContent = '';
  policyFormMode(null);
  await refreshCluster();
}

async function refreshCluster() {
  const name = state.cluster;
  if (!name) return;
  const base = '/api/v1/clusters/' + encodeURIComponent(name);
  try {
    const [topo, backups, win, jobs, policies, cps] = await Promise.all([
      api('GET', base), api('GET', base + '/backups'), api('GET', base + '/window'), api('GET', '/api/v1/jobs'),
      api('GET', base + '/policies'), api('GET', base + '/cps')]);
    if (name !== state.cluster) return;
    renderTopology(topo);
    const mine = jobs.jobs.filter((j) => j.cluster === name || (j.result && j.result.restored_as === name));
    renderBackups(backups.backups, mine.filter((j) => j.kind === 'backup' && j.cluster === name));
    renderJobs(mine);
    renderPolicies(policies.policies);
    renderCps(cps.cps);
    state.window = win;
    $('#window').textContent = win.from ? `recoverable from ${whenEpoch(win.from_epoch)} to ${whenEpoch(win.to_epoch)}`
      : `(${win.reason})`;
    $('#last-refresh').textContent = 'updated ' + utcText(new Date()) + ' UTC';
    clearError();
  } catch (e) {
    showError(e.message);
  }
}

function renderTopology(t) {
  $('#cluster-origin').textContent = t.origin ? `restored from ${t.origin}` : '';
  const shards = (t.shards || []).map((s) => s.name);
  if (shards.join() !== state.shards.join()) {
    state.shards = shards;
    $('#policy-scope').replaceChildren(el('option', { value: '' }, 'whole cluster'),
      ...shards.map((s) => el('option', { value: s }, 'shard ' + s)));
    $('#backup-scope').replaceChildren(el('option', { value: '' }, 'whole cluster'),
      ...shards.map((s) => el('option', { value: s }, 'shard ' + s + ' alone')));
    $('#restore-scope').replaceChildren(el('option', { value: '' }, 'the whole cluster'),
      ...shards.map((s) => el('option', { value: s }, 'shard ' + s + ' alone')));
  }
  const tb = $('#topology tbody');
  tb.replaceChildren();
  const sets = [['meta', t.meta || []], ...(t.shards || []).map((s) => [s.name, s.nodes]), ['compute', t.compute || []]];
  for (const [set, nodes] of sets) {
    for (const n of nodes) {
      const st = n.state || '';
      tb.append(el('tr', { 'data-node': n.name },
        el('td', {}, set), el('td', {}, n.name), el('td', {}, n.role || 'compute'),
        el('td', {}, `${n.host}:${n.port}`), el('td', { class: 'state-' + st.replace(/\s+/g, '-') }, st),
        el('td', {}, n.lag_bytes === undefined || n.lag_bytes === null ? '' : bytes(n.lag_bytes))));
    }
  }
}

// The pool's complete backups, and above them the backup jobs that are
// queued, running or ended without one (failed, cancelled) with the reason.
function renderBackups(list, backupJobs) {
  const tb = $('#backups tbody');
  // Only the details the operator has open stay open across a refresh.
  const open = new Set([...tb.querySelectorAll('tr.backup-nodes:not([hidden])')].map((r) => r.dataset.of));
  tb.replaceChildren();
  for (const j of backupJobs.filter((x) => x.state !== 'succeeded').slice(0, 5)) {
    const p = j.progress || {};
    const what = j.state === 'running' || j.state === 'queued'
      ? `${p.phase || j.state}${p.bytes_total ? ', ' + bytes(p.bytes_done) + ' of ' + bytes(p.bytes_total) : ''}`
      : (j.reason || '');
    tb.append(el('tr', { 'data-job': j.id }, el('td', {}, `job #${j.id}`),
      el('td', {}, j.params && j.params.shard ? 'shard ' + j.params.shard : 'cluster'),
      el('td', {}, typeText(j.params && j.params.type)),
      el('td', { class: 'state-' + j.state }, j.state), el('td', {}, ''), el('td', {}, ''),
      el('td', {}, j.started_at && j.finished_at ? duration((pgDate(j.finished_at) - pgDate(j.started_at)) / 1000) : ''),
      el('td', {}, ''), el('td', { class: 'detail' }, what)));
  }
  for (const b of list.slice().reverse()) {
    // The pool lists a backup only once it is complete and verified.
    const more = el('button', { type: 'button', class: 'backup-more', 'data-backup': b.id }, 'nodes');
    const row = el('tr', { 'data-backup': b.id }, el('td', {}, b.id), el('td', {}, b.scope + (b.shard ? ' ' + b.shard : '')),
      el('td', {}, typeText(b.type)),
      el('td', { class: 'state-complete' }, 'complete'), el('td', {}, bytes(b.size)),
      el('td', {}, bytes(b.stored_size)), el('td', {}, duration(b.duration)),
      el('td', {}, b.end_cp ? b.end_cp.name : '', b.end_cp ? el('div', { class: 'hint' }, whenEpoch(b.end_cp.epoch)) : ''),
      el('td', { class: 'actions-cell' }, more));
    const nodes = el('tr', { class: 'backup-nodes', 'data-of': b.id },
      el('td', { colspan: 9, class: 'detail' },
        el('p', { class: 'hint' }, `Backup ${b.id}: started ${whenEpoch(b.started_epoch)}, took ${duration(b.duration)}, ` +
          `${bytes(b.size)} read, ${bytes(b.stored_size)} stored.`), nodeTable(b)));
    nodes.hidden = !open.has(b.id);
    more.addEventListener('click', () => { nodes.hidden = !nodes.hidden; });
    tb.append(row, nodes);
  }
  if (!list.length) tb.append(el('tr', {}, el('td', { colspan: 9, class: 'hint' }, 'No complete backup in the pool.')));
}

// A backup's or policy's type as the operator reads it (absent: full).
function typeText(t) {
  return { incr: 'incremental', diff: 'differential' }[t] || 'full';
}

// One backup's node backups: which standby each replica set came from, its
// type and the node backup it builds on, the stop LSN, the end CP's LSN of
// that set, sizes and durations.
function nodeTable(b) {
  const lsns = (b.end_cp && b.end_cp.lsns) || {};
  const t = el('table', { class: 'nodes' }, el('thead', {}, el('tr', {}, ...['replica set', 'source', 'via',
        'node backup', 'type', 'stop LSN', 'end CP LSN', 'size', 'stored', 'duration'].map((h) => el('th', {}, h)))));
  const body = el('tbody');
  for (const n of b.nodes || []) {
    body.append(el('tr', {}, el('td', {}, n.set), el('td', {}, n.source), el('td', {}, n.node_manager || 'in-process'),
      el('td', {}, n.backup), el('td', {}, typeText(n.type) + (n.parent ? ' on ' + n.parent : '')), el('td', {}, n.stop_lsn), el('td', {}, lsns[n.set] || ''),
      el('td', {}, bytes(n.size)), el('td', {}, bytes(n.stored_size)), el('td', {}, duration(n.duration))));
  }
  t.append(body);
  return t;
}

function scheduleText(p) {
  if (p.window) return `daily ${p.window} UTC`;
  return `every ${duration(p.period_seconds)}`;
}

function renderPolicies(list) {
  const tb = $('#policies tbody');
  tb.replaceChildren();
  for (const p of list) {
    const toggle = el('button', { type: 'button', class: 'policy-toggle' }, p.enabled ? 'Pause' : 'Resume');
    toggle.addEventListener('click', () => policyCall('PATCH', p.id, { enabled: !p.enabled }));
    const edit = el('button', { type: 'button', class: 'policy-edit' }, 'Edit');
    edit.addEventListener('click', () => editPolicy(p));
    const del = el('button', { type: 'button', class: 'policy-delete' }, 'Delete');
    del.addEventListener('click', () => policyCall('DELETE', p.id));
    tb.append(el('tr', { 'data-policy': p.id }, el('td', {}, p.id),
      el('td', {}, p.shard ? 'shard ' + p.shard : 'cluster'), el('td', {}, typeText(p.type)), el('td', {}, scheduleText(p)),
      el('td', {}, p.keep_last ? `keep the last ${p.keep_last}` : p.keep_days ? `keep ${p.keep_days} days` : 'keep everything'),
      el('td', { class: p.enabled ? 'ok' : 'state-cancelled' }, p.enabled ? 'active' : 'paused'),
      el('td', {}, when(p.last_run_at) || 'never'), el('td', { class: 'actions-cell' }, toggle, edit, del)));
  }
  if (!list.length) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'hint' }, 'No policy: backups run only when asked.')));
}

async function policyCall(method, id, body) {
  try {
    await api(method, '/api/v1/policies/' + id, body);
    await refreshCluster();
  } catch (e) {
    showError(e.message);
  }
}

// The form edits a policy (PATCH: its schedule and retention; the scope
// stays) or adds one (POST).
function policyFormMode(p) {
  state.editPolicy = p ? p.id : null;
  $('#policy-scope').disabled = !!p;
  $('#policy-add').textContent = p ? `Save policy ${p.id}` : 'Add policy';
  $('#policy-edit-cancel').hidden = !p;
}

function editPolicy(p) {
  policyFormMode(p);
  $('#policy-scope').value = p.shard || '';
  $('#policy-type').value = p.type || 'full';
  $('#policy-when').value = p.window ? 'window' : 'period';
  if (p.window) $('#policy-window').value = p.window;
  else {
    const unit = [86400, 3600, 60].find((u) => p.period_seconds % u === 0) || 60;
    $('#policy-unit').value = String(unit);
    $('#policy-period').value = String(p.period_seconds / unit);
  }
  $('#policy-keep').value = p.keep_last ? 'keep_last' : p.keep_days ? 'keep_days' : '';
  $('#policy-keep-n').value = String(p.keep_last || p.keep_days || 7);
  showPolicyInputs();
}

function showPolicyInputs() {
  const win = $('#policy-when').value === 'window';
  $('#policy-window').hidden = !win;
  $('#policy-period').hidden = win;
  $('#policy-unit').hidden = win;
  $('#policy-keep-n').hidden = !$('#policy-keep').value;
}

async function addPolicy(ev) {
  ev.preventDefault();
  const body = {};
  const shard = $('#policy-scope').value;
  const editing = state.editPolicy;
  if (shard && !editing) body.shard = shard;
  body.type = $('#policy-type').value;
  if ($('#policy-when').value === 'window') body.window = $('#policy-window').value.trim();
  else body.period_seconds = Math.round(Number($('#policy-period').value) * Number($('#policy-unit').value));
  const keep = $('#policy-keep').value;
  if (keep) body[keep] = Number($('#policy-keep-n').value);
  else if (editing) { body.keep_last = null; body.keep_days = null; }
  try {
    if (editing) await api('PATCH', '/api/v1/policies/' + editing, body);
    else await api('POST', `/api/v1/clusters/${encodeURIComponent(state.cluster)}/policies`, body);
    policyFormMode(null);
    clearError();
    await refreshCluster();
  } catch (e) {
    showError(e.message);
  }
}

function renderCps(list) {
  const tb = $('#cps tbody');
  tb.replaceChildren();
  for (const cp of list.slice().reverse().slice(0, 20)) {
    tb.append(el('tr', { 'data-cp': cp.name }, el('td', {}, cp.name), el('td', {}, whenEpoch(cp.epoch)),
      el('td', {}, cp.pause_ms === undefined ? '' : Number(cp.pause_ms).toFixed(1) + ' ms'),
      el('td', { class: 'detail' }, Object.entries(cp.lsns || {}).map(([k, v]) => `${k} ${v}`).join(', '))));
  }
  if (list.length > 20) tb.append(el('tr', {}, el('td', { colspan: 4, class: 'hint' }, `and ${list.length - 20} older`)));
  if (!list.length) tb.append(el('tr', {}, el('td', { colspan: 4, class: 'hint' }, 'No consistency point yet.')));
}

async function takeCp() {
  $('#cp-take').disabled = true;
  try {
    const cp = await api('POST', `/api/v1/clusters/${encodeURIComponent(state.cluster)}/cps`, {});
    $('#cp-taken').textContent = `took ${cp.name} at ${whenEpoch(cp.epoch)} (paused ${Number(cp.pause_ms).toFixed(1)} ms)`;
    clearError();
    await refreshCluster();
  } catch (e) {
    showError(e.message);
  } finally {
    $('#cp-take').disabled = false;
  }
}

// The retention a backup applied right after it (the job's "expire").
function expireText(e) {
  if (!e || (!e.applied && !e.error)) return '';
  if (e.error) return `; retention after it failed (the backup stands): ${e.error}`;
  const ids = (e.removed_backups || []).map((b) => b.id);
  return `; ${e.source}: ${ids.length ? 'expired ' + ids.join(', ') : 'nothing to expire'}`;
}

function jobDetail(j) {
  if (j.state === 'failed' || j.state === 'cancelled') return j.reason || '';
  if (!j.result) return j.params ? JSON.stringify(j.params) : '';
  if (j.kind === 'backup') return `backup ${j.result.backup || ''}${expireText(j.result.expire)}`;
  if (j.kind === 'restore' && j.result.shard) {
    return `shard ${j.result.shard} into ${j.result.address} (${j.result.data_dir}) at ` +
      (j.result.cp ? `CP ${j.result.cp} (${when(j.result.cp_time)})` : `LSN ${j.result.reached_lsn}, past the last CP`);
  }
  if (j.kind === 'restore') return j.result.cp ? `into ${j.result.restored_as} at CP ${j.result.cp} (${when(j.result.cp_time)})`
    : `into ${j.result.restored_as} by an exact cut`;
  if (j.kind === 'check') return j.result.summary || '';
  return JSON.stringify(j.result);
}

function renderJobs(list) {
  const tb = $('#jobs tbody');
  const open = new Set([...tb.querySelectorAll('tr.job-log:not([hidden])')].map((r) => r.dataset.of));
  tb.replaceChildren();
  for (const j of list.slice(0, 20)) {
    const btn = el('button', { type: 'button', class: 'job-log-btn', 'data-job': j.id }, 'log');
    const logRow = el('tr', { class: 'job-log', 'data-of': String(j.id) },
      el('td', { colspan: 7 }, el('pre', { class: 'log' }, 'loading…')));
    logRow.hidden = true;
    btn.addEventListener('click', () => toggleJobLog(j.id, logRow));
    tb.append(el('tr', { 'data-job': j.id }, el('td', {}, j.id), el('td', {}, j.kind),
      el('td', { class: 'state-' + j.state }, j.state),
      el('td', {}, when(j.started_at)), el('td', {}, when(j.finished_at)),
      el('td', { class: 'detail' }, jobDetail(j)), el('td', { class: 'actions-cell' }, btn)), logRow);
    if (open.has(String(j.id))) toggleJobLog(j.id, logRow);
  }
}

// A job's log lines (GET /api/v1/jobs/{id}/log), below its row.
async function toggleJobLog(id, row) {
  if (!row.hidden) { row.hidden = true; return; }
  row.hidden = false;
  const pre = row.querySelector('pre');
  try {
    const l = await api('GET', `/api/v1/jobs/${id}/log`);
    pre.textContent = (l.lines || []).join('\n') || '(no log lines kept for this job)';
    if (l.running) pre.textContent += '\n… (still running)';
  } catch (e) {
    pre.textContent = e.message;
  }
}

// ---- jobs ---------------------------------------------------------------------

// Polls a job until it ends; shows its state and progress on the way.
function followJob(id, kind, onDone) {
  if (state.polling) clearInterval(state.polling);
  state.jobCluster = state.cluster;
  $('#job').hidden = false;
  $('#job-id').textContent = '#' + id;
  $('#job-kind').textContent = kind;
  $('#job-state').textContent = 'queued';
  $('#job-state').className = 'state-queued';
  $('#job-detail').textContent = '';
  $('#job-sets').replaceChildren();
  // A backup can be cancelled while it is queued or runs.
  const cancel = $('#job-cancel');
  cancel.hidden = kind !== 'backup';
  cancel.disabled = false;
  cancel.onclick = async () => {
    cancel.disabled = true;
    try {
      await api('POST', `/api/v1/jobs/${id}/cancel`, {});
      $('#job-detail').textContent = 'cancelling…';
    } catch (e) {
      showError(e.message);
      cancel.disabled = false;
    }
  };
  const bar = $('#job-progress');
  bar.hidden = false;
  bar.removeAttribute('value');
  const tick = async () => {
    let j;
    try {
      j = await api('GET', '/api/v1/jobs/' + id);
    } catch (e) {
      showError(e.message);
      return;
    }
    $('#job').hidden = state.cluster !== state.jobCluster;
    $('#job-state').textContent = j.state;
    $('#job-state').className = 'state-' + j.state;
    const p = j.progress;
    // Bytes done/total: the job's, else the sum of its replica sets'.
    const sets = (p && p.sets) || [];
    const total = p && p.bytes_total ? p.bytes_total : sets.reduce((a, s) => a + (s.bytes_total || 0), 0);
    const done = p && p.bytes_total ? (p.bytes_done || 0) : sets.reduce((a, s) => a + (s.bytes_done || 0), 0);
    if (total) {
      bar.max = total;
      bar.value = Math.min(done, total);
      $('#job-detail').textContent = `${p.phase ? p.phase + ': ' : ''}${bytes(done)} of ${bytes(total)}` +
        ` (${Math.floor((100 * done) / total)}%)`;
    } else if (p && p.phase) {
      $('#job-detail').textContent = p.phase;
    }
    // A backup's replica sets: which node, where, how far.
    $('#job-sets').replaceChildren(...((p && p.sets) || []).map((s) => el('li', {},
      `${s.set}: ${s.node}${s.node_manager ? ' via ' + s.node_manager : ''}, ${s.state}` +
      (s.bytes_total ? `, ${bytes(s.bytes_done)} of ${bytes(s.bytes_total)}` : ''))));
    if (j.state === 'succeeded' || j.state === 'failed' || j.state === 'cancelled') {
      clearInterval(state.polling);
      state.polling = null;
      bar.hidden = true;
      cancel.hidden = true;
      $('#job-sets').replaceChildren();
      $('#job-detail').textContent = jobDetail(j);
      if (j.state === 'failed') showError(`${kind} job ${id} failed: ${j.reason}`);
      if (j.state === 'cancelled') $('#job-detail').textContent = `cancelled: ${j.reason || ''}`;
      onDone(j);
    }
  };
  state.polling = setInterval(tick, 1000);
  tick();
}

async function startBackup() {
  const name = state.cluster;
  $('#backup').disabled = true;
  try {
    // A shard backup: that shard alone (restorable with its CPs, not a
    // whole-cluster restore's starting point).
    const shard = $('#backup-scope').value;
    const body = { type: $('#backup-type').value };
    if (shard) body.shard = shard;
    const r = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/backups`, body);
    clearError();
    followJob(r.job, 'backup', async () => {
      $('#backup').disabled = false;
      await refreshCluster();
    });
  } catch (e) {
    $('#backup').disabled = false;
    showError(e.message);
  }
}

// ---- restore ------------------------------------------------------------------

async function openRestore() {
  const name = state.cluster;
  const base = '/api/v1/clusters/' + encodeURIComponent(name);
  let win, cps;
  try {
    [win, cps] = await Promise.all([api('GET', base + '/window'), api('GET', base + '/cps')]);
  } catch (e) {
    showError(e.message);
    return;
  }
  $('#restore-source').textContent = name;
  $('#restore-error').hidden = true;
  const time = $('#restore-time');
  const sel = $('#restore-cp');
  sel.replaceChildren();
  if (win.from) {
    // Whole seconds inside the window: the earliest CP may be a fraction
    // of a second after the minute it starts in.
    const min = Math.ceil(win.from_epoch), max = Math.floor(win.to_epoch);
    time.min = toUtcInput(min);
    time.max = toUtcInput(Math.max(min, max));
    time.value = time.max;
    $('#restore-window').textContent =
      `Recoverable window: ${whenEpoch(win.from_epoch)} to ${whenEpoch(win.to_epoch)} (the picker is in UTC too).`;
    for (const cp of cps.cps.slice().reverse()) {
      if (cp.epoch + 1e-6 < win.from_epoch) continue;
      sel.append(el('option', { value: cp.name }, `${cp.name} (${whenEpoch(cp.epoch)})`));
    }
  } else {
    time.removeAttribute('min');
    time.removeAttribute('max');
    $('#restore-window').textContent = `Nothing to restore yet: ${win.reason}.`;
  }
  $('#restore-plan').hidden = true;
  $('#restore-scope-hint').hidden = !$('#restore-scope').value;
  $('#restore-to').value = `${name}-r${Date.now() % 100000}`;
  $('#restore-dialog').showModal();
}

// The dialog's restore request, the body of both POST .../restore-plan and
// POST .../restores (request/restore_request.h): the new name, one
// target, and "shard" for one shard alone. { error } when incomplete.
function restoreRequest() {
  const body = { to: $('#restore-to').value.trim() };
  const shard = $('#restore-scope').value;
  if (shard) body.shard = shard;
  const kind = document.querySelector('input[name=target]:checked').value;
  if (kind === 'time') {
    const v = $('#restore-time').value;
    if (!v) return { error: 'Choose a time inside the recoverable window.' };
    body.time = toApiTime(v);
  } else if (kind === 'cp') {
    if (!$('#restore-cp').value) return { error: 'There is no consistency point to choose.' };
    body.cp = $('#restore-cp').value;
  } else if (kind === 'gtxid') {
    const g = $('#restore-gtxid').value.trim();
    if (!g) return { error: 'Give the global transaction (its gtxid in the commit log).' };
    body.gtxid = g;
  } else {
    body.latest = true;
  }
  return { body };
}

// Why the plan's CP was chosen, from the request's target.
function planReason(body, plan) {
  if (body.time) {
    const gap = inputEpoch($('#restore-time').value) - plan.cp.epoch;
    return el('span', { id: 'plan-distance' },
      (gap < 0.05 ? 'exactly the asked time' : `${duration(gap)} before the asked time`) + ` (${when(plan.time)})`);
  }
  if (body.gtxid) return el('span', { id: 'plan-distance' }, `the first CP after the decision of ${body.gtxid}`);
  if (body.cp) return el('span', { id: 'plan-distance' }, 'the CP chosen');
  return el('span', { id: 'plan-distance' }, 'the latest CP');
}

// What the restore would use (POST .../restore-plan, nothing restored):
// the CP, why it was chosen (its distance before an asked time), the backup.
// A time target of the whole cluster also says how each node is cut
// (plan.cut): exactly, per node at its own LSN (docs/design.md, "Exact
// cluster targets"), or at the CP and why not exactly.
function renderPlan(body, plan) {
  const what = plan.shard ? `Shard ${plan.shard} alone restores` : 'Restores';
  const cut = plan.cut;
  if (cut && cut.method === 'exact') {
    const nodes = cut.cuts.map((c) => el('li', {}, `${c.set}: LSN ${c.lsn} (${c.how}` +
      (c.skew_seconds !== undefined ? `, clock ${c.skew_seconds >= 0 ? '+' : ''}${c.skew_seconds.toFixed(1)} s` : '') + ')'));
    const asked = body.gtxid ? `global transaction ${body.gtxid}` : `the asked time (${when(plan.time)})`;
    return [el('p', { id: 'plan-cut' }, `Restores exactly to ${asked}: `,
      `${cut.decided} global decisions, from backup ${cut.backup}; each node stops at its own LSN:`),
      el('ul', { id: 'plan-cuts' }, ...nodes),
      el('p', { id: 'plan-cp', class: 'hint' }, 'The nearest CP at or before it: ', el('strong', {}, plan.cp.name),
        ` at ${whenEpoch(plan.cp.epoch)}, `, planReason(body, plan), `, from backup ${plan.backup}.`)];
  }
  const shown = [el('p', { id: 'plan-cp' }, `${what} to CP `, el('strong', {}, plan.cp.name),
    ` at ${whenEpoch(plan.cp.epoch)}, `, planReason(body, plan), `, from backup ${plan.backup}.`)];
  if (cut) shown.push(el('p', { id: 'plan-why' }, `Not an exact cut: ${cut.why || 'no WAL index'}.`));
  return shown;
}

async function previewRestore() {
  const box = $('#restore-plan');
  $('#restore-error').hidden = true;
  const req = restoreRequest();
  box.hidden = false;
  if (req.error) {
    box.replaceChildren(el('p', { class: 'error' }, req.error));
    return;
  }
  // The previous plan goes at once: what is shown is this request's.
  box.replaceChildren(el('p', { class: 'hint' }, 'planning…'));
  try {
    // The plan does not depend on the new name: it is not sent.
    const { to, ...asked } = req.body; // eslint-disable-line no-unused-vars
    const plan = await api('POST', `/api/v1/clusters/${encodeURIComponent(state.cluster)}/restore-plan`, asked);
    box.replaceChildren(...renderPlan(req.body, plan));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

function restoreDone(j) {
  if (j.state !== 'succeeded') return refreshCluster();
  // A shard alone is an instance, not a registered cluster: it is shown
  // in the job's detail and the source stays on screen.
  if (j.result.shard) return refreshCluster();
  // The finished restore's panel goes with the new cluster.
  state.jobCluster = j.result.restored_as;
  return selectCluster(j.result.restored_as);
}

async function submitRestore(ev) {
  ev.preventDefault();
  const name = state.cluster;
  const req = restoreRequest();
  if (req.error) {
    $('#restore-error').textContent = req.error;
    $('#restore-error').hidden = false;
    return;
  }
  $('#restore-submit').disabled = true;
  try {
    const r = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/restores`, req.body);
    $('#restore-dialog').close();
    clearError();
    followJob(r.job, req.body.shard ? 'shard restore' : 'restore', async (j) => {
      await loadClusters();
      await restoreDone(j);
    });
  } catch (e) {
    $('#restore-error').textContent = e.message;
    $('#restore-error').hidden = false;
  } finally {
    $('#restore-submit').disabled = false;
  }
}

// ---- consistency check -----------------------------------------------------------

async function checkConsistency() {
  const name = state.cluster;
  const box = $('#check-result');
  box.hidden = false;
  box.replaceChildren(el('p', {}, `Checking ${name}…`));
  $('#check').disabled = true;
  try {
    // A job: the check reads every shard, which takes long on a big cluster.
    const job = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/check`, {});
    clearError();
    followJob(job.job, 'check', (j) => {
      $('#check').disabled = false;
      if (j.state !== 'succeeded') {
        box.replaceChildren(el('p', { class: 'error' }, `check job ${j.id} ${j.state}: ${j.reason || ''}`));
        return;
      }
      const r = j.result;
      box.replaceChildren(
        el('p', {}, el('strong', { class: r.consistent ? 'ok' : 'bad', id: 'check-verdict' },
          r.consistent ? 'consistent' : 'NOT consistent'), ' — ', r.summary));
      if (r.violations && r.violations.length) {
        const ul = el('ul');
        for (const v of r.violations) ul.append(el('li', {}, `${v.check}: ${v.problem}`));
        box.append(ul);
      }
    });
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e.message));
    $('#check').disabled = false;
  }
}

// ---- wiring ---------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('strataToken', $('#token').value.trim());
    $('#token').value = '';
    clearError();
    await start();
  });
  $('#logout').addEventListener('click', () => {
    sessionStorage.removeItem('strataToken');
    showLogin();
  });
  $('#refresh').addEventListener('click', async () => {
    await loadClusters();
    await refreshCluster();
  });
  $('#backup').addEventListener('click', startBackup);
  $('#restore').addEventListener('click', openRestore);
  $('#check').addEventListener('click', checkConsistency);
  $('#restore-form').addEventListener('submit', submitRestore);
  $('#restore-cancel').addEventListener('click', () => $('#restore-dialog').close());
  $('#restore-preview').addEventListener('click', previewRestore);
  $('#restore-time').addEventListener('change', () => { $('#restore-plan').hidden = true; });
  $('#policy-form').addEventListener('submit', addPolicy);
  $('#policy-when').addEventListener('change', showPolicyInputs);
  $('#policy-keep').addEventListener('change', showPolicyInputs);
  $('#policy-edit-cancel').addEventListener('click', () => policyFormMode(null));
  $('#cp-take').addEventListener('click', takeCp);
  $('#auto-refresh').addEventListener('change', () => setAutoRefresh($('#auto-refresh').checked));
  $('#restore-time').addEventListener('focus', () => { $('#target-time').checked = true; });
  $('#restore-cp').addEventListener('change', () => { $('#target-cp').checked = true; });
  $('#restore-gtxid').addEventListener('focus', () => { $('#target-gtxid').checked = true; });
  // A plan shown is the plan of what the dialog asked: a change hides it.
  for (const id of ['#restore-scope', '#restore-cp', '#restore-gtxid']) {
    $(id).addEventListener('input', () => { $('#restore-plan').hidden = true; });
  }
  for (const r of document.querySelectorAll('input[name=target]')) {
    r.addEventListener('change', () => { $('#restore-plan').hidden = true; });
  }
  $('#restore-scope').addEventListener('change', () => {
    $('#restore-scope-hint').hidden = !$('#restore-scope').value;
  });
  if (token()) start(); else showLogin();
});
