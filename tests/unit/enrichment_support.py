"""Building one enrichment from a config the way the loader does, and running it over one event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.enrichments.base import Enrichment, EnrichmentConfig, EventContext, Outcome, Setup
from app.enrichments.files import DataFileCache
from app.enrichments.registry import REGISTRY
from app.iglu import SchemaKey
from app.request import CollectorRequest

ENRICHMENTS_VENDOR = "com.snowplowanalytics.snowplow.enrichments"
VENDORS = {  # which vendor each config schema is published under
    "http_header_extractor_config": ENRICHMENTS_VENDOR,
    "pii_enrichment_config": ENRICHMENTS_VENDOR,
    "iab_spiders_and_robots_enrichment": ENRICHMENTS_VENDOR,
    "bot_detection_enrichment_config": ENRICHMENTS_VENDOR,
    "asn_lookups": ENRICHMENTS_VENDOR,
    "cross_navigation_config": ENRICHMENTS_VENDOR,
}


def config_document(name: str, version: str, parameters: dict[str, Any] | None, enabled: bool = True) -> dict[str, Any]:
    """An enrichment config file's content, in Snowplow's format."""
    vendor = VENDORS.get(name, "com.snowplowanalytics.snowplow")
    data: dict[str, Any] = {"vendor": vendor, "name": name, "enabled": enabled}
    if parameters is not None:
        data["parameters"] = parameters
    return {"schema": f"iglu:{vendor}/{name}/jsonschema/{version}", "data": data}


def build(
    name: str,
    version: str,
    parameters: dict[str, Any],
    setup: Setup | None = None,
    tmp: Path | None = None,
    data: dict[str, Any] | None = None,
) -> Enrichment:
    """`data`: the config's options beside `parameters` (PII's emitEvent, anonymousOnly)."""
    vendor = VENDORS.get(name, "com.snowplowanalytics.snowplow")
    key = SchemaKey(vendor, name, "jsonschema", version)
    config = EnrichmentConfig(Path(f"{name}.json"), key, name, True, parameters, data or {})
    setup = setup or Setup(DataFileCache(tmp or Path("/nonexistent"), 5.0, refresh=True))
    return REGISTRY[name].build(config, setup)


def run(
    enrichment: Enrichment,
    event: dict[str, Any],
    request: CollectorRequest,
    params: dict[str, str] | None = None,
    client_ip: str | None = None,
    anonymous: bool = False,
) -> Outcome:
    return enrichment.apply(event, EventContext(params or {}, request, anonymous, client_ip))
