// Drives @snowplow/browser-tracker in Debian's headless Chromium through one scenario, and prints
// one JSON report on its last line of output: the tracker's own ids, the browser's cookie jar at
// each step, and every exchange with the collector as Chromium saw it on the wire (preflights
// included, with raw request and response headers). tests/e2e/test_browser_tracker.py asserts.
//
//   node browser_tracker.mjs '{"scenario": "post", "page": "http://localhost:P/", "collector": "http://127.0.0.1:Q"}'

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';

const WAIT_MS = 20000;
const TRACKER_ID = 'sp';

const config = JSON.parse(process.argv[2]);
const collectorOrigin = new URL(config.collector).origin;

// A fresh profile per run. Its preferences allow third-party cookies, as a default desktop
// Chrome profile does; Playwright's own contexts are incognito-like and block them, which would
// test the browser's privacy settings instead of the collector's cookie.
async function openBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'collector-e2e-chromium-'));
  mkdirSync(join(profile, 'Default'));
  writeFileSync(
    join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }),
  );
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const network = await watchNetwork(context, page);
  return {
    context,
    page,
    network,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Every request Chromium makes to the collector, from the DevTools protocol: unlike Playwright's
// request events, it reports CORS preflights, and the raw headers (Cookie, Set-Cookie) both ways.
async function watchNetwork(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const byId = new Map();
  const order = [];
  let step = 'start';
  const entry = (id) => {
    if (!byId.has(id)) {
      byId.set(id, { id });
      order.push(id);
    }
    return byId.get(id);
  };
  const lower = (headers) => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  cdp.on('Network.requestWillBeSent', (e) => {
    Object.assign(entry(e.requestId), { step, method: e.request.method, url: e.request.url, type: e.type });
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const item = entry(e.requestId);
    item.requestHeaders = lower(e.headers);
    item.cookiesSent = (e.associatedCookies ?? [])
      .filter((c) => c.blockedReasons.length === 0)
      .map((c) => `${c.cookie.name}=${c.cookie.value}`);
  });
  cdp.on('Network.responseReceived', (e) => {
    Object.assign(entry(e.requestId), { status: e.response.status, responseType: e.type });
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    const item = entry(e.requestId);
    item.responseHeaders = lower(e.headers);
    item.blockedCookies = (e.blockedCookies ?? []).map((c) => ({ line: c.cookieLine, reasons: c.blockedReasons }));
  });
  cdp.on('Network.loadingFailed', (e) => {
    Object.assign(entry(e.requestId), { failed: e.errorText, cors: e.corsErrorStatus?.corsError ?? null });
  });
  const mine = () => order.map((id) => byId.get(id)).filter((x) => x.url && x.url.startsWith(collectorOrigin));
  return {
    step(name) {
      step = name;
    },
    // The DevTools events of an exchange can trail the page's own view of it: wait (with a
    // deadline) until every exchange with the collector has its answer, or its failure, recorded.
    async complete() {
      const deadline = Date.now() + WAIT_MS;
      const done = (x) => x.failed !== undefined || (x.status !== undefined && x.responseHeaders !== undefined);
      while (!mine().every(done)) {
        if (Date.now() > deadline) throw new Error('DevTools did not report every collector response');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    exchanges() {
      return mine();
    },
  };
}

async function loadPage(browser, options) {
  await browser.page.goto(config.page);
  const started = await browser.page.evaluate(
    ([id, url, opts]) => window.e2e.start(id, url, opts),
    [TRACKER_ID, config.collector, { appId: 'e2e-browser', ...options }],
  );
  if (!started) throw new Error('newTracker returned no tracker');
}

// Wait on the page's own delivery callbacks, with a deadline.
async function delivered(browser, count) {
  await browser.page.waitForFunction((n) => window.e2e.settled(n), count, { timeout: WAIT_MS });
  const state = await browser.page.evaluate(() => ({
    acked: window.e2e.acked,
    batches: window.e2e.batches,
    failures: window.e2e.failures,
  }));
  if (state.failures.length > 0) throw new Error(`the tracker reported failed requests: ${JSON.stringify(state.failures)}`);
  return state;
}

const ids = (browser) => browser.page.evaluate(() => window.e2e.ids());
const track = (browser, fn) => browser.page.evaluate(fn);
const cookies = (browser) => browser.context.cookies();

const pageView = () => window.snowplowBrowserTracking.trackPageView();
const structEvent = () => window.snowplowBrowserTracking.trackStructEvent({ category: 'e2e', action: 'click', label: 'button' });

// 1 and 2: two page loads with the session entity on; the collector's cookie links them.
async function identity(browser, eventMethod) {
  const options = { eventMethod, contexts: { webPage: true, session: true } };
  const report = {};
  browser.network.step('first page');
  await loadPage(browser, options);
  await track(browser, pageView);
  report.firstDelivery = await delivered(browser, 1);
  report.firstIds = await ids(browser);
  report.cookiesAfterFirst = await cookies(browser);

  browser.network.step('second page');
  await loadPage(browser, options);
  await track(browser, pageView);
  report.secondDelivery = await delivered(browser, 1);
  report.secondIds = await ids(browser);
  report.cookiesAfterSecond = await cookies(browser);
  return report;
}

// 3: a page tracked normally leaves an sp cookie; the next page tracks with server anonymisation,
// by POST or by GET (config.anonymousMethod). The first page sends through the pixel as a simple
// GET, which needs no preflight, so that the anonymous page's preflight (SP-Anonymous is not a
// safelisted header) is never answered from Chromium's preflight cache: the test must see it.
async function serverAnonymisation(browser) {
  const report = {};
  browser.network.step('identified page');
  await loadPage(browser, { eventMethod: 'get' });
  await track(browser, pageView);
  await delivered(browser, 1);
  report.cookiesBefore = await cookies(browser);

  browser.network.step('anonymous page');
  const eventMethod = config.anonymousMethod ?? 'post';
  await loadPage(browser, { eventMethod, anonymousTracking: { withServerAnonymisation: true } });
  await track(browser, pageView);
  await track(browser, structEvent);
  report.anonymousDelivery = await delivered(browser, 2);
  report.cookiesAfter = await cookies(browser);
  return report;
}

// 4: anonymous from the start, then disableAnonymousTracking() at run time.
async function disableAnonymous(browser) {
  const report = {};
  browser.network.step('anonymous');
  await loadPage(browser, { eventMethod: 'post', anonymousTracking: { withServerAnonymisation: true } });
  await track(browser, pageView);
  await delivered(browser, 1);
  report.cookiesWhileAnonymous = await cookies(browser);

  browser.network.step('identified');
  await track(browser, () => window.snowplowBrowserTracking.disableAnonymousTracking());
  await track(browser, structEvent);
  await delivered(browser, 2);
  report.cookiesAfterFirstIdentified = await cookies(browser);
  await track(browser, pageView);
  await delivered(browser, 3);
  report.cookiesAfter = await cookies(browser);
  report.ids = await ids(browser);
  return report;
}

// 5: three events in one POST batch, the middle one a self-describing event its schema rejects
// (link_click 1-0-1 requires a non-empty targetUrl and allows no other properties).
async function badEventInBatch(browser) {
  const report = {};
  browser.network.step('batch');
  await loadPage(browser, { eventMethod: 'post', bufferSize: 3 });
  await track(browser, pageView);
  await track(browser, () =>
    window.snowplowBrowserTracking.trackSelfDescribingEvent({
      event: {
        schema: 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1',
        data: { targetUrl: '', elementId: 'broken-link', unexpected: true },
      },
    }),
  );
  await track(browser, structEvent);
  report.delivery = await delivered(browser, 3);
  return report;
}

// 6: a tracking-plan check as Snowplow Micro users write one: page views and self-describing
// events (one of them breaking its schema: link_click needs a non-empty targetUrl), with the
// web_page entity on every event. The test then asks the collector's /micro/* API what arrived.
async function trackingPlan(browser) {
  const linkClick = (targetUrl) =>
    browser.page.evaluate(
      (url) =>
        window.snowplowBrowserTracking.trackSelfDescribingEvent({
          event: { schema: 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1', data: { targetUrl: url } },
        }),
      targetUrl,
    );
  browser.network.step('tracking plan');
  await loadPage(browser, { eventMethod: 'post', contexts: { webPage: true } });
  await track(browser, pageView);
  await linkClick('https://docs.example/start');
  await linkClick('');
  await track(browser, () => window.snowplowBrowserTracking.trackPageView({ title: 'Second view' }));
  return { delivery: await delivered(browser, 4), ids: await ids(browser) };
}

const SCENARIOS = {
  post: (b) => identity(b, 'post'),
  get: (b) => identity(b, 'get'),
  'server-anonymisation': serverAnonymisation,
  'disable-anonymous': disableAnonymous,
  'bad-event-in-batch': badEventInBatch,
  'tracking-plan': trackingPlan,
};

async function main() {
  const scenario = SCENARIOS[config.scenario];
  if (!scenario) throw new Error(`unknown scenario ${config.scenario}`);
  const browser = await openBrowser();
  browser.page.on('console', (m) => process.stderr.write(`console.${m.type()}: ${m.text()}\n`));
  browser.page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
  let report;
  try {
    report = await scenario(browser);
    await browser.network.complete();
  } catch (error) {
    process.stderr.write(`exchanges so far: ${JSON.stringify(browser.network.exchanges(), null, 1)}\n`);
    throw error;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify({ ...report, exchanges: browser.network.exchanges() }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
