"""Which enrichments exist, which config versions each accepts, and the one order they run in."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from app.enrichments.base import Enrichment, EnrichmentConfig, Setup
from app.iglu import SchemaKey
from app.schemas import ENRICHMENT_CONFIGS

Builder = Callable[[EnrichmentConfig, Setup], Enrichment]


@dataclass(frozen=True, slots=True)
class Supported:
    model: str  # the config schema's MODEL this service reads (`2` for ip_lookups 2-*-*)
    builder: str  # `module:function` under app.enrichments, imported only when configured (optional packages)

    def build(self, config: EnrichmentConfig, setup: Setup) -> Enrichment:
        module, function = self.builder.split(":")
        return cast(Builder, getattr(importlib.import_module(f"app.enrichments.{module}"), function))(config, setup)


# In run order, as Enrich runs them: IP lookups before IP anonymisation, the enrichments that read
# the page and referer next, the header and cookie extractors, the bot signals (which read what the
# others derived), and PII pseudonymisation last, over everything the others wrote.
BUILDERS = {
    "ip_lookups": "ip_lookups:build",
    "asn_lookups": "asn_lookups:build",
    "anon_ip": "anon_ip:build",
    "ua_parser_config": "ua_parser:build",
    "referer_parser": "referer_parser:build",
    "campaign_attribution": "campaign_attribution:build",
    "cross_navigation_config": "cross_navigation:build",
    "cookie_extractor_config": "header_extractors:build_cookies",
    "http_header_extractor_config": "header_extractors:build_headers",
    "event_fingerprint_config": "event_fingerprint:build",
    "iab_spiders_and_robots_enrichment": "iab:build",
    "bot_detection_enrichment_config": "bot_detection:build",
    "pii_enrichment_config": "pii:build",
}
# The config model each reads is that of its config schema in app/schemas.py.
REGISTRY: dict[str, Supported] = {
    name: Supported(SchemaKey.of(ENRICHMENT_CONFIGS[name]).model, builder) for name, builder in BUILDERS.items()
}
ORDER = {name: position for position, name in enumerate(REGISTRY)}
# Enrich's other enrichments: named in the start-up error so that it says "not supported", not "unknown".
NOT_SUPPORTED = frozenset(
    {
        "currency_conversion_config",
        "weather_enrichment_config",
        "api_request_enrichment_config",
        "sql_query_enrichment_config",
        "javascript_script_config",
        "yauaa_enrichment_config",
        "user_agent_utils_config",
    }
)
