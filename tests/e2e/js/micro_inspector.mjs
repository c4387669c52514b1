// Drives the collector's live inspector (/micro/ui) in Debian's headless Chromium as a person
// would: opens the page, sends events to the collector while it is open, filters, opens a bad
// event with the keyboard, and saves screenshots. Prints one JSON report of what the page showed
// on its last line of output; tests/e2e/test_micro_e2e.py asserts.
//
//   node micro_inspector.mjs '{"collector": "http://127.0.0.1:Q", "screenshots": "/tmp/dir"}'

import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';

const WAIT_MS = 20000;
const config = JSON.parse(process.argv[2]);
const TP2 = `${config.collector}/com.snowplowanalytics.snowplow/tp2`;
const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';
const UNSTRUCT = 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0';
const LINK_CLICK = 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1';

const pageView = (appId, url) => ({ e: 'pv', p: 'web', tv: 'inspector-e2e', aid: appId, url });
const brokenLinkClick = (appId) => ({
  e: 'ue',
  p: 'web',
  tv: 'inspector-e2e',
  aid: appId,
  ue_pr: JSON.stringify({ schema: UNSTRUCT, data: { schema: LINK_CLICK, data: { targetUrl: '' } } }),
});

async function send(events, headers = {}) {
  const response = await fetch(TP2, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ schema: PAYLOAD_DATA, data: events }),
  });
  if (!response.ok) throw new Error(`collector answered ${response.status}`);
}

// The table once the answer to the current filters is in (the page marks it busy until then).
const rowCount = (page, n) =>
  page.waitForFunction(
    (count) =>
      document.getElementById('rows').getAttribute('aria-busy') === 'false' &&
      document.querySelectorAll('#rows tr').length === count,
    n,
    { timeout: WAIT_MS },
  );

const rowTexts = (page) =>
  page.$$eval('#rows tr', (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent)));

async function scenario(page) {
  const report = {};
  await page.goto(`${config.collector}/micro/ui`);
  await page.waitForFunction(() => document.getElementById('summary').textContent.includes('events held'));
  report.summaryAtStart = await page.textContent('#summary');
  report.unlabelled = await page.$$eval('input, select', (els) => els.filter((el) => el.labels.length === 0).length);

  // Events arrive while the page is open: the table follows without a reload.
  await send([pageView('shop', 'https://shop.example/cart'), pageView('blog', 'https://blog.example/post')]);
  await send([pageView('private', 'https://shop.example/account')], { 'SP-Anonymous': '*' });
  await send([brokenLinkClick('shop')]);
  await rowCount(page, 4);
  report.liveRows = await rowTexts(page);
  await page.screenshot({ path: join(config.screenshots, 'inspector-live.png'), fullPage: true });

  await page.selectOption('select[name=valid]', 'false');
  await rowCount(page, 1);
  report.badOnlyRows = await rowTexts(page);

  // Keyboard only: Tab to the row, Enter to open it.
  await page.focus('#rows tr');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail:not([hidden]) #failures li', { timeout: WAIT_MS });
  report.detailTitle = await page.textContent('#detail-title');
  report.failureMessages = await page.$$eval('#failures .failure-message', (els) => els.map((el) => el.textContent));
  report.failurePaths = await page.$$eval('#failures .failure-path', (els) => els.map((el) => el.textContent));
  report.markedInSent = await page.$$eval('#sent mark', (els) => els.map((el) => el.textContent));
  report.focusedDetail = await page.evaluate(() => document.activeElement.id);
  report.currentRows = await page.$$eval('#rows tr[aria-current="true"]', (rows) => rows.length);
  await page.screenshot({ path: join(config.screenshots, 'inspector-bad-event.png'), fullPage: true });

  await page.selectOption('select[name=valid]', '');
  await page.fill('input[name=text]', 'blog.example');
  await rowCount(page, 1);
  report.searchRows = await rowTexts(page);
  await page.fill('input[name=text]', '');
  await page.fill('input[name=type]', 'link_click');
  await rowCount(page, 1);
  report.typeRows = await rowTexts(page);
  await page.fill('input[name=type]', '');

  // Ten thousand more events held: the table still shows the newest 500 only.
  const batch = Array.from({ length: 1000 }, (_, i) => pageView('load', `https://load.example/${i}`));
  for (let i = 0; i < 10; i += 1) await send(batch);
  await page.waitForFunction(
    () => document.getElementById('summary').textContent.startsWith('10000 events held'),
    null,
    { timeout: WAIT_MS },
  );
  await rowCount(page, 500);
  report.summaryFull = await page.textContent('#summary');
  return report;
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    const report = await scenario(page);
    process.stdout.write(JSON.stringify({ ...report, pageErrors: errors }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
