// The browser half of t_ui_browser.sh: drives the cluster manager's UI in
// headless Chromium with playwright-core and prints TAP lines. Each step
// saves a screenshot (printed as "# screenshot: PATH"); the first failing
// step prints "not ok" and ends the run with exit 1.
// Environment: STRATA_UI_URL, STRATA_TOKEN, STRATA_SHOTS, STRATA_CHROMIUM.
'use strict';
const { chromium } = require('playwright-core');

const URL = process.env.STRATA_UI_URL;
const TOKEN = process.env.STRATA_TOKEN;
const SHOTS = process.env.STRATA_SHOTS;
const CLUSTER = 'c1';
const NEW = 'c1-ui' + (Date.now() % 10000);

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
    const watch = () => {
      const t = document.querySelector('#job-detail').textContent;
      if (t && !window.seenProgress.includes(t)) window.seenProgress.push(t);
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
      if (rows < 7) throw new Error(`topology shows ${rows} nodes, expected 7 (3 meta, 3 shard1, 1 compute)`);
      await page.locator('#topology td.state-streaming').first().waitFor({ timeout: 10000 });
      await screenshot('cluster');
    });

    await step('click Backup and follow the job to success', async () => {
      await page.click('#backup');
      await jobEnds('backup', 240000);
      await page.locator('#backups tbody td.state-complete').first().waitFor({ timeout: 10000 });
      await screenshot('backup-done');
    });

    // Two CPs after the backup widen the window past its first second, so
    // that a whole-second time in the picker falls inside it.
    await new Promise((r) => setTimeout(r, 1500));
    await api('POST', `/api/v1/clusters/${CLUSTER}/cps`);
    await new Promise((r) => setTimeout(r, 1500));
    await api('POST', `/api/v1/clusters/${CLUSTER}/cps`);

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
      await screenshot('restore-dialog');
      console.log(`# restore time picked: ${t.max} (window ${t.min} .. ${t.max})`);
    });

    await step('an API error is shown in the dialog (the source\'s own name)', async () => {
      await page.click('#restore-submit');
      await page.locator('#restore-error', { hasText: 'must name a new cluster' }).waitFor({ timeout: 10000 });
      await screenshot('restore-error');
    });

    await step(`restore to the picked time into ${NEW} and see it with its topology`, async () => {
      await page.fill('#restore-to', NEW);
      await page.click('#restore-submit');
      const seen = await jobEnds('restore', 400000);
      if (!seen.some((t) => t.startsWith('restoring into'))) {
        throw new Error(`the restore's phase was never shown while it ran (shown: ${JSON.stringify(seen)})`);
      }
      await page.locator(`#clusters button[data-name="${NEW}"]`).waitFor({ timeout: 20000 });
      await page.locator('#cluster-name', { hasText: NEW }).waitFor({ timeout: 20000 });
      await page.locator('#cluster-origin', { hasText: `restored from ${CLUSTER}` }).waitFor({ timeout: 20000 });
      const rows = await page.locator('#topology tbody tr[data-node]').count();
      if (rows < 7) throw new Error(`the restored cluster's topology shows ${rows} nodes, expected 7`);
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
