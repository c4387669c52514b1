"""cookie_extractor_config and http_header_extractor_config 1-0-0 → `org.ietf/http_cookie` and
`org.ietf/http_header` derived contexts, from the request that carried the event.

Under SP-Anonymous neither gives the person away: the collector's own cookie is never extracted,
and neither are the Cookie, X-Forwarded-For, X-Real-IP and Forwarded headers (nor a configured
client-IP header). Header names are matched case-insensitively and written in lower case, as
the service receives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.schemas import HTTP_COOKIE as COOKIE_SCHEMA
from app.schemas import HTTP_HEADER as HEADER_SCHEMA


@dataclass(frozen=True, slots=True)
class CookieExtractor:
    config: EnrichmentConfig
    names: frozenset[str]
    collector_cookie: str

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        header = context.request.headers.get("cookie")
        if not header:
            return NOTHING
        entities = []
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            if name in self.names and not (context.anonymous and name == self.collector_cookie):
                entities.append({"schema": COOKIE_SCHEMA, "data": {"name": name, "value": value.strip().strip('"')}})
        return Outcome(tuple(entities)) if entities else NOTHING


@dataclass(frozen=True, slots=True)
class HeaderExtractor:
    config: EnrichmentConfig
    pattern: re.Pattern[str]
    identifying: frozenset[str]

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        entities = tuple(
            {"schema": HEADER_SCHEMA, "data": {"name": name, "value": value}}
            for name, value in context.request.headers.items()
            if self.pattern.fullmatch(name) and not (context.anonymous and name in self.identifying)
        )
        return Outcome(entities) if entities else NOTHING


def build_cookies(config: EnrichmentConfig, setup: Setup) -> CookieExtractor:
    return CookieExtractor(config, frozenset(config.parameters["cookies"]), setup.cookie_name)


def build_headers(config: EnrichmentConfig, setup: Setup) -> HeaderExtractor:
    try:
        pattern = re.compile(config.parameters["headersPattern"], re.IGNORECASE)
    except re.error as error:
        raise config.problem(f"headersPattern is not a regular expression: {error}") from None
    return HeaderExtractor(config, pattern, setup.identifying_headers)
