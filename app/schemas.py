"""Every Iglu schema the code relies on, by URI, with Snowplow's vendor written once.

The code reads the schemas in `READ`: it builds stages from some (atomic, payload_data) and
validates tracker data against the rest. The wiring checks once at start-up that the registry
has each of them, so a schemas folder that lacks one stops the service with a message naming it
instead of turning every event into a bad row. Bad rows are written against `BADROWS_*`; those
are never read here (the tests validate against them).
"""

from __future__ import annotations

SNOWPLOW = "com.snowplowanalytics.snowplow"
BADROWS_VENDOR = f"{SNOWPLOW}.badrows"


def uri(name: str, version: str, vendor: str = SNOWPLOW) -> str:
    return f"iglu:{vendor}/{name}/jsonschema/{version}"


ATOMIC = uri("atomic", "1-0-0")  # the enriched event's fields and their maximum lengths
PAYLOAD_DATA_VERSIONS = ("1-0-0", "1-0-1", "1-0-2", "1-0-3", "1-0-4")
PAYLOAD_DATA = tuple(uri("payload_data", version) for version in PAYLOAD_DATA_VERSIONS)
PAYLOAD_DATA_CRITERION = uri("payload_data", "1-0-*")
CONTEXTS_IN = (uri("contexts", "1-0-0"), uri("contexts", "1-0-1"))  # what trackers send
CONTEXTS_OUT = uri("contexts", "1-0-1")  # the wrapper of an enriched event's entities
UNSTRUCT_EVENT = uri("unstruct_event", "1-0-0")
URI_REDIRECT = uri("uri_redirect", "1-0-0")  # the click recorded by /r/tp2
CLIENT_SESSION = tuple(uri("client_session", version) for version in ("1-0-0", "1-0-1", "1-0-2"))
WEB_PAGE = uri("web_page", "1-0-0")  # not special to the code, but on nearly every web event

TRACKER_PROTOCOL_VIOLATIONS = uri("tracker_protocol_violations", "1-0-1", BADROWS_VENDOR)
SCHEMA_VIOLATIONS = uri("schema_violations", "2-0-1", BADROWS_VENDOR)
SIZE_VIOLATION = uri("size_violation", "1-0-0", BADROWS_VENDOR)
GENERIC_ERROR = uri("generic_error", "1-0-0", BADROWS_VENDOR)

# Checked at start-up; the ones validated against are compiled then too, not on the first event.
READ = (ATOMIC, *PAYLOAD_DATA, *CONTEXTS_IN, UNSTRUCT_EVENT, URI_REDIRECT, *CLIENT_SESSION, WEB_PAGE)
VALIDATED = (*CONTEXTS_IN, UNSTRUCT_EVENT, URI_REDIRECT, *CLIENT_SESSION, WEB_PAGE)
