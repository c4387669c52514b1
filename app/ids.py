"""The one UUID pattern: the canonical 8-4-4-4-12 hex form, either case (event ids, session ids,
the collector cookie, the Iglu `uuid` format). `\\Z`, not `$`, so a trailing newline never passes."""

import re

import uuid_utils

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
UUID = re.compile(UUID_PATTERN)


def random_uuid() -> str:
    """A version-4 UUID from the OS's secure random source, in the canonical lower-case form."""
    return str(uuid_utils.uuid4())
