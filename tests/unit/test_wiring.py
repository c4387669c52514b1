"""The wiring: every sink name the settings accept has a builder, and every settings view reads
settings that exist."""

from __future__ import annotations

import os
import sys
import typing
from dataclasses import fields

import pytest

import app.sinks
from app.__main__ import main
from app.config import EXTRAS, ConfigError, Settings, missing_extra
from app.enrichments import EnrichmentSettings
from app.identity import IdentitySettings
from app.micro.api import MicroSettings
from app.pipeline import Output
from app.routes import RouteSettings
from app.sinks.file import FileSettings, FileSink
from app.sinks.http import HttpSettings
from app.sinks.kafka import KafkaSettings
from app.sinks.memory import MemorySettings
from app.sinks.nats import NatsSettings
from app.sinks.stdout import StdoutSettings
from app.wiring import SINKS, build_sinks, settings_view

VIEWS = [
    IdentitySettings,
    EnrichmentSettings,
    Output,
    RouteSettings,
    FileSettings,
    StdoutSettings,
    HttpSettings,
    NatsSettings,
    KafkaSettings,
    MemorySettings,
    MicroSettings,
]


def test_every_sink_the_settings_accept_has_a_builder_and_no_other():
    accepted = typing.get_args(Settings.model_fields["sink"].annotation)
    assert sorted(SINKS) == sorted(accepted)


@pytest.mark.parametrize("view", VIEWS, ids=[view.__name__ for view in VIEWS])
def test_a_settings_view_reads_only_settings_that_exist(view):
    assert {spec.name for spec in fields(view)} <= set(Settings.model_fields)


def test_a_view_carries_the_values_of_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, file_rotate_bytes=4096, cookie_domains=["acme.com"], output_format="tsv")

    assert settings_view(FileSettings, settings) == FileSettings(tmp_path, 4096, 3600.0, "tsv")
    assert settings_view(IdentitySettings, settings).cookie_domains == ("acme.com",)


def test_the_file_sink_writes_each_output_in_its_own_folder(tmp_path):
    good, bad = build_sinks(Settings(data_dir=tmp_path))
    try:
        assert isinstance(good, FileSink) and isinstance(bad, FileSink)
        assert (good.directory, bad.directory) == (tmp_path / "good", tmp_path / "bad")
    finally:
        good.close()
        bad.close()


@pytest.mark.parametrize(("output_format", "good_suffix"), [("json", ".jsonl"), ("tsv", ".tsv")])
def test_the_good_file_output_is_named_for_its_format_and_bad_rows_are_always_json_lines(
    tmp_path, output_format, good_suffix
):
    good, bad = build_sinks(Settings(data_dir=tmp_path, output_format=output_format))
    try:
        assert isinstance(good, FileSink) and isinstance(bad, FileSink)
        assert (good.suffix, bad.suffix) == (good_suffix, ".jsonl")
    finally:
        good.close()
        bad.close()


def test_every_sink_with_an_extra_is_a_sink_of_the_table():
    assert set(EXTRAS) <= set(SINKS)


@pytest.mark.parametrize("sink", sorted(EXTRAS))
def test_a_sink_without_its_extra_stops_building_with_check_configs_one_line(monkeypatch, capsys, tmp_path, sink):
    """Building the chosen sink from the SINKS table says what check-config says, not a traceback."""
    monkeypatch.setitem(sys.modules, EXTRAS[sink], None)  # as where the package is not installed
    monkeypatch.delitem(sys.modules, f"app.sinks.{sink}")  # imported by this module: import it again
    monkeypatch.delattr(app.sinks, sink)
    with pytest.raises(ConfigError) as built:
        build_sinks(Settings(sink=sink, data_dir=tmp_path))

    for name in [name for name in os.environ if name.startswith("COLLECTOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COLLECTOR_SINK", sink)
    assert main(["check-config"]) == 2
    assert capsys.readouterr().err == f"collector: {built.value}\n"
    assert str(built.value) == f"invalid configuration:\n  {missing_extra(sink)}"
    assert built.value.__cause__ is None and built.value.__suppress_context__
