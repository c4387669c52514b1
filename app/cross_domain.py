"""Cross-domain navigation: the `_sp` parameter that trackers add to links to another domain.

`_sp=<domain_userid>.<epoch ms>[.<session id>.<user id>.<source id>.<source platform>.<reason>]`,
the last three of user id, source id and reason in URL-safe base64. Enrich reads it from the page
URL's query string into `refr_domain_userid` and `refr_dvce_tstamp` whatever its configuration
(snowplow/enrich CrossNavigationEnrichment.parseCrossDomain / CrossDomainMap.makeCrossDomainMap);
the cross_navigation enrichment uses every part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from app.badrows import input_data
from app.clock import MAX_MS, MIN_MS, iso_from_ms
from app.failures import Failure, Result
from app.protocol import decode_base64
from app.text import clean

PARTS = 7
# Java's Long.parseLong: an optional sign and decimal digits (any script's, as Character.digit allows).
SEPARATORS = re.compile("[&;]")
LONG = re.compile(r"[+-]?\d+\Z")
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class CrossDomain:
    domain_userid: str | None = None
    timestamp_ms: int | None = None
    session_id: str | None = None
    user_id: str | None = None
    source_id: str | None = None
    source_platform: str | None = None
    reason: str | None = None

    @property
    def timestamp(self) -> str | None:
        """ISO-8601, as the enriched event holds timestamps."""
        return None if self.timestamp_ms is None else iso_from_ms(self.timestamp_ms)


NOTHING = CrossDomain()


def sp_parameter(query: str) -> str | None:
    """The last `_sp` of a raw query string, form-decoded; `&` and `;` both separate parameters, as in
    Apache's URLEncodedUtils.parse, which Enrich uses (ConversionUtils.extractQuerystring)."""
    found = None
    for pair in SEPARATORS.split(query):
        name, _, value = pair.partition("=")
        if unquote_plus(name) == "_sp":
            found = unquote_plus(value)
    return found


def parse_sp(value: str) -> Result[CrossDomain]:
    """The parts of one `_sp` value; a timestamp that is not epoch milliseconds is a failure, as in Enrich.
    More than seven parts is no cross-domain link at all (Enrich keeps none of them)."""
    parts = value.split(".")
    if not value or len(parts) > PARTS:
        return NOTHING
    parts += [""] * (PARTS - len(parts))
    duid, tstamp, session_id, user_id, source_id, source_platform, reason = parts
    timestamp_ms = None
    if tstamp:
        parsed = _epoch_ms(tstamp)
        if isinstance(parsed, Failure):
            return parsed
        timestamp_ms = parsed
    return CrossDomain(
        domain_userid=clean(duid) or None,
        timestamp_ms=timestamp_ms,
        session_id=session_id if session_id.strip() else None,
        user_id=_base64_text(user_id),
        source_id=_base64_text(source_id),
        source_platform=source_platform if source_platform.strip() else None,
        reason=_base64_text(reason),
    )


def _epoch_ms(text: str) -> Result[int]:
    """Enrich's EventEnrichments.extractTimestamp("sp_dtm", ...): a Java long, shown between years 0 and 9999.
    Years before 1 are refused here too: the enriched event cannot hold them."""
    if not LONG.match(text) or not LONG_MIN <= int(text) <= LONG_MAX:
        return input_data("sp_dtm", text, "not in the expected format: ms since epoch")
    ms = int(text)
    if not MIN_MS <= ms <= MAX_MS:
        return input_data("sp_dtm", text, f"formatting {ms} ms since epoch is not Redshift-compatible")
    return ms


def _base64_text(part: str) -> str | None:
    text = decode_base64(part).decode("utf-8", "replace") if part else ""
    return text if text.strip() else None
