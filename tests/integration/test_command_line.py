"""The command line: settings checked before start, and the local schemas listed and checked."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_schemas_command_lists_and_checks_every_local_schema():
    result = run("schemas")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "ok   iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2" in lines
    assert all(line.startswith("ok   iglu:") for line in lines)
    assert f"{len(lines)} schemas" in result.stderr and "0 unusable" in result.stderr


def test_schemas_command_names_a_broken_schema(tmp_path):
    broken = tmp_path / "com.acme" / "thing" / "jsonschema"
    broken.mkdir(parents=True)
    (broken / "1-0-0").write_text('{"type": "no-such-type"}')
    result = run("schemas", env={"COLLECTOR_SCHEMAS_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "FAIL iglu:com.acme/thing/jsonschema/1-0-0" in result.stdout


def test_bad_settings_stop_start_up_naming_the_setting():
    assert run("check-config").returncode == 0
    for env, named in [
        ({"COLLECTOR_PORT": "eighty"}, "COLLECTOR_PORT"),
        ({"COLLECTOR_TRUSTED_PROXIES": '["10.0.0.0/33"]'}, "COLLECTOR_TRUSTED_PROXIES"),
        ({"COLLECTOR_PROT": "8080"}, "COLLECTOR_PROT"),
        ({"COLLECTOR_SINK": "http"}, "COLLECTOR_HTTP_GOOD_URL"),
    ]:
        result = run("check-config", env=env)
        assert result.returncode == 2, env
        assert named in result.stderr, (env, result.stderr)


def test_an_unknown_key_in_the_config_file_is_named_as_written_there(tmp_path):
    config = tmp_path / "collector.toml"
    config.write_text('sink = "file"\ncookie_domian = "acme.com"\n')
    result = run("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "cookie_domian in the config file: unknown setting" in result.stderr, result.stderr
    assert "COLLECTOR_COOKIE_DOMIAN" not in result.stderr


def test_the_example_config_file_is_valid():
    result = run("check-config", "--config", str(ROOT / "deploy" / "collector.toml"))
    assert (result.returncode, result.stdout.strip()) == (0, "configuration ok"), result.stderr


def test_a_sink_without_its_extra_stops_start_up_in_one_line(tmp_path):
    """Where nats-py is not installed (an import of it fails), serving stops naming the extra, with no traceback."""
    (tmp_path / "nats.py").write_text("raise ModuleNotFoundError(\"No module named 'nats'\", name='nats')\n")
    result = run("serve", env={"COLLECTOR_SINK": "nats", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    assert "COLLECTOR_SINK: the nats sink needs its extra: pip install 'pycollector[nats]'" in result.stderr
    assert "Traceback" not in result.stderr
