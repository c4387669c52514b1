// Sends events with @snowplow/node-tracker and prints one JSON report on its last line of output:
// every event as the tracker built it (its event id, kind and entities) and the size of every
// batch the collector acknowledged. tests/e2e/test_node_tracker.py asserts on it.
//
//   node node_tracker.mjs '{"endpoint": "http://127.0.0.1:Q", "eventMethod": "post", "bufferSize": 10, "events": 20}'

import { randomUUID } from 'node:crypto';
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker } from '@snowplow/node-tracker';

const WAIT_MS = 30000;
const LINK_CLICK = 'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1';
const WEB_PAGE = 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0';
const APPLICATION = 'iglu:com.snowplowanalytics.snowplow/application/jsonschema/1-0-0';

const config = JSON.parse(process.argv[2]);
const { endpoint, eventMethod, bufferSize, events: total, encodeBase64 = true } = config;

const batches = [];
const failures = [];
let acknowledged = 0;
let waiting = null; // { count, resolve, reject }: the delivery the script waits on, if any

// Resolves once `count` events in all were acknowledged; fails on a failed request or the deadline.
function delivered(count) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${acknowledged} of ${count} events acknowledged in ${WAIT_MS} ms`)), WAIT_MS);
    waiting = {
      count,
      resolve: () => (clearTimeout(timer), resolve()),
      reject: (error) => (clearTimeout(timer), reject(error)),
    };
    check();
  });
}

let failedWith = null;
function check(error) {
  failedWith = failedWith ?? error ?? null;
  if (waiting === null) return;
  if (failedWith) waiting.reject(failedWith);
  else if (acknowledged >= waiting.count) waiting.resolve();
  else return;
  waiting = null;
}

const tracker = newTracker(
  { namespace: 'e2e-node', appId: 'e2e-node-app', encodeBase64 },
  {
    endpoint,
    eventMethod,
    bufferSize,
    // Large enough that a batch of 100 events goes as one request, as bufferSize asks.
    maxPostBytes: 900000,
    onRequestSuccess: (batch) => {
      batches.push(batch.length);
      acknowledged += batch.length;
      check();
    },
    onRequestFailure: (failure) => {
      failures.push({ status: failure.status, message: failure.message, events: failure.events.length });
      check(new Error(`request failed: ${JSON.stringify(failure.status)} ${failure.message}`));
    },
  },
);

// Three kinds in turn; every event carries two entities, so each request exercises both
// the self-describing event and the contexts paths of the collector.
function build(i) {
  switch (i % 3) {
    case 0:
      return ['page_view', buildPageView({ pageUrl: `https://shop.example/page/${i}`, pageTitle: `Page ${i}`, referrer: 'https://search.example/' })];
    case 1:
      return ['struct', buildStructEvent({ category: 'e2e', action: 'click', label: `label-${i}`, property: 'button', value: i + 0.5 })];
    default:
      return ['unstruct', buildSelfDescribingEvent({ event: { schema: LINK_CLICK, data: { targetUrl: `https://shop.example/link/${i}`, elementId: `link-${i}` } } })];
  }
}

// The tracker flushes its buffer once it holds bufferSize events, and then sends everything it
// holds; so events go in rounds of bufferSize, each round waiting for its acknowledgement, for
// every request to carry exactly one buffer's worth.
const sent = [];
try {
  for (let i = 0; i < total; i++) {
    const [kind, event] = build(i);
    const entities = [
      { schema: WEB_PAGE, data: { id: randomUUID() } },
      { schema: APPLICATION, data: { version: `1.0.${i}` } },
    ];
    const payload = tracker.track(event, entities);
    sent.push({ i, kind, eventId: payload.eid, entities });
    if (sent.length % bufferSize === 0) {
      await delivered(sent.length);
    } else if (sent.length === total) {
      tracker.flush(); // a last, partial buffer
      await delivered(sent.length);
    }
  }
} catch (error) {
  process.stderr.write(`${error.message}\nbatches: ${JSON.stringify(batches)}\nfailures: ${JSON.stringify(failures)}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ sent, batches, failures }) + '\n');
