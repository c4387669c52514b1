"""The wiring: every sink name the settings accept has a builder, and every settings view reads
settings that exist."""

from __future__ import annotations

import typing
from dataclasses import fields

import pytest

from app.config import Settings
from app.enrichments import EnrichmentSettings
from app.identity import IdentitySettings
from app.pipeline import Output
from app.routes import RouteSettings
from app.sinks.file import FileSettings, FileSink
from app.sinks.http import HttpSettings
from app.sinks.kafka import KafkaSettings
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
]


def test_every_sink_the_settings_accept_has_a_builder_and_no_other():
    accepted = typing.get_args(Settings.model_fields["sink"].annotation)
    assert sorted(SINKS) == sorted(accepted)


@pytest.mark.parametrize("view", VIEWS, ids=[view.__name__ for view in VIEWS])
def test_a_settings_view_reads_only_settings_that_exist(view):
    assert {spec.name for spec in fields(view)} <= set(Settings.model_fields)


def test_a_view_carries_the_values_of_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, file_rotate_bytes=4096, cookie_domains=["acme.com"])

    assert settings_view(FileSettings, settings) == FileSettings(tmp_path, 4096, 3600.0)
    assert settings_view(IdentitySettings, settings).cookie_domains == ("acme.com",)


def test_the_file_sink_writes_each_output_in_its_own_folder(tmp_path):
    good, bad = build_sinks(Settings(data_dir=tmp_path))
    try:
        assert isinstance(good, FileSink) and isinstance(bad, FileSink)
        assert (good.directory, bad.directory) == (tmp_path / "good", tmp_path / "bad")
    finally:
        good.close()
        bad.close()
