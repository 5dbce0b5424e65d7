// The browser half of t_ui_browser.sh: drives the cluster manager's UI in
// headless Chromium with playwright-core and prints TAP lines. Each step
// saves a screenshot (printed as "# screenshot: PATH"); the first failing
// step prints "not ok" and ends the run with exit 1.
// Environment: STRATA_UI_URL, STRATA_TOKEN, STRATA_SHOTS, STRATA_CHROMIUM;
// STRATA_BIN, STRATA_META (the source's metadata conninfo) and PGBIN, for
// the gtxid restore (a short workload, then a gtxid from the commit log).
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');

const URL = process.env.STRATA_UI_URL;
const TOKEN = process.env.STRATA_TOKEN;
const SHOTS = process.env.STRATA_SHOTS;
const CLUSTER = 'c1';
const NEW = 'c1-ui' + (Date.now() % 10000);
const NEW_GTX = 'c1-gtx' + (Date.now() % 10000);
const NEW_SHARD = 'c1-sh' + (Date.now() % 10000);
const NODES = 10;   // 3 meta, 3 per shard (2 shards), 1 compute

let page;
let shot = 0;

async function screenshot(name) {
  shot++;
  const path = `${SHOTS}/${String(shot).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
}

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - browser: ${name}`);
  } catch (e) {
    const err = await page.locator('#error').textContent().catch(() => '');
    console.log(`not ok - browser: ${name}: ${String(e.message).split('\n')[0]}${err ? ' (page error: ' + err + ')' : ''}`);
    await screenshot('failed').catch(() => {});
    throw e;
  }
}

// The API directly, for what the UI does not do (taking a CP).
async function api(method, path) {
  const r = await fetch(URL + path, { method, headers: { Authorization: 'Bearer ' + TOKEN } });
  const body = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${body.error}`);
  return body;
}

// Waits for the job panel to show an end state; fails on "failed". Returns
// the texts the panel showed on the way (its live progress).
async function jobEnds(kind, timeoutMs) {
  await page.locator('#job-kind', { hasText: kind }).waitFor({ timeout: 10000 });
  await page.evaluate(() => {
    window.seenProgress = [];
    window.seenBarValue = false;
    const watch = () => {
      const t = document.querySelector('#job-detail').textContent;
      if (t && !window.seenProgress.includes(t)) window.seenProgress.push(t);
      const bar = document.querySelector('#job-progress');
      if (!bar.hidden && bar.hasAttribute('value') && bar.value > 0) window.seenBarValue = true;
    };
    window.progressWatch = setInterval(watch, 100);
  });
  await page.waitForFunction(() => {
    const s = document.querySelector('#job-state').textContent;
    return s === 'succeeded' || s === 'failed';
  }, null, { timeout: timeoutMs, polling: 500 });
  const seen = await page.evaluate(() => { clearInterval(window.progressWatch); return window.seenProgress; });
  const s = await page.locator('#job-state').textContent();
  if (s !== 'succeeded') {
    throw new Error(`${kind} job ${s}: ${await page.locator('#job-detail').textContent()}`);
  }
  console.log(`# ${kind} job progress shown: ${JSON.stringify(seen)}`);
  return seen;
}

// Submits the restore dialog and waits until the job panel follows the new
// job (its id changes: the panel may still show the previous job's end).
async function submitRestoreJob(kind) {
  const before = await page.locator('#job-id').textContent();
  await page.click('#restore-submit');
  await page.waitForFunction((b) => {
    const id = document.querySelector('#job-id').textContent;
    return !document.querySelector('#job').hidden && id && id !== b;
  }, before, { timeout: 20000 });
  return jobEnds(kind, 900000);
}

// Opens the Restore dialog on the source with a scope and a new name.
async function openRestoreDialog(scope, to) {
  await page.click(`#clusters button[data-name="${CLUSTER}"]`);
  await page.locator('#cluster-name', { hasText: CLUSTER }).waitFor({ timeout: 10000 });
  await page.click('#restore');
  await page.locator('#restore-dialog[open]').waitFor({ timeout: 10000 });
  await page.selectOption('#restore-scope', scope);
  await page.fill('#restore-to', to);
}

// The plan preview's text, once shown (a refresh cannot re-render the
// dialog: auto-refresh pauses while it is open).
async function previewText() {
  await page.click('#restore-preview');
  await page.locator('#restore-plan:not([hidden]) #plan-cp, #restore-plan:not([hidden]) p.error').first()
    .waitFor({ timeout: 20000 });
  if (await page.locator('#restore-plan p.error').count()) {
    throw new Error(`plan refused: ${await page.locator('#restore-plan p.error').textContent()}`);
  }
  return page.locator('#plan-cp').textContent();
}

// A global transaction decided now: a few seconds of the bank workload,
// then the newest decision in the source's commit log.
function freshGtxid() {
  execFileSync(process.env.STRATA_BIN, ['workload', '--meta-conn', process.env.STRATA_META, '--cluster', CLUSTER,
    '--clients', '2', '--duration', '3', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = execFileSync(`${process.env.PGBIN || '/usr/lib/postgresql/15/bin'}/psql`,
    ['-X', '-At', '-d', process.env.STRATA_META, '-c',
      'SELECT gtxid FROM strata.commit_log ORDER BY decided_at DESC LIMIT 1'], { encoding: 'utf8' });
  const g = out.trim();
  if (!g) throw new Error('the workload decided no global transaction');
  return g;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.STRATA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const outside = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('request', (r) => { if (!r.url().startsWith(URL)) outside.push(r.url()); });
    page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));

    await step('the login page asks for the token', async () => {
      await page.goto(URL + '/');
      await page.locator('#token').waitFor({ state: 'visible', timeout: 10000 });
      if (await page.locator('#app').isVisible()) throw new Error('the application shows under the login page');
      await screenshot('login');
    });

    await step('a wrong token is refused with the API\'s message', async () => {
      await page.fill('#token', 'not-the-right-token-at-all');
      await page.click('#login-form button[type=submit]');
      await page.locator('#error', { hasText: 'invalid API token' }).waitFor({ timeout: 10000 });
      await page.locator('#token').waitFor({ state: 'visible', timeout: 10000 });
    });

    await step('log in with the token and see cluster c1 with its topology', async () => {
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type=submit]');
      await page.click(`#clusters button[data-name="${CLUSTER}"]`, { timeout: 10000 });
      await page.locator('#cluster-name', { hasText: CLUSTER }).waitFor({ timeout: 10000 });
      await page.locator('#topology tbody tr[data-node]').first().waitFor({ timeout: 10000 });
      const rows = await page.locator('#topology tbody tr[data-node]').count();
      if (rows < NODES) throw new Error(`topology shows ${rows} nodes, expected ${NODES}`);
      await page.locator('#topology td.state-streaming').first().waitFor({ timeout: 10000 });
      if (await page.locator('#login').isVisible()) throw new Error('the login form stays on screen after signing in');
      await screenshot('cluster');
    });

    await step('the node managers\' health is shown (none configured here: in-process)', async () => {
      await page.locator('#nm-health #nm-none', { hasText: 'None configured' }).waitFor({ timeout: 10000 });
    });

    // A daily window that does not contain now, so the scheduler queues no
    // backup while the test runs.
    const h = (new Date().getUTCHours() + 3) % 24;
    const win = `${String(h).padStart(2, '0')}:00-${String((h + 1) % 24).padStart(2, '0')}:00`;
    await step(`add an incremental backup policy (daily ${win} UTC, keep the last 7), pause and resume it`, async () => {
      await page.selectOption('#policy-type', 'incr');
      await page.selectOption('#policy-when', 'window');
      await page.fill('#policy-window', 'nightly');
      await page.click('#policy-add');
      await page.locator('#error', { hasText: "window 'nightly' is not HH:MM-HH:MM" }).waitFor({ timeout: 10000 });
      await screenshot('policy-error');
      await page.fill('#policy-window', win);
      await page.selectOption('#policy-keep', 'keep_last');
      await page.fill('#policy-keep-n', '7');
      await page.click('#policy-add');
      const row = page.locator('#policies tbody tr[data-policy]').first();
      await row.waitFor({ timeout: 10000 });
      const text = await row.textContent();
      for (const want of ['incremental', `daily ${win} UTC`, 'keep the last 7', 'active', 'never']) {
        if (!text.includes(want)) throw new Error(`policy row '${text}' lacks '${want}'`);
      }
      if (await page.locator('#error').isVisible()) throw new Error('the earlier error is still shown');
      await row.locator('button.policy-toggle', { hasText: 'Pause' }).click();
      await page.locator('#policies tbody tr[data-policy] td', { hasText: 'paused' }).waitFor({ timeout: 10000 });
      await screenshot('policy-paused');
      await page.locator('#policies button.policy-toggle', { hasText: 'Resume' }).click();
      await page.locator('#policies tbody tr[data-policy] td', { hasText: 'active' }).waitFor({ timeout: 10000 });
      const api1 = await api('GET', `/api/v1/clusters/${CLUSTER}/policies`);
      const p = api1.policies[0];
      if (api1.policies.length !== 1 || p.window !== win || p.keep_last !== 7 || !p.enabled || p.type !== 'incr') {
        throw new Error(`the API has ${JSON.stringify(api1.policies)}`);
      }
    });

    const win2 = `${String((h + 1) % 24).padStart(2, '0')}:30-${String((h + 2) % 24).padStart(2, '0')}:00`;
    await step(`edit the policy: differential, daily ${win2} UTC, keep 14 days`, async () => {
      await page.click('#policies button.policy-edit');
      const label = await page.locator('#policy-add').textContent();
      if (!label.startsWith('Save policy')) throw new Error(`the form's button says '${label}'`);
      if ((await page.inputValue('#policy-window')) !== win) throw new Error('the form does not hold the policy');
      if ((await page.inputValue('#policy-type')) !== 'incr') throw new Error('the form does not hold the policy\'s type');
      await page.selectOption('#policy-type', 'diff');
      await page.fill('#policy-window', win2);
      await page.selectOption('#policy-keep', 'keep_days');
      await page.fill('#policy-keep-n', '14');
      await page.click('#policy-add');
      await page.locator('#policies tbody tr[data-policy]', { hasText: `daily ${win2} UTC` }).waitFor({ timeout: 10000 });
      const text = await page.locator('#policies tbody tr[data-policy]').first().textContent();
      if (!text.includes('keep 14 days') || !text.includes('active') || !text.includes('differential')) {
        throw new Error(`edited row '${text}'`);
      }
      if ((await page.locator('#policies tbody tr[data-policy]').count()) !== 1) throw new Error('edit added a policy');
      if ((await page.locator('#policy-add').textContent()) !== 'Add policy') throw new Error('the form stays in edit mode');
      await screenshot('policy-edited');
    });

    await step('delete the policy', async () => {
      await page.click('#policies button.policy-delete');
      await page.locator('#policies tbody td', { hasText: 'No policy' }).waitFor({ timeout: 10000 });
    });

    await step('click Backup and follow the job to success, with bytes done/total on the bar', async () => {
      await page.click('#backup');
      const seen = await jobEnds('backup', 600000);
      const bytesShown = seen.some((t) => /^node backups: .* of .* \(\d+%\)$/.test(t));
      const barValued = await page.evaluate(() => window.seenBarValue);
      if (!bytesShown || !barValued) {
        throw new Error(`node backups' bytes not shown (bar had a value: ${barValued}; texts ${JSON.stringify(seen)})`);
      }
      await page.locator('#backups tbody td.state-complete').first().waitFor({ timeout: 10000 });
      await screenshot('backup-done');
    });

    await step('timestamps are readable, in UTC and labelled (jobs, window)', async () => {
      const started = await page.locator('#jobs tbody tr td:nth-child(4)').first().textContent();
      if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(started)) throw new Error(`job started '${started}'`);
      const win = await page.locator('#window').textContent();
      if (!/recoverable from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to .* UTC$/.test(win)) throw new Error(`window '${win}'`);
    });

    await step('a backup\'s detail: each replica set\'s source standby, stop LSN, size, duration', async () => {
      const b = page.locator('#backups tbody tr[data-backup]').first();
      await b.locator('button.backup-more').click();
      const nodes = page.locator('#backups tr.backup-nodes:not([hidden]) table.nodes tbody tr');
      await nodes.first().waitFor({ timeout: 10000 });
      const n = await nodes.count();
      if (n < 3) throw new Error(`${n} node backups shown, expected 3 (meta, shard1, shard2)`);
      const text = await nodes.first().textContent();
      if (!/[0-9A-F]+\/[0-9A-F]+/.test(text)) throw new Error(`node backup row '${text}' lacks an LSN`);
      console.log(`# node backup: ${text}`);
      await screenshot('backup-detail');
    });

    await step('the backup job\'s log lines are shown under its row', async () => {
      await page.locator('#jobs button.job-log-btn').first().click();
      const pre = page.locator('#jobs tr.job-log:not([hidden]) pre.log');
      await pre.waitFor({ timeout: 10000 });
      await page.waitForFunction(() => {
        const p = document.querySelector('#jobs tr.job-log:not([hidden]) pre.log');
        return p && p.textContent !== 'loading…';
      }, null, { timeout: 10000 });
      const text = await pre.textContent();
      if (!/INFO \[job \d+\]/.test(text)) throw new Error(`log shown: '${text.slice(0, 300)}'`);
      await screenshot('job-log');
      await page.locator('#jobs button.job-log-btn').first().click();
    });

    await step('back up shard1 alone: the job succeeds and the backup is listed as a shard backup', async () => {
      await page.selectOption('#backup-scope', 'shard1');
      await page.click('#backup');
      await page.locator('#job-state', { hasText: 'queued' }).or(page.locator('#job-state', { hasText: 'running' }))
        .waitFor({ timeout: 10000 });
      await jobEnds('backup', 600000);
      await page.locator('#backups tbody tr[data-backup]', { hasText: 'shard shard1' }).waitFor({ timeout: 20000 });
      await page.selectOption('#backup-scope', '');
      await screenshot('shard-backup');
    });

    await step('an incremental backup of the cluster: listed as one, its node backups built on the full one', async () => {
      const full = await page.locator('#backups tbody tr[data-backup]', { hasText: 'full' }).last().getAttribute('data-backup');
      await page.selectOption('#backup-type', 'incr');
      await page.click('#backup');
      await page.locator('#job-state', { hasText: 'queued' }).or(page.locator('#job-state', { hasText: 'running' }))
        .waitFor({ timeout: 10000 });
      await jobEnds('backup', 600000);
      await page.selectOption('#backup-type', 'full');
      const row = page.locator('#backups tbody tr[data-backup]', { hasText: 'incremental' }).first();
      await row.waitFor({ timeout: 20000 });
      await row.locator('button.backup-more').click();
      const id = await row.getAttribute('data-backup');
      const nodes = page.locator(`#backups tr.backup-nodes[data-of="${id}"] table.nodes tbody tr`);
      await nodes.first().waitFor({ timeout: 10000 });
      const texts = await nodes.allTextContents();
      if (!texts.some((t) => t.includes('incremental on '))) {
        throw new Error(`no node backup of ${id} (after ${full}) is an incremental: ${JSON.stringify(texts)}`);
      }
      console.log(`# incremental backup ${id}: ${texts.join(' | ')}`);
      await screenshot('backup-incremental');
      await row.locator('button.backup-more').click();
    });

    // Two CPs after the backup widen the window past its first second, so
    // that a whole-second time in the picker falls inside it.
    await step('Take a CP now (twice): the CP list shows them', async () => {
      const before = await page.locator('#cps tbody tr[data-cp]').count();
      for (let i = 0; i < 2; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await page.click('#cp-take');
        await page.waitForFunction((n) => document.querySelectorAll('#cps tbody tr[data-cp]').length > n,
          before + i, { timeout: 20000 });
        await page.locator('#cp-taken', { hasText: 'took' }).waitFor({ timeout: 20000 });
        await page.locator('#cp-take:not([disabled])').waitFor({ timeout: 20000 });
      }
      await screenshot('cps');
    });

    await step('the Restore dialog limits the time picker to the window and offers the CPs', async () => {
      await page.click('#refresh');
      await page.locator('#window', { hasText: 'recoverable from' }).waitFor({ timeout: 10000 });
      await page.click('#restore');
      await page.locator('#restore-dialog[open]').waitFor({ timeout: 10000 });
      const t = await page.$eval('#restore-time', (e) => ({ min: e.min, max: e.max, value: e.value }));
      if (!t.min || !t.max || t.min > t.max) throw new Error(`time picker min/max ${t.min}/${t.max}`);
      const cps = await page.locator('#restore-cp option').count();
      if (cps < 2) throw new Error(`${cps} CPs offered, expected at least 2`);
      // A time inside the window: its end, as the picker proposes.
      await page.check('#target-time');
      await page.fill('#restore-time', t.max);
      await page.fill('#restore-to', CLUSTER);
      const label = await page.locator('#restore-window').textContent();
      if (!label.includes('UTC')) throw new Error(`the dialog does not say the zone: '${label}'`);
      await screenshot('restore-dialog');
      console.log(`# restore time picked: ${t.max} (window ${t.min} .. ${t.max})`);
    });

    await step('Preview plan: the CP chosen for the picked time and its distance', async () => {
      await page.click('#restore-preview');
      await page.locator('#plan-cp').waitFor({ timeout: 10000 });
      const text = await page.locator('#plan-cp').textContent();
      const cpName = await page.locator('#plan-cp strong').textContent();
      const offered = await page.$$eval('#restore-cp option', (os) => os.map((o) => o.value));
      if (!offered.includes(cpName)) throw new Error(`plan CP ${cpName} is not one of the CPs offered`);
      if (!/(before the asked time|exactly the asked time)/.test(text) || !/from backup \S+/.test(text)) {
        throw new Error(`plan text '${text}'`);
      }
      console.log(`# plan: ${text}`);
      await screenshot('restore-plan');
    });

    await step('an API error is shown in the dialog (the source\'s own name)', async () => {
      await page.click('#restore-submit');
      await page.locator('#restore-error', { hasText: 'must name a new cluster' }).waitFor({ timeout: 10000 });
      await screenshot('restore-error');
    });

    await step(`restore to the picked time into ${NEW} and see it with its topology`, async () => {
      await page.fill('#restore-to', NEW);
      await page.click('#restore-submit');
      const seen = await jobEnds('restore', 900000);
      if (!seen.some((t) => t.startsWith('restoring into'))) {
        throw new Error(`the restore's phase was never shown while it ran (shown: ${JSON.stringify(seen)})`);
      }
      await page.locator(`#clusters button[data-name="${NEW}"]`).waitFor({ timeout: 20000 });
      await page.locator('#cluster-name', { hasText: NEW }).waitFor({ timeout: 20000 });
      await page.locator('#cluster-origin', { hasText: `restored from ${CLUSTER}` }).waitFor({ timeout: 20000 });
      const rows = await page.locator('#topology tbody tr[data-node]').count();
      if (rows < NODES) throw new Error(`the restored cluster's topology shows ${rows} nodes, expected ${NODES}`);
      await page.locator('#topology td.state-streaming').first().waitFor({ timeout: 20000 });
      await screenshot('restored');
    });

    await step(`Check consistency on ${NEW} says consistent`, async () => {
      await page.click('#check');
      await page.locator('#check-verdict').waitFor({ timeout: 120000 });
      const verdict = await page.locator('#check-verdict').textContent();
      await screenshot('check');
      if (verdict !== 'consistent') {
        throw new Error(`verdict '${verdict}': ${await page.locator('#check-result').textContent()}`);
      }
    });

    await step(`switching to ${CLUSTER} hides ${NEW}'s job panel; back on ${NEW} it shows again`, async () => {
      if (!(await page.locator('#job').isVisible())) throw new Error('the check job panel is not shown');
      await page.click(`#clusters button[data-name="${CLUSTER}"]`);
      await page.locator('#cluster-name', { hasText: CLUSTER }).waitFor({ timeout: 10000 });
      await page.locator('#job').waitFor({ state: 'hidden', timeout: 10000 });
      await screenshot('switched');
      await page.click(`#clusters button[data-name="${NEW}"]`);
      await page.locator('#job').waitFor({ state: 'visible', timeout: 10000 });
      await page.click(`#clusters button[data-name="${CLUSTER}"]`);
      await page.locator('#job').waitFor({ state: 'hidden', timeout: 10000 });
    });

    await step('auto-refresh shows a CP taken elsewhere without a click', async () => {
      const cp = await api('POST', `/api/v1/clusters/${CLUSTER}/cps`);
      await page.locator(`#cps tbody tr[data-cp="${cp.name}"]`).waitFor({ timeout: 25000 });
      await screenshot('auto-refreshed');
    });

    await step('restore shard2 alone to a CP: the plan names the shard, the job succeeds', async () => {
      await openRestoreDialog('shard2', NEW_SHARD);
      if (await page.locator('#restore-scope-hint').isHidden()) throw new Error('the shard restore is not explained');
      const cp = await page.$eval('#restore-cp', (e) => e.options[0] && e.options[0].value);
      if (!cp) throw new Error('no CP offered');
      await page.check('#target-cp');
      await page.selectOption('#restore-cp', cp);
      const text = await previewText();
      const planCp = await page.locator('#plan-cp strong').textContent();
      if (!text.startsWith('Shard shard2 alone restores') || planCp !== cp || !/from backup \S+/.test(text)) {
        throw new Error(`shard plan '${text}' (CP asked ${cp})`);
      }
      console.log(`# shard plan: ${text}`);
      await screenshot('shard-restore-plan');
      await submitRestoreJob('shard restore');
      const detail = await page.locator('#job-detail').textContent();
      if (!detail.startsWith('shard shard2 into 127.0.0.1:') || !detail.includes(`at CP ${cp}`)) {
        throw new Error(`the shard restore job's detail '${detail}'`);
      }
      if (await page.locator(`#clusters button[data-name="${NEW_SHARD}"]`).count()) {
        throw new Error('a shard alone was listed as a cluster');
      }
      console.log(`# shard restore: ${NEW_SHARD} ${detail}`);
      await screenshot('shard-restored');
    });

    let gtxid;
    await step('a gtxid target: the plan is the first CP after its decision, the restore succeeds', async () => {
      gtxid = freshGtxid();
      // The first CP after the decision: taken here.
      const before = (await api('GET', `/api/v1/clusters/${CLUSTER}/cps`)).cps.length;
      await page.click('#cp-take');
      await page.waitForFunction((n) => document.querySelectorAll('#cps tbody tr[data-cp]').length > n,
        before, { timeout: 20000 });
      await page.locator('#cp-take:not([disabled])').waitFor({ timeout: 20000 });
      const cps = (await api('GET', `/api/v1/clusters/${CLUSTER}/cps`)).cps;
      const after = cps[cps.length - 1].name;
      await openRestoreDialog('', NEW_GTX);
      await page.fill('#restore-gtxid', gtxid);
      if (!(await page.isChecked('#target-gtxid'))) throw new Error('typing a gtxid did not choose that target');
      const text = await previewText();
      const planCp = await page.locator('#plan-cp strong').textContent();
      if (planCp !== after || !text.includes(`the first CP after the decision of ${gtxid}`)) {
        throw new Error(`gtxid plan '${text}' (the first CP after it is ${after})`);
      }
      // Where the WAL index covers it the restore cuts exactly at G, and
      // the plan says so above its CP (docs/design.md, "Exact cluster targets").
      const exact = (await page.locator('#plan-cut').count()) > 0;
      if (exact && !(await page.locator('#plan-cut').textContent()).includes(`exactly to global transaction ${gtxid}`)) {
        throw new Error(`gtxid plan's cut '${await page.locator('#plan-cut').textContent()}'`);
      }
      console.log(`# gtxid plan: ${exact ? (await page.locator('#plan-cut').textContent()) + ' ' : ''}${text}`);
      await screenshot('gtxid-plan');
      await submitRestoreJob('restore');
      await page.locator('#cluster-name', { hasText: NEW_GTX }).waitFor({ timeout: 20000 });
      await page.locator('#cluster-origin', { hasText: `restored from ${CLUSTER}` }).waitFor({ timeout: 20000 });
      const detail = await page.locator('#job-detail').textContent();
      // The preview may still say CP when the WAL past G was not archived
      // yet (the restore waits for it, the preview does not): the job's
      // result says which cut was made.
      const cutExact = detail.includes(`into ${NEW_GTX} by an exact cut`);
      if (!cutExact && !detail.includes(`into ${NEW_GTX} at CP ${after}`)) {
        throw new Error(`the gtxid restore's detail '${detail}' (neither an exact cut nor CP ${after})`);
      }
      if (exact && !cutExact) throw new Error(`the plan showed an exact cut, the restore '${detail}'`);
      await page.locator('#topology td.state-streaming').first().waitFor({ timeout: 20000 });
      console.log(`# gtxid restore: ${gtxid} ${NEW_GTX} ${after} ${cutExact ? 'exact' : 'cp'}`);
      await screenshot('gtxid-restored');
    });

    await step('nothing was fetched from outside the cluster manager', async () => {
      if (outside.length) throw new Error(outside.join(', '));
    });
    console.log('ok - browser: done');
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
