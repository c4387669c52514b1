"""One request through every stage: identity → protocol → enrichment → output lines.

Plain Python over plain data: the HTTP layer hands in a CollectorRequest and gets back
the records to store and the cookie to answer with.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.badrows import BadRows
from app.clock import now_ms
from app.enrich import Enricher
from app.enrichments.chain import Enrichments
from app.formats import FORMATS, json_line
from app.identity import Identity, IdentityPolicy
from app.iglu import Registry
from app.protocol import Protocol, RawEvent, parse_query
from app.record import Record
from app.record_ids import RecordIds, UnusedIds
from app.redirect import redirect_event
from app.request import REDIRECT_PATH, CollectorRequest

log = logging.getLogger(__name__)
RecordLimit = Callable[[], int | None]  # the sink's current message limit in bytes, None for none


def unlimited() -> int | None:
    return None


@dataclass(slots=True)
class Observed:
    """One record as the Micro store keeps it (app/micro/): only built when micro_events is on."""

    request: CollectorRequest
    identity: Identity
    params: RawEvent | None  # the tracker's parameters, when an event could be read
    event: dict[str, Any] | None  # the enriched event; partial for a schema violation
    bad_row: dict[str, Any] | None  # None for a good event


@dataclass(slots=True)
class Collected:
    good: list[Record]  # enriched events
    bad: list[Record]  # bad rows
    set_cookie: str | None
    anonymous: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)  # records per outcome (good, or the bad-row type); no zeros
    observed: list[Observed] = field(default_factory=list)  # for the Micro store, when it is on


@dataclass(frozen=True, slots=True)
class Output:
    """How good events are written and keyed (`max_payload_bytes`: above it, a size_violation), and
    how much one request may write in bad rows (`max_bad_bytes_per_request`: past it, one size_violation)."""

    output_format: str
    partition_key: str
    max_payload_bytes: int
    max_bad_bytes_per_request: int


@dataclass(frozen=True, slots=True)
class SinkLimits:
    """The sinks' message limits in bytes, asked per request (a broker's may change on reconnect);
    a record larger than its sink's becomes a size_violation naming `sink`."""

    sink: str
    good: RecordLimit = unlimited
    bad: RecordLimit = unlimited


class Pipeline:
    """The stages, built by the wiring, in the order a request meets them."""

    def __init__(
        self,
        identity: IdentityPolicy,
        protocol: Protocol,
        enricher: Enricher,
        badrows: BadRows,
        output: Output,
        registry: Registry,
        limits: SinkLimits,
        record_ids: type[RecordIds] = UnusedIds,
        observe: bool = False,
        *,
        enrichments: Enrichments,
    ) -> None:
        self.identity = identity
        self.protocol = protocol
        self.enricher = enricher
        self.badrows = badrows
        self.max_payload_bytes = output.max_payload_bytes
        self.max_bad_bytes = output.max_bad_bytes_per_request
        self.format_event = FORMATS[output.output_format]
        self.partition_key = output.partition_key
        # A stage may wait on the network: the caller runs `collect` within `registry.deferring()`.
        self.registry = registry
        self.may_block = registry.may_block
        self.sink_name = limits.sink
        self.good_limit, self.bad_limit = limits.good, limits.bad
        # Digests only where a sink de-duplicates by record id (UnusedIds: none to pay for).
        self.record_ids = record_ids
        self.observe = observe  # keep each record's parts for the Micro store (app/micro/)
        self.enrichments = enrichments  # Enrich's configured enrichments, run on events that passed validation

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
            nobody = Identity(anonymous=True, ip=None, network_userid=None, set_cookie=None)
            observed = [Observed(request, nobody, None, None, row)] if self.observe else []
            bad = [Record(json_line(row), row_id, row_id)]
            return self._fit(Collected([], bad, None, False, {"generic_error": 1}, observed))

    def _collect(self, request: CollectorRequest) -> Collected:
        now = now_ms()
        identity = self.identity.resolve(request, now / 1000)
        if identity.do_not_track:
            return Collected([], [], None)
        ids = self.record_ids(request, identity.ip)
        size = len(request.body) + len(request.query_string)
        if size > self.max_payload_bytes:
            return self._too_large(request, identity, size, now, ids.for_payload())

        parsed = self.protocol.parse(request)
        if parsed.events and request.method == "POST":
            # The query string is merged into every event of the batch: count it that often.
            size = len(request.body) + len(request.query_string) * len(parsed.events)
            if size > self.max_payload_bytes:
                return self._too_large(request, identity, size, now, ids.for_payload())
        if request.path == REDIRECT_PATH:  # the route checked the target before calling
            parsed.events = [redirect_event(params, params["u"]) for params in parsed.events]
        bad = []
        observed = []
        for violation in parsed.violations:
            row = self.badrows.tracker_protocol_violation(request, identity, violation, now)
            bad.append(self._payload_record(row, ids.for_payload(violation.body), identity))
            if self.observe:
                observed.append(Observed(request, identity, None, None, row))
        schema_violations = enrichment_failures = 0
        good = []
        for params in parsed.events:
            enriched = self.enricher.enrich(params, identity, request, now)
            event = enriched.event
            key = event.get(self.partition_key) or event["event_id"]
            bad_row = None
            if enriched.failures:  # validation comes first, as in Enrich: its failures win
                bad_row = self.badrows.schema_violation(request, identity, params, event, enriched.failures, now)
                bad.append(Record(json_line(bad_row), ids.for_event(params), key))
                schema_violations += 1
            elif failed := enriched.enrichment_failures + self.enrichments.apply(
                event, params, request, identity.anonymous
            ):
                bad_row = self.badrows.enrichment_failures(request, identity, params, event, failed, now)
                bad.append(Record(json_line(bad_row), ids.for_event(params), key))
                enrichment_failures += 1
            else:
                good.append(Record(self.format_event(event), ids.for_event(params), key))
            if self.observe:
                observed.append(Observed(request, identity, params, event, bad_row))
        outcomes = _tally(
            good=len(good),
            tracker_protocol_violations=len(parsed.violations),
            schema_violations=schema_violations,
            enrichment_failures=enrichment_failures,
        )
        collected = Collected(good, bad, identity.set_cookie, identity.anonymous, outcomes, observed)
        return self._bound_bad_rows(collected, request, identity, now, ids)

    def _too_large(self, request: CollectorRequest, identity: Identity, size: int, now: int, row_id: str) -> Collected:
        """The whole payload as one size_violation: it is above the payload limit."""
        row = self.badrows.size_violation(request, self.max_payload_bytes, size, now)
        bad = [self._payload_record(row, row_id, identity)]
        observed = [Observed(request, identity, None, None, row)] if self.observe else []
        return Collected([], bad, identity.set_cookie, identity.anonymous, {"size_violation": 1}, observed)

    def _bound_bad_rows(
        self, collected: Collected, request: CollectorRequest, identity: Identity, now: int, ids: RecordIds
    ) -> Collected:
        """One request may not write more than max_bad_bytes in bad rows: past it, its failures
        become one size_violation (its good events are kept)."""
        written = sum(len(record.data) for record in collected.bad)
        if written <= self.max_bad_bytes:
            return collected
        expectation = f"bad rows of at most {self.max_bad_bytes} bytes per request"
        row = self.badrows.size_violation(request, self.max_bad_bytes, written, now, expectation)
        collected.bad = [self._payload_record(row, ids.for_payload(), identity)]
        collected.outcomes = _tally(good=len(collected.good), size_violation=1)
        if self.observe:  # the Micro store sees what was written: the good events and this one row
            kept = [seen for seen in collected.observed if seen.bad_row is None]
            collected.observed = [*kept, Observed(request, identity, None, None, row)]
        return collected

    def _fit(self, collected: Collected) -> Collected:
        """Records larger than their sink's message limit become size_violation bad rows that fit:
        a broker would refuse them for good, and every retry of the request with them
        (docs/behaviour.md#sinks)."""
        good_limit, bad_limit = self.good_limit(), self.bad_limit()
        if good_limit is not None and any(len(record.data) > good_limit for record in collected.good):
            fitting = [record for record in collected.good if len(record.data) <= good_limit]
            for record in collected.good:
                if len(record.data) > good_limit:
                    collected.bad.append(self._oversized(record, good_limit))
                    collected.outcomes["size_violation"] = collected.outcomes.get("size_violation", 0) + 1
            collected.outcomes = _tally(**{**collected.outcomes, "good": len(fitting)})
            collected.good = fitting
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


def _tally(**counts: int) -> dict[str, int]:
    """Records per outcome, without the outcomes that have none (a plain dict: Counter costs 2 us a request)."""
    return {outcome: count for outcome, count in counts.items() if count}
