"""The configured enrichments run over one event, in order; what they derive goes in `derived_contexts`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.enrichments.base import Enrichment, EventContext
from app.iglu import Message
from app.protocol import RawEvent
from app.request import CollectorRequest

CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
FIELD_CAP, EXPECTATION_CAP = 64, 256  # caps of the enrichment_failures schema


class Enrichments:
    def __init__(
        self,
        chain: list[Enrichment],
        client_ip: Callable[[CollectorRequest], str | None],
        tracker_ip: Callable[[str], str],
        max_lengths: dict[str, int] | None = None,
    ) -> None:
        self.chain = chain
        self.max_lengths = max_lengths or {}  # the atomic schema's caps, which what enrichments write must fit
        self.client_ip = client_ip  # the request's address, before anonymisation
        self.tracker_ip = tracker_ip  # the tracker's `ip` parameter as an address
        self.names = [enrichment.config.name for enrichment in chain]

    def __bool__(self) -> bool:
        return bool(self.chain)

    def apply(
        self, event: dict[str, Any], params: RawEvent, request: CollectorRequest, anonymous: bool
    ) -> list[Message]:
        """Fill `event` in place; the failures, as enrichment_failures messages (none: the event is good)."""
        ip = params.get("ip")  # the tracker's own address wins over the request's, as in `enrich`
        context = EventContext(params, request, anonymous, self.tracker_ip(ip) if ip else self.client_ip(request))
        failures: list[Message] = []
        for enrichment in self.chain:
            outcome = enrichment.apply(event, context)
            context.derived.extend(outcome.entities)
            if outcome.failure is not None:
                config, failure = enrichment.config, outcome.failure
                failures.append(
                    {
                        "enrichment": {"schemaKey": config.key.uri, "identifier": config.name},
                        "message": {
                            "field": failure.field[:FIELD_CAP],
                            "value": failure.value,
                            "expectation": failure.expectation[:EXPECTATION_CAP],
                        },
                    }
                )
        if context.derived:
            event["derived_contexts"] = {"schema": CONTEXTS, "data": context.derived}
        failures.extend(self._too_long(event))
        return failures

    def _too_long(self, event: dict[str, Any]) -> list[Message]:
        """Fields an enrichment made longer than the atomic schema allows (a campaign term, a PII hash):
        a failure, as Enrich's atomic length check makes it, rather than a row a loader would refuse."""
        limits = self.max_lengths
        return [
            {
                "enrichment": None,
                "message": {
                    "field": name[:FIELD_CAP],
                    "value": value[:EXPECTATION_CAP],
                    "expectation": f"at most {limits[name]} characters, not {len(value)}",
                },
            }
            for name, value in event.items()
            if isinstance(value, str) and len(value) > limits.get(name, len(value))
        ]
