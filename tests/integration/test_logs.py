"""Logs are JSON lines, and no request data (addresses, cookies, payloads) ever reaches them."""

from __future__ import annotations

import json
from collections import Counter

import httpx
from http_support import b64, contexts, page_view, post, raw_request, wait_until

SECRET_IP = "198.51.100.77"
SECRET_COOKIE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def test_logs_are_json_and_carry_no_request_data(collector_factory, tmp_path):
    switch = tmp_path / "fault"
    collector = collector_factory(env={"COLLECTOR_LOG_LEVEL": "debug", "COLLECTOR_FAULT_SWITCH": str(switch)})
    headers = {"X-Forwarded-For": SECRET_IP, "Cookie": f"sp={SECRET_COOKIE}"}
    params = {"e": "pv", "p": "web", "ip": SECRET_IP, "page": "private page title"}
    assert httpx.get(f"{collector.url}/i", params=params, headers=headers).status_code == 200
    assert httpx.get(f"{collector.url}/i", params={**params, "p": "bad"}, headers=headers).status_code == 200
    switch.write_text("fail")  # a sink failure is logged: still without request data
    assert httpx.get(f"{collector.url}/i", params=params, headers=headers).status_code == 503
    assert collector.stop() == 0

    lines = collector.log().splitlines()
    entries = [json.loads(line) for line in lines]
    assert any(entry["logger"] == "app.batching" and entry["level"] == "error" for entry in entries)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    log = collector.log()
    for secret in (SECRET_IP, SECRET_COOKIE, "private page title", "GET /i"):  # no access log either
        assert secret not in log, f"{secret!r} appeared in the log"


SINK_PASSWORD = "pa55-in-the-url"
SINK_TOKEN = "token-in-the-query"
OUTAGE_REQUESTS = 12


def test_http_sink_secrets_and_client_chosen_schema_names_stay_out_of_the_log_and_an_outage_is_a_few_lines(
    collector_factory, tmp_path
):
    from test_http_sink import Receiver, sink_health
    from test_iglu_remote import Registry

    receiver, registry = Receiver(), Registry()
    secret_url = receiver.base.replace("://", f"://collector:{SINK_PASSWORD}@") + "/{}?token=" + SINK_TOKEN
    env = {
        "COLLECTOR_SINK": "http",
        "COLLECTOR_HTTP_GOOD_URL": secret_url.format("good"),
        "COLLECTOR_HTTP_BAD_URL": secret_url.format("bad"),
        "COLLECTOR_HTTP_ATTEMPTS": "1",
        "COLLECTOR_IGLU_REGISTRIES": json.dumps([{"name": "acme", "url": registry.url}]),
    }
    try:
        spooled = collector_factory(env={**env, "COLLECTOR_SPOOL_DIR": str(tmp_path / "spool")})
        direct = collector_factory(env=env)
        for collector in (spooled, direct):
            wait_until(lambda: sink_health(collector.url) == 200, 15)  # noqa: B023 (used at once)
        chosen = {"schema": "iglu:com.client-chosen-vendor/client-chosen-name/jsonschema/1-0-0", "data": {}}
        assert post(direct.url, page_view(cx=b64(contexts(chosen)))).status_code == 200
        assert registry.lookups, "the remote registry was not asked"

        receiver.mode = "fail"
        acknowledged = []
        for _ in range(OUTAGE_REQUESTS):  # an outage: every batch fails, the spool takes them
            acknowledged.append(page_view())
            assert post(spooled.url, acknowledged[-1]).status_code == 200
            assert post(direct.url, page_view()).status_code == 503
        receiver.mode = "ok"
        wait_until(lambda: receiver.event_ids() == [event["eid"] for event in acknowledged])
        assert post(direct.url, page_view()).status_code == 200
        assert spooled.stop() == 0 and direct.stop() == 0
    finally:
        receiver.close()
        registry.stop()

    for collector in (spooled, direct):
        log = collector.log()
        for secret in (SINK_PASSWORD, SINK_TOKEN, "client-chosen", "HTTP Request"):
            assert secret not in log, f"{secret!r} appeared in the log:\n{log}"
        messages = Counter(json.loads(line)["message"].split(":")[0] for line in log.splitlines())
        repeated = {message: count for message, count in messages.items() if count > 1}
        assert not repeated, f"lines repeated during a {OUTAGE_REQUESTS}-request outage: {repeated}"
    assert "sink write failed" in direct.log() and "sink writes succeed again" in direct.log()
    assert "spooling" in spooled.log()


def test_malformed_requests_do_not_write_a_line_each(collector):
    for _ in range(20):
        assert raw_request(collector.port, b"NOT HTTP AT ALL\r\n\r\n") == 400
    assert collector.stop() == 0
    warnings = [line for line in collector.log().splitlines() if "Invalid HTTP request" in line]
    assert len(warnings) == 1, warnings
