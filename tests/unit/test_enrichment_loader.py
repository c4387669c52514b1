"""COLLECTOR_ENRICHMENTS_DIR: the folder is checked whole at start-up; every problem names its file."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import orjson
import pytest

from app.__main__ import main
from app.enrichments.base import EnrichmentConfigError, Setup
from app.enrichments.files import DataFileCache
from app.enrichments.loader import load_enrichments, read_config, validate
from tests.conftest import serve_folder
from tests.enrichment_data import write_referer_database
from tests.unit.enrichment_support import config_document

DEPLOY_EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "enrichments"
CAMPAIGN = (
    "campaign_attribution",
    "1-0-0",
    {"fields": {f: [] for f in ("mktMedium", "mktSource", "mktTerm", "mktContent", "mktCampaign")}},
)
FINGERPRINT = ("event_fingerprint_config", "1-0-0", {"excludeParameters": [], "hashAlgorithm": "MD5"})
ANON_IP = ("anon_ip", "1-0-0", {"anonOctets": 1})
WEATHER = (
    "weather_enrichment_config",
    "1-0-0",
    {"apiKey": "k", "cacheSize": 1, "geoPrecision": 1, "apiHost": "h", "timeout": 1},
)


def write(folder: Path, name: str, version: str, parameters: dict | None, enabled: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_bytes(orjson.dumps(config_document(name, version, parameters, enabled)))
    return path


def load(folder: Path, registry, unsupported="error", cache: Path | None = None) -> list[str]:
    setup = Setup(DataFileCache(cache or folder / "cache", 5.0, refresh=True))
    return [enrichment.config.name for enrichment in load_enrichments(folder, registry, setup, unsupported)]


def test_enabled_configs_are_built_in_enrichs_order(tmp_path, registry):
    for name, version, parameters in (FINGERPRINT, CAMPAIGN, ANON_IP):
        write(tmp_path, name, version, parameters)
    write(tmp_path, "ua_parser_config", "1-0-0", {}, enabled=False)
    assert load(tmp_path, registry) == ["anon_ip", "campaign_attribution", "event_fingerprint_config"]


BROKEN = [
    ("not JSON", lambda folder: (folder / "x.json").write_text("{nope"), "x.json: not a readable JSON file"),
    (
        "not self-describing",
        lambda folder: (folder / "x.json").write_text('{"data": {}}'),
        "x.json: not a self-describing JSON",
    ),
    (
        "invalid against its schema",
        lambda folder: write(folder, "anon_ip", "1-0-0", {"anonOctets": 9}),
        "anon_ip.json: invalid against iglu:com.snowplowanalytics.snowplow/anon_ip/jsonschema/1-0-0",
    ),
    (
        "a version this service does not read",
        lambda folder: write(folder, "referer_parser", "1-0-0", {"internalDomains": []}),
        "referer_parser.json: referer_parser: version 1-0-0 is not supported; use 2-*-*",
    ),
    (
        "an enrichment out of scope",
        lambda folder: write(folder, *WEATHER),
        "weather_enrichment_config.json: weather_enrichment_config: is not supported by this service",
    ),
    (
        "an unknown enrichment",
        lambda folder: write(folder, "teleport_config", "1-0-0", {}),
        "teleport_config.json: teleport_config: is not a known enrichment",
    ),
    (
        "a missing data file",
        lambda folder: write(
            folder,
            "referer_parser",
            "2-0-0",
            {"internalDomains": [], "database": "absent.json", "uri": folder.as_uri()},
        ),
        "referer_parser.json: referer_parser: data file file://.*/absent.json cannot be read",
    ),
    (
        "an unsupported data file scheme",
        lambda folder: write(
            folder, "referer_parser", "2-0-0", {"internalDomains": [], "database": "r.json", "uri": "s3://bucket/path"}
        ),
        "data file s3://bucket/path/r.json: only file://, http:// and https:// URIs are supported",
    ),
]


@pytest.mark.parametrize(("make", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_folder_stops_start_up_naming_the_file_and_the_problem(tmp_path, registry, make, message):
    make(tmp_path)
    with pytest.raises(EnrichmentConfigError, match=message):
        load(tmp_path, registry)


def test_unsupported_may_be_only_a_warning(tmp_path, registry, caplog):
    write(tmp_path, *WEATHER)
    write(tmp_path, *ANON_IP)
    with caplog.at_level(logging.WARNING):
        assert load(tmp_path, registry, unsupported="warn") == ["anon_ip"]
    assert "weather_enrichment_config.json: enrichment weather_enrichment_config is not supported" in caplog.text


def test_a_disabled_unsupported_enrichment_is_no_problem(tmp_path, registry):
    write(tmp_path, *WEATHER, enabled=False)
    assert load(tmp_path, registry) == []


def test_http_data_files_are_downloaded_once_into_the_cache(tmp_path, registry):
    served = tmp_path / "served"
    write_referer_database(served)
    configs, cache = tmp_path / "configs", tmp_path / "cache"
    with serve_folder(served) as url:
        write(
            configs,
            "referer_parser",
            "2-0-0",
            {"internalDomains": [], "database": "referers-latest.json", "uri": f"{url}/"},
        )
        assert load(configs, registry, cache=cache) == ["referer_parser"]
        write(configs, "referer_parser", "2-0-0", {"internalDomains": [], "database": "absent.json", "uri": url})
        with pytest.raises(EnrichmentConfigError, match="absent.json: the server answered 404"):
            load(configs, registry, cache=cache)
    [cached] = cache.glob("*referers-latest.json")
    assert cached.read_bytes() == (served / "referers-latest.json").read_bytes()
    # A worker started after the check reuses the download, even with the server gone.
    write(
        configs,
        "referer_parser",
        "2-0-0",
        {"internalDomains": [], "database": "referers-latest.json", "uri": f"{url}/"},
    )
    setup = Setup(DataFileCache(cache, 5.0, refresh=False))
    assert [e.config.name for e in load_enrichments(configs, registry, setup)] == ["referer_parser"]


def test_an_unreachable_server_stops_start_up(tmp_path, registry):
    with serve_folder(tmp_path) as url:
        pass  # the server is closed again: its port refuses
    write(tmp_path, "referer_parser", "2-0-0", {"internalDomains": [], "database": "r.json", "uri": url})
    with pytest.raises(EnrichmentConfigError, match="r.json could not be downloaded"):
        load(tmp_path, registry)


def test_the_deploy_example_folder_is_valid(registry):
    paths = sorted(DEPLOY_EXAMPLE.glob("*.json"))
    assert paths
    for path in paths:
        validate(*read_config(path), registry)


def test_check_config_lists_what_is_enabled(tmp_path, monkeypatch, capsys):
    for name, version, parameters in (FINGERPRINT, CAMPAIGN):
        write(tmp_path, name, version, parameters)
    monkeypatch.setenv("COLLECTOR_ENRICHMENTS_DIR", str(tmp_path))
    assert main(["check-config"]) == 0
    assert (
        f"enrichments enabled ({tmp_path}): campaign_attribution, event_fingerprint_config" in capsys.readouterr().out
    )


def test_check_config_fails_on_a_broken_enrichment(tmp_path, monkeypatch, capsys):
    write(tmp_path, "anon_ip", "1-0-0", {"anonOctets": 9})
    monkeypatch.setenv("COLLECTOR_ENRICHMENTS_DIR", str(tmp_path))
    assert main(["check-config"]) == 2
    assert f"collector: enrichments: {tmp_path / 'anon_ip.json'}: invalid against" in capsys.readouterr().err


def test_a_missing_optional_package_names_the_extra(tmp_path, registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "maxminddb", None)  # as if the `enrichments` extra were not installed
    monkeypatch.delitem(sys.modules, "app.enrichments.ip_lookups", raising=False)
    write(tmp_path, "ip_lookups", "2-0-0", {"geo": {"database": "GeoIP2-City.mmdb", "uri": tmp_path.as_uri()}})
    with pytest.raises(
        EnrichmentConfigError, match=r"needs the Python package 'maxminddb': pip install 'pycollector\[enrichments\]'"
    ):
        load(tmp_path, registry)


def test_a_server_that_never_answers_stops_start_up_after_the_timeout(tmp_path, registry):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        write(tmp_path, "referer_parser", "2-0-0", {"internalDomains": [], "database": "r.json", "uri": url})
        setup = Setup(DataFileCache(tmp_path / "cache", 0.3, refresh=True))
        with pytest.raises(EnrichmentConfigError, match="r.json could not be downloaded: ReadTimeout"):
            load_enrichments(tmp_path, registry, setup)
