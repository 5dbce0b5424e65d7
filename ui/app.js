// The cluster manager's web UI: plain JavaScript over the HTTP/JSON API
// (docs/manager.md). The token is asked once and kept in sessionStorage;
// every API call sends it. Errors from the API are shown as they come.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { cluster: null, window: null, polling: null };

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
function seconds(s) { return s === null || s === undefined ? '' : Number(s).toFixed(1) + ' s'; }
function pad(n) { return String(n).padStart(2, '0'); }
// Unix seconds as a datetime-local value (this browser's time zone).
function toLocalInput(epoch) {
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
// A datetime-local value as the API's time, in UTC.
function toApiTime(value) {
  const d = new Date(value);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+00`;
}

// ---- login --------------------------------------------------------------------

function showLogin() {
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
  await refreshCluster();
}

async function refreshCluster() {
  const name = state.cluster;
  if (!name) return;
  const base = '/api/v1/clusters/' + encodeURIComponent(name);
  try {
    const [topo, backups, win, jobs] = await Promise.all([
      api('GET', base), api('GET', base + '/backups'), api('GET', base + '/window'), api('GET', '/api/v1/jobs')]);
    if (name !== state.cluster) return;
    renderTopology(topo);
    renderBackups(backups.backups);
    renderJobs(jobs.jobs.filter((j) => j.cluster === name ||
      (j.result && j.result.restored_as === name)));
    state.window = win;
    $('#window').textContent = win.from ? `recoverable from ${win.from} to ${win.to}` : `(${win.reason})`;
    clearError();
  } catch (e) {
    showError(e.message);
  }
}

function renderTopology(t) {
  $('#cluster-origin').textContent = t.origin ? `restored from ${t.origin}` : '';
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

function renderBackups(list) {
  const tb = $('#backups tbody');
  tb.replaceChildren();
  for (const b of list.slice().reverse()) {
    // The pool lists a backup only once it is complete and verified.
    tb.append(el('tr', {}, el('td', {}, b.id), el('td', {}, b.scope + (b.shard ? ' ' + b.shard : '')),
      el('td', { class: 'state-complete' }, 'complete'), el('td', {}, bytes(b.size)),
      el('td', {}, bytes(b.stored_size)), el('td', {}, seconds(b.duration)),
      el('td', {}, b.end_cp ? b.end_cp.name : '')));
  }
  if (!list.length) tb.append(el('tr', {}, el('td', { colspan: 7, class: 'hint' }, 'No complete backup in the pool.')));
}

function jobDetail(j) {
  if (j.state === 'failed' || j.state === 'cancelled') return j.reason || '';
  if (!j.result) return j.params ? JSON.stringify(j.params) : '';
  if (j.kind === 'backup') return `backup ${j.result.backup || ''}`;
  if (j.kind === 'restore') return `into ${j.result.restored_as} at CP ${j.result.cp} (${j.result.cp_time})`;
  return JSON.stringify(j.result);
}

function renderJobs(list) {
  const tb = $('#jobs tbody');
  tb.replaceChildren();
  for (const j of list.slice(0, 20)) {
    tb.append(el('tr', {}, el('td', {}, j.id), el('td', {}, j.kind), el('td', { class: 'state-' + j.state }, j.state),
      el('td', {}, j.started_at || ''), el('td', {}, j.finished_at || ''),
      el('td', { class: 'detail' }, jobDetail(j))));
  }
}

// ---- jobs ---------------------------------------------------------------------

// Polls a job until it ends; shows its state and progress on the way.
function followJob(id, kind, onDone) {
  if (state.polling) clearInterval(state.polling);
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
    $('#job-state').textContent = j.state;
    $('#job-state').className = 'state-' + j.state;
    const p = j.progress;
    if (p && p.bytes_total) {
      bar.max = p.bytes_total;
      bar.value = p.bytes_done || 0;
      $('#job-detail').textContent = `${p.phase ? p.phase + ': ' : ''}${bytes(p.bytes_done)} of ${bytes(p.bytes_total)}`;
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
    const r = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/backups`, {});
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
    time.min = toLocalInput(min);
    time.max = toLocalInput(Math.max(min, max));
    time.value = time.max;
    $('#restore-window').textContent =
      `Recoverable window: ${win.from} to ${win.to} (times are in this browser's time zone, sent as UTC).`;
    for (const cp of cps.cps.slice().reverse()) {
      if (cp.epoch + 1e-6 < win.from_epoch) continue;
      sel.append(el('option', { value: cp.name }, `${cp.name} (${cp.time})`));
    }
  } else {
    time.removeAttribute('min');
    time.removeAttribute('max');
    $('#restore-window').textContent = `Nothing to restore yet: ${win.reason}.`;
  }
  $('#restore-to').value = `${name}-r${Date.now() % 100000}`;
  $('#restore-dialog').showModal();
}

async function submitRestore(ev) {
  ev.preventDefault();
  const name = state.cluster;
  const to = $('#restore-to').value.trim();
  const kind = document.querySelector('input[name=target]:checked').value;
  const body = { to };
  if (kind === 'time') {
    const v = $('#restore-time').value;
    if (!v) {
      $('#restore-error').textContent = 'Choose a time inside the recoverable window.';
      $('#restore-error').hidden = false;
      return;
    }
    body.time = toApiTime(v);
  } else if (kind === 'cp') {
    if (!$('#restore-cp').value) {
      $('#restore-error').textContent = 'There is no consistency point to choose.';
      $('#restore-error').hidden = false;
      return;
    }
    body.cp = $('#restore-cp').value;
  } else {
    body.latest = true;
  }
  $('#restore-submit').disabled = true;
  try {
    const r = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/restores`, body);
    $('#restore-dialog').close();
    clearError();
    followJob(r.job, 'restore', async (j) => {
      await loadClusters();
      if (j.state === 'succeeded') await selectCluster(j.result.restored_as);
      else await refreshCluster();
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
    const r = await api('POST', `/api/v1/clusters/${encodeURIComponent(name)}/check`, {});
    box.replaceChildren(
      el('p', {}, el('strong', { class: r.consistent ? 'ok' : 'bad', id: 'check-verdict' },
        r.consistent ? 'consistent' : 'NOT consistent'), ' — ', r.summary));
    if (r.violations && r.violations.length) {
      const ul = el('ul');
      for (const v of r.violations) ul.append(el('li', {}, `${v.check}: ${v.problem}`));
      box.append(ul);
    }
    clearError();
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e.message));
  } finally {
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
  $('#restore-time').addEventListener('focus', () => { $('#target-time').checked = true; });
  $('#restore-cp').addEventListener('change', () => { $('#target-cp').checked = true; });
  if (token()) start(); else showLogin();
});
