"""referer_parser 2-0-x: refr_medium, refr_source, refr_term from the referer URL, with the referer
database in Snowplow's JSON format (`{medium: {source: {"domains": [...], "parameters": [...]}}}`).

As Snowplow's referer-parser: a referer on the page's own host or an `internalDomains` host is
`internal`; otherwise the host (with the path's first segment, then without; then without each
leading subdomain in turn) is looked up; a known search engine gives its search term from the
first of its parameters present; an unknown host is `unknown`. Only http(s) referers are parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.text import clean

Referers = dict[str, tuple[str, str, tuple[str, ...]]]  # domain → (medium, source, term parameters)


@dataclass(frozen=True, slots=True)
class RefererParser:
    config: EnrichmentConfig
    referers: Referers
    internal: frozenset[str]

    def lookup(self, host: str, path: str) -> tuple[str, str, tuple[str, ...]] | None:
        first_segment = path.split("/", 2)[1] if path.count("/") >= 1 else ""
        labels = host.split(".")
        for start in range(len(labels) - 1):
            candidate = ".".join(labels[start:])
            found = (first_segment and self.referers.get(f"{candidate}/{first_segment}")) or self.referers.get(
                candidate
            )
            if found:
                return found
        return None

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        referer = event.get("page_referrer")
        if not referer:
            return NOTHING
        try:
            parts = urlsplit(referer)
            host = (parts.hostname or "").lower()
        except ValueError:
            return NOTHING
        if parts.scheme not in ("http", "https") or not host:
            return NOTHING
        if host == (event.get("page_urlhost") or "").lower() or host in self.internal:
            event["refr_medium"] = "internal"
            return NOTHING
        found = self.lookup(host, parts.path)
        if found is None:
            event["refr_medium"] = "unknown"
            return NOTHING
        medium, source, term_parameters = found
        event["refr_medium"], event["refr_source"] = medium, source
        if medium == "search" and term_parameters:
            values = dict(parse_qsl(parts.query, keep_blank_values=True))
            for name in term_parameters:
                if values.get(name):
                    event["refr_term"] = clean(values[name])
                    break
        return NOTHING


def read_referers(document: dict[str, Any]) -> Referers:
    referers: Referers = {}
    for medium, sources in document.items():
        for source, spec in sources.items():
            for domain in spec["domains"]:
                referers[domain.lower()] = (medium, source, tuple(spec.get("parameters", ())))
    return referers


def build(config: EnrichmentConfig, setup: Setup) -> RefererParser:
    path = setup.files.fetch(config, config.parameters)
    try:
        referers = read_referers(orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as error:
        raise config.problem(f"{path} is not a referer database in Snowplow's JSON format: {error!r}") from None
    referers.update(read_referers(config.parameters.get("referrers") or {}))
    return RefererParser(config, referers, frozenset(domain.lower() for domain in config.parameters["internalDomains"]))
