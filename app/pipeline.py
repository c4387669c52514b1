"""One request through every stage: identity → protocol → enrichment → output lines.

Plain Python over plain data: the HTTP layer hands in a CollectorRequest and gets back
the records to store and the cookie to answer with.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.badrows import BadRows
from app.clock import now_ms
from app.config import Settings
from app.enrich import Enricher
from app.formats import FORMATS, json_line
from app.identity import Identity, IdentityPolicy
from app.iglu import Registry
from app.protocol import Protocol, parse_query
from app.record_ids import RecordIds, UnusedIds
from app.redirect import redirect_event
from app.request import REDIRECT_PATH, CollectorRequest
from app.sinks.base import Record

log = logging.getLogger(__name__)
RecordLimit = Callable[[], int | None]  # the sink's current message limit in bytes, None for none


def unlimited() -> int | None:
    return None


@dataclass(slots=True)
class Collected:
    good: list[Record]  # enriched events
    bad: list[Record]  # bad rows
    set_cookie: str | None
    anonymous: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)  # good, or the bad-row type, per record


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        sink_name: str,
        good_limit: RecordLimit = unlimited,
        bad_limit: RecordLimit = unlimited,
    ) -> None:
        self.sink_name = sink_name
        # Only JetStream de-duplicates by record id; other sinks are spared the digests.
        self.record_ids = RecordIds if settings.sink == "nats" else UnusedIds
        self.good_limit, self.bad_limit = good_limit, bad_limit
        self.identity = IdentityPolicy(settings)
        self.protocol = Protocol(registry, settings.max_events_per_request)
        self.enricher = Enricher(
            registry,
            settings.name,
            sink_name,
            self.identity.ip_mask,
            max_entities=settings.max_entities_per_event,
            max_json_depth=settings.max_json_depth,
        )
        self.badrows = BadRows(
            settings.name, self.enricher.v_collector, self.identity.ip_mask, settings.client_ip_header
        )
        self.max_payload_bytes = settings.max_payload_bytes
        self.format_event = FORMATS[settings.output_format]
        self.partition_key = settings.partition_key
        self.may_block = registry.may_block

    @staticmethod
    def redirect_target(request: CollectorRequest) -> str | None:
        return parse_query(request.query_string).get("u")

    def collect(self, request: CollectorRequest) -> Collected:
        """Every request becomes records, even one the pipeline fails on: that is a bug, logged,
        and the request is kept whole as a generic_error bad row rather than answered with a 500."""
        try:
            return self._fit(self._collect(request))
        except Exception as error:
            # Type and place only: the message may quote request data, which never goes in a log.
            frame = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "pipeline failed (%s at %s:%d); request kept as a generic_error bad row",
                type(error).__name__,
                frame.filename,
                frame.lineno,
            )
            row = self.badrows.internal_error(request, error, now_ms())
            row_id = self.record_ids(request, None).for_payload()
            collected = Collected([], [Record(json_line(row), row_id, row_id)], None, False, Counter(generic_error=1))
            return self._fit(collected)

    def _collect(self, request: CollectorRequest) -> Collected:
        now = now_ms()
        identity = self.identity.resolve(request, now / 1000)
        if identity.do_not_track:
            return Collected([], [], None)
        ids = self.record_ids(request, identity.ip)
        size = len(request.body) + len(request.query_string)
        if size > self.max_payload_bytes:
            row = self.badrows.size_violation(request, self.max_payload_bytes, size, now)
            bad = [self._payload_record(row, ids.for_payload(), identity)]
            return Collected([], bad, identity.set_cookie, identity.anonymous, Counter(size_violation=1))

        parsed = self.protocol.parse(request)
        if request.path == REDIRECT_PATH:  # the route checked the target before calling
            parsed.events = [redirect_event(params, params["u"]) for params in parsed.events]
        bad = [
            self._payload_record(
                self.badrows.tracker_protocol_violation(request, identity, violation, now),
                ids.for_payload(violation.body),
                identity,
            )
            for violation in parsed.violations
        ]
        outcomes = Counter(tracker_protocol_violations=len(bad))
        good = []
        for params in parsed.events:
            enriched = self.enricher.enrich(params, identity, request, now)
            event = enriched.event
            key = event.get(self.partition_key) or event["event_id"]
            if enriched.failures:
                row = self.badrows.schema_violation(request, identity, params, event, enriched.failures, now)
                bad.append(Record(json_line(row), ids.for_event(params), key))
                outcomes["schema_violations"] += 1
            else:
                good.append(Record(self.format_event(event), ids.for_event(params), key))
        outcomes["good"] = len(good)
        return Collected(good, bad, identity.set_cookie, identity.anonymous, +outcomes)

    def _fit(self, collected: Collected) -> Collected:
        """Records larger than their sink's message limit become size_violation bad rows that fit:
        a broker would refuse them for good, and every retry of the request with them."""
        good_limit, bad_limit = self.good_limit(), self.bad_limit()
        if good_limit is not None and any(len(record.data) > good_limit for record in collected.good):
            fitting = [record for record in collected.good if len(record.data) <= good_limit]
            for record in collected.good:
                if len(record.data) > good_limit:
                    collected.bad.append(self._oversized(record, good_limit))
                    collected.outcomes["size_violation"] += 1
            collected.outcomes["good"] = len(fitting)
            collected.good = fitting
            collected.outcomes = +collected.outcomes
        if bad_limit is not None:
            collected.bad = [
                record if len(record.data) <= bad_limit else self._oversized(record, bad_limit)
                for record in collected.bad
            ]
        return collected

    def _oversized(self, record: Record, limit: int) -> Record:
        row = self.badrows.oversized_record(record.data, limit, self.sink_name, now_ms())
        data = json_line(row)
        if len(data) > limit:  # a limit too small for even a tenth of it: the row says the sizes only
            row["data"]["payload"] = ""
            data = json_line(row)
        return Record(data, record.id, record.key)

    @staticmethod
    def _payload_record(row: dict[str, Any], row_id: str, identity: Identity) -> Record:
        return Record(json_line(row), row_id, identity.network_userid or row_id)
