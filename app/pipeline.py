"""One request through every stage: identity → protocol → enrichment → output lines.

Plain Python over plain data: the HTTP layer hands in a CollectorRequest and gets back
the records to store and the cookie to answer with.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.badrows import BadRows
from app.clock import now_ms
from app.enrich import Enricher
from app.enrichments.chain import Enrichments
from app.formats import FORMATS, json_line
from app.identity import Identity, IdentityPolicy
from app.protocol import Protocol, parse_query
from app.record import Record
from app.redirect import redirect_event
from app.request import REDIRECT_PATH, CollectorRequest

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Collected:
    good: list[Record]  # enriched events
    bad: list[Record]  # bad rows
    set_cookie: str | None
    anonymous: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)  # good, or the bad-row type, per record


@dataclass(frozen=True, slots=True)
class Output:
    """How good events are written and keyed (`max_payload_bytes`: above it, a size_violation)."""

    output_format: str
    partition_key: str
    max_payload_bytes: int


class Pipeline:
    """The stages, built by the wiring, in the order a request meets them."""

    def __init__(
        self,
        identity: IdentityPolicy,
        protocol: Protocol,
        enricher: Enricher,
        badrows: BadRows,
        output: Output,
        may_block: bool,
        enrichments: Enrichments,
    ) -> None:
        self.identity = identity
        self.protocol = protocol
        self.enricher = enricher
        self.badrows = badrows
        self.max_payload_bytes = output.max_payload_bytes
        self.format_event = FORMATS[output.output_format]
        self.partition_key = output.partition_key
        self.may_block = may_block  # a stage may wait on the network: keep `collect` off the event loop
        self.enrichments = enrichments  # Enrich's configured enrichments, run on events that passed validation

    @staticmethod
    def redirect_target(request: CollectorRequest) -> str | None:
        return parse_query(request.query_string).get("u")

    def collect(self, request: CollectorRequest) -> Collected:
        """Every request becomes records, even one the pipeline fails on: that is a bug, logged,
        and the request is kept whole as a generic_error bad row rather than answered with a 500."""
        try:
            return self._collect(request)
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
            bad = [
                self._payload_record(
                    row, request, Identity(anonymous=True, ip=None, network_userid=None, set_cookie=None)
                )
            ]
            return Collected([], bad, None, False, Counter(generic_error=1))

    def _collect(self, request: CollectorRequest) -> Collected:
        now = now_ms()
        identity = self.identity.resolve(request, now / 1000)
        if identity.do_not_track:
            return Collected([], [], None)
        size = len(request.body) + len(request.query_string)
        if size > self.max_payload_bytes:
            row = self.badrows.size_violation(request, self.max_payload_bytes, size, now)
            bad = [self._payload_record(row, request, identity)]
            return Collected([], bad, identity.set_cookie, identity.anonymous, Counter(size_violation=1))

        parsed = self.protocol.parse(request)
        if request.path == REDIRECT_PATH:  # the route checked the target before calling
            parsed.events = [redirect_event(params, params["u"]) for params in parsed.events]
        bad = [
            self._payload_record(
                self.badrows.tracker_protocol_violation(request, identity, violation, now), request, identity
            )
            for violation in parsed.violations
        ]
        outcomes = Counter(tracker_protocol_violations=len(bad))
        good = []
        for params in parsed.events:
            enriched = self.enricher.enrich(params, identity, request, now)
            event = enriched.event
            key = event.get(self.partition_key) or event["event_id"]
            if enriched.failures:  # validation comes first, as in Enrich: its failures win
                row = self.badrows.schema_violation(request, identity, params, event, enriched.failures, now)
                bad.append(Record(json_line(row), event["event_id"], key))
                outcomes["schema_violations"] += 1
            elif failed := enriched.enrichment_failures + self.enrichments.apply(
                event, params, request, identity.anonymous
            ):
                row = self.badrows.enrichment_failures(request, identity, params, event, failed, now)
                bad.append(Record(json_line(row), event["event_id"], key))
                outcomes["enrichment_failures"] += 1
            else:
                good.append(Record(self.format_event(event), event["event_id"], key))
        outcomes["good"] = len(good)
        return Collected(good, bad, identity.set_cookie, identity.anonymous, +outcomes)

    @staticmethod
    def _payload_record(row: dict[str, Any], request: CollectorRequest, identity: Identity) -> Record:
        """A bad row for a whole payload. Its id derives from the payload, so a tracker's retry of
        the same payload carries the same id and a de-duplicating broker keeps one copy."""
        payload = f"{request.path}?{request.query_string}\n".encode() + request.body
        row_id = str(uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(payload).hexdigest()))
        return Record(json_line(row), row_id, identity.network_userid or row_id)
