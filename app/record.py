"""A record: one output line with its ids, what the pipeline hands to delivery."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    data: bytes  # one output line, without its newline
    id: str  # de-duplication id: a digest of sender and content (app/record_ids.py); empty if unused
    key: str  # partition key: keeps one user's events in order on one partition
