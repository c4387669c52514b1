"""Remote Iglu registries, served by a real local HTTP server: resolution, cache, TTL, failures."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

CHECKOUT = {
    "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
    "self": {"vendor": "com.acme", "name": "checkout", "format": "jsonschema", "version": "1-0-0"},
    "type": "object",
    "properties": {"total": {"type": "number", "minimum": 0}},
    "required": ["total"],
    "additionalProperties": False,
}
STATIC_PATH = "/schemas/com.acme/checkout/jsonschema/1-0-0"
SERVER_PATH = "/api/schemas/com.acme/checkout/jsonschema/1-0-0"


class Registry:
    """A schema registry on a loopback port that counts lookups and can be made slow or broken."""

    def __init__(self, api_key: str | None = None) -> None:
        self.lookups: list[str] = []
        self.delay_s = 0.0
        self.failing = False
        self.trickling = False  # answer a byte every 0.2 s, never finishing
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                registry.lookups.append(self.path)
                if registry.delay_s:
                    time.sleep(registry.delay_s)  # the slow registry under test, not a test timing
                if registry.trickling:
                    _trickle(self.wfile, registry)
                    return
                if registry.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                if api_key is not None and self.headers.get("apikey") != api_key:
                    self.send_response(401)
                    self.end_headers()
                    return
                if self.path in (STATIC_PATH, SERVER_PATH):
                    body = json.dumps(CHECKOUT).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _trickle(out, registry: Registry) -> None:
    """The sick registry under test: a byte every 0.2 s, until the collector hangs up."""
    try:
        while registry.trickling:
            out.write(b"H")
            out.flush()
            time.sleep(0.2)
    except OSError:
        pass


@pytest.fixture
def registry():
    served = Registry()
    yield served
    served.stop()


def registries(*entries: dict) -> dict[str, str]:
    return {"COLLECTOR_IGLU_REGISTRIES": json.dumps(list(entries)), "COLLECTOR_IGLU_TIMEOUT_SECONDS": "0.5"}


def checkout(url: str, data: dict, name: str = "checkout") -> httpx.Response:
    event = {"schema": f"iglu:com.acme/{name}/jsonschema/1-0-0", "data": data}
    ue = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": event})
    return httpx.get(f"{url}/i", params={"e": "ue", "p": "web", "ue_pr": ue}, timeout=10)


def lookup_history(row: dict) -> list[dict]:
    [message] = row["data"]["failure"]["messages"]
    assert message["error"]["error"] == "ResolutionError"
    return message["error"]["lookupHistory"]


def test_schemas_resolve_from_a_static_registry_and_are_cached(collector_factory, registry):
    collector = collector_factory(env=registries({"name": "acme", "url": registry.url}))
    for total in (10, 20, 30):
        assert checkout(collector.url, {"total": total}).status_code == 200
    assert checkout(collector.url, {"total": -1}).status_code == 200
    assert [event["unstruct_event"]["data"]["data"]["total"] for event in collector.good()] == [10, 20, 30]
    [bad] = collector.bad()
    [message] = bad["data"]["failure"]["messages"]
    assert message["error"]["dataReports"][0]["path"] == "$.total"
    assert registry.lookups == [STATIC_PATH], "one lookup, then the compiled schema is reused"


def test_a_schema_no_registry_has_is_a_resolution_error_and_the_miss_is_cached(collector_factory, registry):
    collector = collector_factory(env=registries({"name": "acme", "url": registry.url}))
    for _ in range(3):
        assert checkout(collector.url, {"total": 1}, name="refund").status_code == 200
    rows = collector.bad()
    assert len(rows) == 3 and collector.good() == []
    history = lookup_history(rows[0])
    assert [entry["repository"] for entry in history] == ["local schemas", "acme"]
    assert [entry["errors"][0]["error"] for entry in history] == ["NotFound", "NotFound"]
    assert len(registry.lookups) == 1, "the negative cache spares the registry"


def test_cached_schemas_are_asked_again_after_their_ttl(collector_factory, registry):
    env = registries({"name": "acme", "url": registry.url})
    collector = collector_factory(env={**env, "COLLECTOR_IGLU_CACHE_TTL_SECONDS": "0.3"})
    deadline = time.monotonic() + 10
    while len(registry.lookups) < 2:  # keep tracking until the entry expires and is fetched again
        assert time.monotonic() < deadline, "the cached schema was never refreshed"
        assert checkout(collector.url, {"total": 1}).status_code == 200
    assert registry.lookups == [STATIC_PATH, STATIC_PATH]
    assert collector.bad() == []


def test_priority_order_and_a_registry_that_is_down(collector_factory, registry):
    down = Registry()
    down.stop()  # its port is closed now
    collector = collector_factory(
        env=registries({"name": "gone", "url": down.url}, {"name": "acme", "url": registry.url})
    )
    assert checkout(collector.url, {"total": 5}).status_code == 200
    assert len(collector.good()) == 1, "the next registry answers when the first is down"


def test_failing_and_slow_registries_give_bad_rows_not_lost_events(collector_factory, registry):
    collector = collector_factory(env=registries({"name": "acme", "url": registry.url}))
    registry.failing = True
    assert checkout(collector.url, {"total": 5}).status_code == 200
    [row] = collector.bad()
    failure = lookup_history(row)[1]["errors"][0]
    assert failure["error"] == "RepoFailure" and "500" in failure["message"]


def test_a_slow_registry_does_not_hold_up_other_requests(collector_factory, registry):
    env = registries({"name": "acme", "url": registry.url})
    collector = collector_factory(env={**env, "COLLECTOR_IGLU_TIMEOUT_SECONDS": "2"})
    registry.delay_s = 4  # past the 2 s lookup timeout, which is ample for a page view meanwhile
    answered: list[str] = []
    slow = threading.Thread(target=lambda: answered.append(str(checkout(collector.url, {"total": 1}).status_code)))
    slow.start()
    deadline = time.monotonic() + 10
    while not registry.lookups:  # the slow lookup has started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    page_view = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"})
    answered.append("page view")
    slow.join(15)
    assert page_view.status_code == 200
    assert answered == ["page view", "200"], "the page view was answered while the lookup waited"
    [row] = collector.bad()
    failure = lookup_history(row)[1]["errors"][0]
    assert failure["error"] == "RepoFailure" and "Timeout" in failure["message"]


def test_iglu_server_with_an_api_key(collector_factory):
    server = Registry(api_key="s3cret")
    try:
        good_key = registries({"name": "server", "url": server.url, "kind": "server", "api_key": "s3cret"})
        collector = collector_factory(env=good_key)
        assert checkout(collector.url, {"total": 1}).status_code == 200
        assert len(collector.good()) == 1 and server.lookups == [SERVER_PATH]

        wrong_key = registries({"name": "server", "url": server.url, "kind": "server", "api_key": "nope"})
        refused = collector_factory(env=wrong_key)
        assert checkout(refused.url, {"total": 1}).status_code == 200
        [row] = refused.bad()
        assert lookup_history(row)[1]["errors"][0]["error"] == "ClientFailure"
    finally:
        server.stop()


def test_a_trickling_registry_and_random_keys_cost_one_deadline_and_starve_nobody(collector_factory, registry):
    """A registry trickling 1 byte/s hung every request and SIGTERM; 30 events with random unknown
    keys pushed a page view from 3.5 ms to 9 s: lookups now have a total deadline, run one per key
    in their own bounded pool, and requests that need none never wait for them."""
    env = registries({"name": "acme", "url": registry.url})
    collector = collector_factory(env={**env, "COLLECTOR_IGLU_TIMEOUT_SECONDS": "3"})  # ample for a page view
    registry.trickling = True
    answers: list[str] = []

    def lookup(name: str) -> None:
        answers.append(f"{name}: {checkout(collector.url, {'total': 1}, name=name).status_code}")

    waiting = [threading.Thread(target=lookup, args=(f"random-{n}",)) for n in range(30)]
    waiting += [threading.Thread(target=lookup, args=("shared",)) for _ in range(10)]  # one key, ten requests
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 10
    while len(registry.lookups) < 4:  # the lookup threads are all held by the trickling registry
        assert time.monotonic() < deadline
        time.sleep(0.01)
    page_view = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, timeout=10)
    answers.append("page view")
    for thread in waiting:
        thread.join(30)
    assert page_view.status_code == 200
    assert answers[0] == "page view", "the page view waited for registry lookups it did not need"
    assert len(answers) == 41 and all(answer.endswith(": 200") for answer in answers[1:])
    shared_lookups = [path for path in registry.lookups if "/shared/" in path]
    assert len(shared_lookups) <= 1, "identical lookups are merged into one"
    rows = collector.bad()
    assert len(rows) == 40
    failures = {lookup_history(row)[1]["errors"][0]["message"] for row in rows}
    assert all("within" in failure for failure in failures), failures

    assert collector.stop(timeout=15) == 0  # a lookup still trickling does not hold up the exit
