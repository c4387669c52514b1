"""One request through every stage: identity → protocol → enrichment → output lines.

Plain Python over plain data: the HTTP layer hands in a CollectorRequest and gets back
the lines to store and the cookie to answer with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.badrows import BadRows
from app.clock import now_ms
from app.config import Settings
from app.enrich import Enricher
from app.formats import FORMATS, json_line
from app.identity import IdentityPolicy
from app.iglu import Registry
from app.protocol import Protocol, parse_query
from app.redirect import redirect_event
from app.request import REDIRECT_PATH, CollectorRequest


@dataclass(slots=True)
class Collected:
    good: list[bytes]  # enriched events, one line each
    bad: list[bytes]  # bad rows, one line each
    set_cookie: str | None
    anonymous: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)  # good, or the bad-row type, per record


class Pipeline:
    def __init__(self, settings: Settings, registry: Registry, sink_name: str) -> None:
        self.identity = IdentityPolicy(settings)
        self.protocol = Protocol(registry)
        self.enricher = Enricher(registry, settings.name, sink_name)
        self.badrows = BadRows(settings.name, self.enricher.v_collector)
        self.max_payload_bytes = settings.max_payload_bytes
        self.format_event = FORMATS[settings.output_format]

    @staticmethod
    def redirect_target(request: CollectorRequest) -> str | None:
        return parse_query(request.query_string).get("u")

    def collect(self, request: CollectorRequest) -> Collected:
        now = now_ms()
        identity = self.identity.resolve(request, now / 1000)
        size = len(request.body) + len(request.query_string)
        if size > self.max_payload_bytes:
            row = self.badrows.size_violation(request, self.max_payload_bytes, size, now)
            return Collected([], [json_line(row)], identity.set_cookie, identity.anonymous, Counter(size_violation=1))

        parsed = self.protocol.parse(request)
        if request.path == REDIRECT_PATH:  # the route checked the target before calling
            parsed.events = [redirect_event(params, params["u"]) for params in parsed.events]
        bad = [
            json_line(self.badrows.tracker_protocol_violation(request, identity, violation, now))
            for violation in parsed.violations
        ]
        outcomes = Counter(tracker_protocol_violations=len(bad))
        good = []
        for params in parsed.events:
            enriched = self.enricher.enrich(params, identity, request, now)
            if enriched.failures:
                row = self.badrows.schema_violation(request, identity, params, enriched.event, enriched.failures, now)
                bad.append(json_line(row))
                outcomes["schema_violations"] += 1
            else:
                good.append(self.format_event(enriched.event))
        outcomes["good"] = len(good)
        return Collected(good, bad, identity.set_cookie, identity.anonymous, +outcomes)
