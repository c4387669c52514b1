"""Failures → Snowplow bad rows (the `BADROWS_VENDOR` schemas of app/schemas.py).

The contract: docs/behaviour.md#bad-rows.

Each builder returns the self-describing bad row as a dict, valid against its official
schema: values the schema caps (query-string values, header lines) are cut to the cap.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from app import __version__, exact_json
from app.clock import iso_from_ms
from app.failures import (
    EnrichmentError,
    EnrichmentId,
    EnrichmentMessage,
    Failure,
    InputError,
    Message,
)
from app.identity import Identity
from app.privacy import IpMask
from app.protocol import RawEvent, Violation, parse_query
from app.request import CollectorRequest
from app.schemas import (
    ENRICHMENT_FAILURES,
    GENERIC_ERROR,
    SCHEMA_VIOLATIONS,
    SIZE_VIOLATION,
    TRACKER_PROTOCOL_VIOLATIONS,
)
from app.schemas import SNOWPLOW as VENDOR

# Headers that identify the person: never kept under anonymisation; the cookie never at all
# (its collector id is in networkUserId already). Besides the forwarding headers, those in which
# CDNs and load balancers name the client.
ANONYMOUS_DROPS = frozenset(
    {
        "cookie",
        "x-forwarded-for",
        "x-real-ip",
        "forwarded",
        "true-client-ip",
        "x-client-ip",
        "cf-connecting-ip",
        "cf-connecting-ipv6",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-forwarded-for",
        "x-envoy-external-address",
        "x-azure-clientip",
        "x-appengine-user-ip",
        "client-ip",
    }
)
# Masking an address cut in two would miss it: mask a little more than is kept, then cut.
MASK_MARGIN = 64
PARAMETER_VALUE_CAP = 512
HEADER_CAP = 8192
# All header lines of one bad row together: a bad row per event repeats them, so they are what
# multiplies a request's size most.
HEADERS_TOTAL_CAP = 8192
# More caps of the official schemas (collector payload and raw event alike): a longer value
# would make the bad row itself invalid.
CONTENT_TYPE_CAP = 256
USERAGENT_CAP = 4096
URI_CAP = 8192  # refererUri and hostname
# Atomic integers that the schema_violations schema types as strings.
TEXT_INTEGERS = frozenset({"txn_id"})
# Caps of enrichment_failures 2-0-0 on a failure message.
FIELD_CAP, EXPECTATION_CAP, ERROR_CAP, IDENTIFIER_CAP = 64, 256, 512, 256


def input_data(field: str, value: str | None, expectation: str) -> Failure:
    """An enrichment failure on a value of the event (enrichment_failures' InputData), capped as its schema caps it."""
    return Failure(InputError(field=field[:FIELD_CAP], value=value, expectation=expectation[:EXPECTATION_CAP]))


def enrichment_error(error: str) -> Failure:
    """Any other enrichment failure, in words (enrichment_failures' Simple)."""
    return Failure(EnrichmentError(error=error[:ERROR_CAP]))


def from_enrichment(failure: Failure, enrichment: tuple[str, str] | None) -> Failure:
    """`failure` (made by `input_data` or `enrichment_error`) as one message of an enrichment_failures
    row, naming the enrichment it came from: (its config schema URI, its name), or None for what
    Enrich always does (reading `_sp`, parsing the page URL)."""
    described = (
        None if enrichment is None else EnrichmentId(schemaKey=enrichment[0], identifier=enrichment[1][:IDENTIFIER_CAP])
    )
    message = cast("InputError | EnrichmentError", failure.message)
    return Failure(EnrichmentMessage(enrichment=described, message=message))


class BadRows:
    def __init__(
        self,
        collector_name: str,
        v_collector: str,
        ip_mask: IpMask,
        client_ip_header: str | None,
        max_lengths: dict[str, int] | None = None,
    ) -> None:
        self.max_lengths = max_lengths or {}  # atomic fields: what a partial event keeps of each
        self.processor = {"artifact": collector_name, "version": __version__}
        self.collector = v_collector[:32]
        self.ip_mask = ip_mask
        # With IP anonymisation on, forwarding headers would give the full address away.
        self.identifying = ANONYMOUS_DROPS | ({client_ip_header.lower()} if client_ip_header else set())
        self.always_dropped = self.identifying if ip_mask.enabled else frozenset({"cookie"})

    def _row(self, schema: str, failure: dict[str, Any], payload: Any) -> dict[str, Any]:
        return {"schema": schema, "data": {"processor": self.processor, "failure": failure, "payload": payload}}

    def tracker_protocol_violation(
        self, request: CollectorRequest, identity: Identity, violation: Violation, now_ms: int
    ) -> dict[str, Any]:
        failure = {
            "timestamp": iso_from_ms(now_ms),
            "vendor": VENDOR,
            "version": adapter_version(request),
            "messages": self._masked(violation.messages),
        }
        payload = {
            "vendor": VENDOR,
            "version": adapter_version(request),
            "querystring": self._parameters(parse_query(request.query_string).items()),
            "contentType": _cap(request.content_type, CONTENT_TYPE_CAP),
            "body": None if violation.body is None else self.ip_mask.mask_text(violation.body),
            "collector": self.collector,
            "encoding": "UTF-8",
            **self.request_context(request, identity),
            "networkUserId": identity.network_userid,
        }
        return self._row(TRACKER_PROTOCOL_VIOLATIONS, failure, payload)

    def schema_violation(
        self,
        request: CollectorRequest,
        identity: Identity,
        params: RawEvent,
        enriched: dict[str, Any],
        messages: list[Message],
        now_ms: int,
    ) -> dict[str, Any]:
        payload = self._event_payload(request, identity, params, enriched)
        return self._row(
            SCHEMA_VIOLATIONS, {"timestamp": iso_from_ms(now_ms), "messages": self._masked(messages)}, payload
        )

    def enrichment_failures(
        self,
        request: CollectorRequest,
        identity: Identity,
        params: RawEvent,
        enriched: dict[str, Any],
        failures: list[Failure],
        now_ms: int,
    ) -> dict[str, Any]:
        """An event whose enrichments failed (after it passed validation): the partial event, the raw one.
        `failures`: each made by `from_enrichment`."""
        payload = self._event_payload(request, identity, params, enriched)
        messages = self._masked([failure.message for failure in failures])
        return self._row(ENRICHMENT_FAILURES, {"timestamp": iso_from_ms(now_ms), "messages": messages}, payload)

    def _event_payload(
        self, request: CollectorRequest, identity: Identity, params: RawEvent, enriched: dict[str, Any]
    ) -> dict[str, Any]:
        raw = {
            "vendor": VENDOR,
            "version": adapter_version(request),
            "parameters": self._parameters(params.items()),
            "contentType": _cap(request.content_type, CONTENT_TYPE_CAP),
            "loaderName": self.collector,
            "encoding": "UTF-8",
            **self.request_context(request, identity),
            "userId": identity.network_userid,
        }
        return {"enriched": _flat_enriched(enriched, self.max_lengths), "raw": raw}

    def _masked(self, value: Any) -> Any:
        """Failure messages quote what was sent (a body, a JSON value): every address in them masked."""
        if not self.ip_mask.enabled:
            return value
        if isinstance(value, str):
            return self.ip_mask.mask_text(value)
        if isinstance(value, dict):
            return {key: self._masked(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._masked(item) for item in value]
        return value

    def _parameters(self, pairs: Any) -> list[dict[str, str]]:
        return [
            {
                "name": name[:PARAMETER_VALUE_CAP],
                "value": (self.ip_mask.mask_text(value) if name == "ip" else value)[:PARAMETER_VALUE_CAP],
            }
            for name, value in pairs
        ]

    def request_context(self, request: CollectorRequest, identity: Identity) -> dict[str, Any]:
        """What the collector saw of the request, less what anonymisation forbids."""
        drop = self.identifying if identity.anonymous else self.always_dropped
        mask = self.ip_mask.mask_text  # a Via or Referer header may hold an address too
        headers = []
        room = HEADERS_TOTAL_CAP
        for name, value in request.headers.items():
            if name not in drop and room > 0:
                cap = min(HEADER_CAP, room)
                line = mask(f"{name}: {value[: cap + MASK_MARGIN]}")[:cap]
                headers.append(line)
                room -= len(line)
        return {
            "hostname": _cap(request.hostname, URI_CAP),
            "timestamp": iso_from_ms(request.received_ms),
            "ipAddress": identity.ip,
            "useragent": _cap(request.headers.get("user-agent"), USERAGENT_CAP),
            "refererUri": _cap(request.headers.get("referer"), URI_CAP),
            "headers": headers,
        }

    def size_violation(
        self, request: CollectorRequest, maximum: int, actual: int, now_ms: int, expectation: str | None = None
    ) -> dict[str, Any]:
        failure = {
            "timestamp": iso_from_ms(now_ms),
            "maximumAllowedSizeBytes": maximum,
            "actualSizeBytes": actual,
            "expectation": expectation or f"a {request.method} payload of at most {maximum} bytes",
        }
        # Like Snowplow, keep a tenth of the limit: enough to find the sender, not the whole payload.
        # The query is cut to that tenth, the body to what is left of it after the head; each is
        # masked before it is cut, so that no address cut in two escapes the mask.
        keep = maximum // 10
        mask = self.ip_mask.mask_text
        query = mask(request.query_string[: keep + MASK_MARGIN])[:keep]
        head = f"{request.method} {mask(request.path)}?{query}\n"
        room = max(0, keep - len(head))
        body = mask(request.body[: room + MASK_MARGIN].decode("utf-8", "replace"))[:room]
        return self._row(SIZE_VIOLATION, failure, head + body)

    def oversized_record(self, data: bytes, maximum: int, sink: str, now_ms: int) -> dict[str, Any]:
        """A record (an enriched event, or a bad row) larger than the sink's message limit, cut as
        Snowplow's enrich cuts it: the first tenth of the limit, enough to find the sender."""
        failure = {
            "timestamp": iso_from_ms(now_ms),
            "maximumAllowedSizeBytes": maximum,
            "actualSizeBytes": len(data),
            "expectation": f"a record of at most {maximum} bytes, the {sink} sink's message limit",
        }
        return self._row(SIZE_VIOLATION, failure, data[: maximum // 10].decode("utf-8", "ignore"))

    def internal_error(self, request: CollectorRequest, error: Exception, now_ms: int) -> dict[str, Any]:
        """A request the pipeline failed on (a bug): kept whole, so it can be replayed once fixed."""
        mask = self.ip_mask.mask_text
        failure = {"timestamp": iso_from_ms(now_ms), "errors": [mask(f"{type(error).__name__}: {error}")]}
        payload = f"{request.method} {request.path}?{request.query_string}\n" + request.body.decode("utf-8", "replace")
        return self._row(GENERIC_ERROR, failure, mask(payload))


def adapter_version(request: CollectorRequest) -> str:
    return "tp2" if request.path.endswith("/tp2") else "tp1"


def _cap(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


def _flat_enriched(event: dict[str, Any], max_lengths: dict[str, int]) -> dict[str, Any]:
    """The partial event as the bad-row schema types it: JSON columns as text, flags as 0/1, decimals as
    text; a text longer than its atomic field is cut to it (its failure says how long it was)."""
    flat: dict[str, Any] = {}
    for name, value in event.items():
        if isinstance(value, str) and len(value) > max_lengths.get(name, len(value)):
            value = value[: max_lengths[name]]
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, dict):
            value = exact_json.dumps(value).decode()
        elif name in TEXT_INTEGERS and value is not None:
            value = str(value)
        flat[name] = value
    return flat
