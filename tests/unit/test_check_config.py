"""`python -m app check-config` (the same check runs before serving): every setting that would fail
in service is refused here, named, with exit code 2 and no traceback."""

from __future__ import annotations

import os
import sys

import pytest

from app.__main__ import main

# settings → what stderr must say. Each of these once passed check-config and then failed in service.
BAD_SETTINGS = [
    ({"COLLECTOR_PORT": "eighty"}, "COLLECTOR_PORT"),
    ({"COLLECTOR_PROT": "8080"}, "unknown settings: COLLECTOR_PROT"),
    ({"COLLECTOR_SINK": "http"}, "COLLECTOR_HTTP_GOOD_URL"),
    (
        {"COLLECTOR_SINK": "nats", "missing": "nats"},
        "COLLECTOR_SINK: the nats sink needs its extra: pip install 'pycollector[nats]'",
    ),
    (
        {"COLLECTOR_SINK": "kafka", "missing": "confluent_kafka"},
        "COLLECTOR_SINK: the kafka sink needs its extra: pip install 'pycollector[kafka]'",
    ),
    ({"COLLECTOR_COOKIE_EXPIRATION_DAYS": "3000000"}, "COLLECTOR_COOKIE_EXPIRATION_DAYS: at most 29"),
    ({"COLLECTOR_NAME": "tab\there"}, "COLLECTOR_NAME: only printable ASCII"),
    ({"COLLECTOR_NAME": "bell\x07"}, "COLLECTOR_NAME: only printable ASCII"),
    ({"COLLECTOR_HTTP_GOOD_URL": "localhost:9000/good"}, "COLLECTOR_HTTP_GOOD_URL: 'localhost:9000/good' is not a URL"),
    ({"COLLECTOR_HTTP_BAD_URL": "http://host:port/bad"}, "COLLECTOR_HTTP_BAD_URL: 'http://host:port/bad' is not a URL"),
    ({"COLLECTOR_NATS_URL": "garbage"}, "COLLECTOR_NATS_URL: 'garbage' is not a URL"),
    ({"COLLECTOR_NATS_URL": "nats://a:4222, http://b:4222"}, "COLLECTOR_NATS_URL: 'http://b:4222' is not a URL"),
    ({"COLLECTOR_SCHEMAS_DIR": "/no/such/folder"}, "COLLECTOR_SCHEMAS_DIR: no such folder: /no/such/folder"),
    (
        {"COLLECTOR_SINK": "kafka", "COLLECTOR_KAFKA_PRODUCER_SETTINGS": '{"lingr.ms": "5"}'},
        'COLLECTOR_KAFKA_PRODUCER_SETTINGS: No such configuration property: "lingr.ms"',
    ),
    (
        {"COLLECTOR_SINK": "kafka", "COLLECTOR_KAFKA_PRODUCER_SETTINGS": '{"message.max.bytes": "lots"}'},
        'COLLECTOR_KAFKA_PRODUCER_SETTINGS: Invalid value for configuration property "message.max.bytes"',
    ),
    ({"COLLECTOR_HOST": "999.1.1.1"}, "COLLECTOR_HOST: '999.1.1.1' is neither an IP address nor a host name"),
    ({"COLLECTOR_HOST": "local host"}, "COLLECTOR_HOST: 'local host' is neither"),
]
GOOD_SETTINGS = [
    {},
    {"COLLECTOR_HOST": "localhost", "COLLECTOR_NAME": "collector-a"},
    {"COLLECTOR_HOST": "project_collector_1"},
    {"COLLECTOR_HOST": "::1", "COLLECTOR_COOKIE_EXPIRATION_DAYS": "400"},
    {"COLLECTOR_SINK": "nats", "COLLECTOR_NATS_URL": "nats://nats:4222,tls://user:secret@10.0.0.2:4222"},
    {
        "COLLECTOR_SINK": "http",
        "COLLECTOR_HTTP_GOOD_URL": "https://a/good",
        "COLLECTOR_HTTP_BAD_URL": "http://b:8000/bad",
    },
    {"COLLECTOR_SINK": "kafka", "COLLECTOR_KAFKA_PRODUCER_SETTINGS": '{"linger.ms": "20", "compression.type": "lz4"}'},
]


def check_config(monkeypatch, capsys, env: dict[str, str]) -> tuple[int, str, str]:
    for name in [name for name in os.environ if name.startswith("COLLECTOR_")]:
        monkeypatch.delenv(name)
    env = dict(env)
    if "missing" in env:  # as where the package is not installed: its import fails
        monkeypatch.setitem(sys.modules, env.pop("missing"), None)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["check-config"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("env", "named"), BAD_SETTINGS, ids=[named for _, named in BAD_SETTINGS])
def test_bad_settings_are_refused_naming_the_setting(monkeypatch, capsys, env, named):
    code, out, err = check_config(monkeypatch, capsys, env)
    assert (code, out) == (2, "")
    assert named in err and err.startswith("collector: ")


@pytest.mark.parametrize("env", GOOD_SETTINGS)
def test_good_settings_pass(monkeypatch, capsys, env):
    assert check_config(monkeypatch, capsys, env) == (0, "configuration ok\n", "")
