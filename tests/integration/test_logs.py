"""Logs are JSON lines, and no request data (addresses, cookies, payloads) ever reaches them."""

from __future__ import annotations

import json

import httpx

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
