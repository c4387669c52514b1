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
ENRICHMENT_FAILURES = uri("enrichment_failures", "2-0-0", BADROWS_VENDOR)

# The enrichments (docs/behaviour.md#enrichments): their configuration files, each at the first
# version of the model this service reads (`ip_lookups` 2-*-*), in the order they run.
ENRICHMENTS_VENDOR = f"{SNOWPLOW}.enrichments"
ENRICHMENT_CONFIG_VENDORS = frozenset({SNOWPLOW, ENRICHMENTS_VENDOR})
ENRICHMENT_CONFIGS = {
    "ip_lookups": uri("ip_lookups", "2-0-0"),
    "asn_lookups": uri("asn_lookups", "1-0-0", ENRICHMENTS_VENDOR),
    "anon_ip": uri("anon_ip", "1-0-0"),
    "ua_parser_config": uri("ua_parser_config", "1-0-0"),
    "referer_parser": uri("referer_parser", "2-0-0"),
    "campaign_attribution": uri("campaign_attribution", "1-0-0"),
    "cross_navigation_config": uri("cross_navigation_config", "1-0-0", ENRICHMENTS_VENDOR),
    "cookie_extractor_config": uri("cookie_extractor_config", "1-0-0"),
    "http_header_extractor_config": uri("http_header_extractor_config", "1-0-0", ENRICHMENTS_VENDOR),
    "event_fingerprint_config": uri("event_fingerprint_config", "1-0-0"),
    "iab_spiders_and_robots_enrichment": uri("iab_spiders_and_robots_enrichment", "1-0-0", ENRICHMENTS_VENDOR),
    "bot_detection_enrichment_config": uri("bot_detection_enrichment_config", "1-0-0", ENRICHMENTS_VENDOR),
    "pii_enrichment_config": uri("pii_enrichment_config", "2-0-0", ENRICHMENTS_VENDOR),
}
# The entities they derive.
UA_PARSER_CONTEXT = uri("ua_parser_context", "1-0-0")
ASN = uri("asn", "1-0-0")
ASN_LIKELY_BOT = uri("asn", "1-0-1")  # asn_lookups adds `likelyBot`
CROSS_NAVIGATION = uri("cross_navigation", "1-0-0")
BOT_DETECTION = uri("bot_detection", "1-0-1")
SPIDERS_AND_ROBOTS = uri("spiders_and_robots", "1-0-0", "com.iab.snowplow")
HTTP_COOKIE = uri("http_cookie", "1-0-0", "org.ietf")
HTTP_HEADER = uri("http_header", "1-0-0", "org.ietf")


def any_version(schema: str) -> str:
    """The URI up to its version (`iglu:vendor/name/`): what an entity of any version starts with."""
    return schema[: schema.rindex("/", 0, schema.rindex("/")) + 1]


CLIENT_SIDE_BOT_DETECTION = uri("client_side_bot_detection", "1-0-0")  # sent by trackers; bot detection reads it

# Checked at start-up; the ones validated against are compiled then too, not on the first event.
READ = (ATOMIC, *PAYLOAD_DATA, *CONTEXTS_IN, UNSTRUCT_EVENT, URI_REDIRECT, *CLIENT_SESSION, WEB_PAGE)
VALIDATED = (*CONTEXTS_IN, UNSTRUCT_EVENT, URI_REDIRECT, *CLIENT_SESSION, WEB_PAGE)
# Checked too when enrichments are configured: their configs are validated, what they derive is written.
ENRICHMENTS_READ = (
    *ENRICHMENT_CONFIGS.values(),
    UA_PARSER_CONTEXT,
    ASN,
    ASN_LIKELY_BOT,
    CROSS_NAVIGATION,
    BOT_DETECTION,
    SPIDERS_AND_ROBOTS,
    HTTP_COOKIE,
    HTTP_HEADER,
)
