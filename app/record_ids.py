"""Record ids for broker de-duplication (NATS `Nats-Msg-Id`): one id per record, not per request.

A tracker's retry resends the same events from the same client; a new send differs in the
events or in the client. So a record's id digests who sent it (stored IP, user agent, cookies)
and what it holds (an event's parameters, or the payload of a bad row), leaving out `stm`, the
one parameter a tracker rewrites when it retries. Identical records within one request are told
apart by their occurrence number, which a retry of the same request repeats. What stays the
same is a natural duplicate, stored once; distinct events that reuse one `eid` all keep theirs.

The contract: docs/behaviour.md#sinks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter

import orjson

from app.protocol import RawEvent
from app.request import CollectorRequest

RETRY_VARIES = frozenset({"stm"})  # the sent timestamp is set again on every attempt


class RecordIds:
    """The ids of one request's records, in the order they are made."""

    def __init__(self, request: CollectorRequest, stored_ip: str | None) -> None:
        # The stored (masked) IP only: the id travels with the record, and must give away nothing
        # a brute force over addresses could find.
        headers = request.headers
        client = "\n".join((stored_ip or "", headers.get("user-agent", ""), headers.get("cookie", ""), ""))
        self._client = hashlib.blake2b(client.encode(), digest_size=16)
        self._request = request
        self._seen: Counter[bytes] = Counter()

    def for_event(self, params: RawEvent) -> str:
        content = {name: value for name, value in params.items() if name not in RETRY_VARIES}
        return self._id(b"event\n" + orjson.dumps(content, option=orjson.OPT_SORT_KEYS))

    def for_payload(self, part: str | None = None) -> str:
        """A bad row about the whole payload, or about one `part` of it (a malformed event's body)."""
        request = self._request
        whole = f"{request.method} {request.path}?{request.query_string}\n".encode() + request.body
        return self._id(b"payload\n" + (whole if part is None else part.encode()))

    def _id(self, content: bytes) -> str:
        record = self._client.copy()
        record.update(content)
        key = record.digest()
        self._seen[key] += 1
        record.update(b"\n%d" % self._seen[key])  # the occurrence number within the request
        return record.hexdigest()


class UnusedIds(RecordIds):
    """For sinks that de-duplicate nothing by record id (all but NATS): no digest to pay for. A
    bad row still gets a random id, which also spreads anonymous bad rows over partitions."""

    def __init__(self, request: CollectorRequest, stored_ip: str | None) -> None:
        pass

    def for_event(self, params: RawEvent) -> str:
        return ""

    def for_payload(self, part: str | None = None) -> str:
        return uuid.uuid4().hex
