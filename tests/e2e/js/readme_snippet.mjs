// Runs one browser-tracker snippet of the documentation in Debian's headless Chromium, on the test
// page (which loads the tracker's UMD build), and prints a one-line JSON report once the collector
// acknowledged a request: its method and status.
// The snippet's ES-module import is the bundler's business; here it becomes a read of the UMD
// global the page defines. tests/e2e/test_readme_browser_snippet.py asserts on what was stored.
//
//   node readme_snippet.mjs '{"page": "http://localhost:P/", "collector": "http://127.0.0.1:Q", "code": "..."}'

import { chromium } from 'playwright-core';

const WAIT_MS = 20000;
const IMPORT = /^import\s*\{([^}]*)\}\s*from\s*'@snowplow\/browser-tracker';$/m;

const { page: pageUrl, collector, code } = JSON.parse(process.argv[2]);
if (!IMPORT.test(code)) throw new Error('the snippet does not import from @snowplow/browser-tracker');
const script = code.replace(IMPORT, (_, names) => `const {${names}} = window.snowplowBrowserTracking;`);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const acknowledged = page.waitForResponse(
    (response) => response.url().startsWith(collector) && response.request().method() !== 'OPTIONS' && response.status() === 200,
    { timeout: WAIT_MS },
  );
  await page.addScriptTag({ content: script });
  const response = await acknowledged;
  process.stdout.write(JSON.stringify({ method: response.request().method(), status: response.status() }) + '\n');
} finally {
  await browser.close();
}
