"""Snowplow's enrichments, configured with Enrich's own JSON files (COLLECTOR_ENRICHMENTS_DIR).

The contract: docs/behaviour.md#enrichments.

One module per enrichment, each built once from its config (`build`) and then a pure function of
the event and its request (`apply`); `registry` names them and their order, `loader` reads the
folder, `chain` runs them over an event. The wiring builds them once at start-up from
`EnrichmentSettings`; they never see `Settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.badrows import ANONYMOUS_DROPS
from app.enrichments.base import EnrichmentConfigError, Setup
from app.enrichments.chain import Enrichments
from app.enrichments.files import DataFileCache
from app.enrichments.loader import load_enrichments
from app.iglu import Registry
from app.request import CollectorRequest

__all__ = ["EnrichmentConfigError", "EnrichmentSettings", "Enrichments", "build_enrichments"]


@dataclass(frozen=True, slots=True)
class EnrichmentSettings:
    """The settings the enrichments read (filled from Settings by the wiring's `settings_view`)."""

    enrichments_dir: Path | None
    enrichments_unsupported: Literal["error", "warn"]
    enrichments_cache_dir: Path
    enrichments_download_timeout_seconds: float
    anonymous_geo: Literal["none", "country", "region"]
    cookie_name: str
    client_ip_header: str | None


def build_enrichments(
    settings: EnrichmentSettings,
    registry: Registry,
    client_ip: Callable[[CollectorRequest], str | None],
    tracker_ip: Callable[[str], str],
    max_lengths: dict[str, int] | None = None,
    *,
    refresh: bool = False,
) -> Enrichments:
    """The configured enrichments; none without COLLECTOR_ENRICHMENTS_DIR. Raises EnrichmentConfigError.
    `max_lengths`: the atomic fields' limits, which what an enrichment writes must fit too."""
    if settings.enrichments_dir is None:
        return Enrichments([], client_ip, tracker_ip)
    identifying = ANONYMOUS_DROPS | ({settings.client_ip_header.lower()} if settings.client_ip_header else set())
    setup = Setup(
        DataFileCache(settings.enrichments_cache_dir, settings.enrichments_download_timeout_seconds, refresh=refresh),
        cookie_name=settings.cookie_name,
        identifying_headers=identifying,
        anonymous_geo=settings.anonymous_geo,
        registry=registry,
    )
    chain = load_enrichments(settings.enrichments_dir, registry, setup, settings.enrichments_unsupported)
    return Enrichments(chain, client_ip, tracker_ip, max_lengths)
