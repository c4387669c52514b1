"""The configured enrichments run over one event, in order; what they derive goes in `derived_contexts`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.badrows import from_enrichment, input_data
from app.enrich import utf16_length
from app.enrichments.base import Enrichment, EventContext
from app.failures import Failure
from app.protocol import RawEvent
from app.request import CollectorRequest
from app.schemas import CONTEXTS_OUT


class Enrichments:
    def __init__(
        self,
        chain: list[Enrichment],
        client_ip: Callable[[CollectorRequest], str | None],
        tracker_ip: Callable[[str], str],
        max_lengths: dict[str, int] | None = None,
    ) -> None:
        self.chain = chain
        self.max_lengths = max_lengths or {}  # the atomic fields' limits, which what enrichments write must fit
        self.client_ip = client_ip  # the request's address, before anonymisation
        self.tracker_ip = tracker_ip  # the tracker's `ip` parameter as an address
        self.names = [enrichment.config.name for enrichment in chain]

    def apply(
        self, event: dict[str, Any], params: RawEvent, request: CollectorRequest, anonymous: bool
    ) -> list[Failure]:
        """Fill `event` in place; the failures, each naming its enrichment (none: the event is good)."""
        if not self.chain:
            return []
        ip = params.get("ip")  # the tracker's own address wins over the request's, as in `enrich`
        context = EventContext(params, request, anonymous, self.tracker_ip(ip) if ip else self.client_ip(request))
        failures: list[Failure] = []
        for enrichment in self.chain:
            outcome = enrichment.apply(event, context)
            context.derived.extend(outcome.entities)
            if outcome.failure is not None:
                config = enrichment.config
                failures.append(from_enrichment(outcome.failure, (config.key.uri, config.name)))
        if context.derived:
            event["derived_contexts"] = {"schema": CONTEXTS_OUT, "data": context.derived}
        failures.extend(self._too_long(event))
        return failures

    def _too_long(self, event: dict[str, Any]) -> list[Failure]:
        """Fields an enrichment made longer than the atomic limits allow (a campaign term, a PII hash):
        a failure, as Enrich's atomic length check makes it, rather than a row a loader would refuse."""
        limits = self.max_lengths
        too_long = [
            (name, value, length)
            for name, value in event.items()
            if isinstance(value, str)
            and name in limits
            and (length := len(value) if value.isascii() else utf16_length(value)) > limits[name]
        ]
        return [
            from_enrichment(input_data(name, value, f"at most {limits[name]} characters, not {length}"), None)
            for name, value, length in too_long
        ]
