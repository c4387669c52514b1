// Debian's Chromium as the end-to-end drivers launch it (playwright-core never downloads a browser).
export const CHROMIUM = '/usr/bin/chromium';
// As root Chromium needs --no-sandbox; the rest keeps it off the (closed) network beyond loopback.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
