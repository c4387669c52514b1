"""Random ids: event ids and new visitors' cookies are version-4 UUIDs, canonical, never repeated."""

from __future__ import annotations

import uuid

from app.ids import UUID, random_uuid


def test_random_uuids_are_canonical_version_4_and_distinct():
    ids = [random_uuid() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:500]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text  # lower case, 8-4-4-4-12
        assert UUID.match(text)
