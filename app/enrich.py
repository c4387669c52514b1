"""Raw tracker event + identity → canonical enriched event, with every failure collected.

The contract: docs/behaviour.md#events.

The enriched event is a dict keyed by canonical (atomic) field names. Timestamps are
ISO-8601 strings, `contexts` and `unstruct_event` are self-describing JSON objects.
A failing event still yields its partial enrichment: the bad row carries it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from app import exact_json, schemas
from app.atomic import ENRICH_LENGTH_LIMITS
from app.badrows import enrichment_error, from_enrichment
from app.clock import MAX_MS, MIN_MS, iso_from_ms
from app.cross_domain import parse_sp, sp_parameter
from app.decimals import NotBigDecimal, big_decimal
from app.failures import DataReport, Failure, FieldError, IgluError, Message, Result
from app.identity import Identity, canonical_ip, parse_ip
from app.ids import UUID, random_uuid
from app.iglu import Registry, SchemaKey, parse_self_describing
from app.privacy import IpMask
from app.protocol import RawEvent, decode_base64
from app.request import CollectorRequest
from app.schemas import CONTEXTS_OUT, SNOWPLOW
from app.text import clean
from app.uri import UnparsableUrl, Uri, parse_url

ATOMIC = SchemaKey.of(schemas.ATOMIC)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
PLATFORMS = frozenset({"web", "mob", "pc", "srv", "app", "tv", "cnsl", "iot", "headset"})
# \Z, not $: `$` also matches before a final newline, which would let "<uuid>\n" through into the output.
# Digit counts are capped so that int() never meets a huge number (and never raises for one).
INTEGER = re.compile(r"^[+-]?[0-9]{1,18}\Z")
DIMENSIONS = re.compile(r"^([0-9]{1,10})x([0-9]{1,10})\Z")
IP_SEPARATORS = re.compile(r"[,| ]")

# e → (event, event_vendor, event_name); the self-describing event (ue) names itself.
EVENT_TYPES: dict[str, tuple[str, str | None, str | None]] = {
    "pv": ("page_view", SNOWPLOW, "page_view"),
    "pp": ("page_ping", SNOWPLOW, "page_ping"),
    "se": ("struct", "com.google.analytics", "event"),
    "ev": ("struct", "com.google.analytics", "event"),
    "ue": ("unstruct", None, None),
    "tr": ("transaction", SNOWPLOW, "transaction"),
    "ti": ("transaction_item", SNOWPLOW, "transaction_item"),
}
ABSENT = object()  # the parameter was not sent


class ParseError(ValueError):
    """A parameter's value cannot become its field; the message says why."""


def to_int(value: str) -> int | None:
    if value.lower() == "null":
        return None
    if not INTEGER.match(value) or not INT_MIN <= int(value) <= INT_MAX:
        raise ParseError("not a 32-bit integer")
    return int(value)


def to_decimal(value: str) -> Decimal | None:
    if value.lower() == "null":
        return None
    try:
        return big_decimal(value)
    except NotBigDecimal as why:
        raise ParseError(str(why)) from None


def to_bool(value: str) -> bool:
    if value not in ("0", "1"):
        raise ParseError("not 0 or 1")
    return value == "1"


def to_uuid(value: str) -> str:
    if not UUID.match(value):
        raise ParseError("not a UUID")
    return value.lower()


def to_timestamp(value: str) -> str:
    if not INTEGER.match(value) or not MIN_MS <= int(value) <= MAX_MS:
        raise ParseError("not epoch milliseconds between years 1 and 9999")
    return iso_from_ms(int(value))


def to_platform(value: str) -> str:
    if value not in PLATFORMS:
        raise ParseError(f"not a platform code ({', '.join(sorted(PLATFORMS))})")
    return value


def to_event(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ParseError(f"not an event type ({', '.join(EVENT_TYPES)})")
    return EVENT_TYPES[value][0]


def first_ip_token(value: str) -> str:
    """The first of a `,`/`|`/space separated list; an address in canonical form, anything else made TSV-safe."""
    token = clean(IP_SEPARATORS.split(value.strip(), maxsplit=1)[0])
    address = parse_ip(token)
    return canonical_ip(address) if address is not None else token


# parameter → (field, conversion). Legacy aliases map to the same field.
SCALARS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "e": ("event", to_event),
    "p": ("platform", to_platform),
    "tv": ("v_tracker", clean),
    "aid": ("app_id", clean),
    "tna": ("name_tracker", clean),
    "uid": ("user_id", clean),
    "duid": ("domain_userid", clean),
    "nuid": ("network_userid", clean),
    "ip": ("user_ipaddress", first_ip_token),
    "sid": ("domain_sessionid", to_uuid),
    "vid": ("domain_sessionidx", to_int),
    "dtm": ("dvce_created_tstamp", to_timestamp),
    "stm": ("dvce_sent_tstamp", to_timestamp),
    "ttm": ("true_tstamp", to_timestamp),
    "tz": ("os_timezone", clean),
    "lang": ("br_lang", clean),
    "cs": ("doc_charset", clean),
    "cd": ("br_colordepth", clean),
    "cookie": ("br_cookies", to_bool),
    "url": ("page_url", clean),
    "page": ("page_title", clean),
    "refr": ("page_referrer", clean),
    "ua": ("useragent", clean),
    "fp": ("user_fingerprint", clean),
    "tid": ("txn_id", to_int),
    "cv": ("v_collector", clean),
    "f_pdf": ("br_features_pdf", to_bool),
    "f_fla": ("br_features_flash", to_bool),
    "f_java": ("br_features_java", to_bool),
    "f_dir": ("br_features_director", to_bool),
    "f_qt": ("br_features_quicktime", to_bool),
    "f_realp": ("br_features_realplayer", to_bool),
    "f_wma": ("br_features_windowsmedia", to_bool),
    "f_gears": ("br_features_gears", to_bool),
    "f_ag": ("br_features_silverlight", to_bool),
    "se_ca": ("se_category", clean),
    "se_ac": ("se_action", clean),
    "se_la": ("se_label", clean),
    "se_pr": ("se_property", clean),
    "se_va": ("se_value", to_decimal),
    "ev_ca": ("se_category", clean),
    "ev_ac": ("se_action", clean),
    "ev_la": ("se_label", clean),
    "ev_pr": ("se_property", clean),
    "ev_va": ("se_value", to_decimal),
    "tr_id": ("tr_orderid", clean),
    "tr_af": ("tr_affiliation", clean),
    "tr_tt": ("tr_total", to_decimal),
    "tr_tx": ("tr_tax", to_decimal),
    "tr_sh": ("tr_shipping", to_decimal),
    "tr_ci": ("tr_city", clean),
    "tr_st": ("tr_state", clean),
    "tr_co": ("tr_country", clean),
    "tr_cu": ("tr_currency", clean),
    "ti_id": ("ti_orderid", clean),
    "ti_sk": ("ti_sku", clean),
    "ti_nm": ("ti_name", clean),
    "ti_na": ("ti_name", clean),
    "ti_ca": ("ti_category", clean),
    "ti_pr": ("ti_price", to_decimal),
    "ti_qu": ("ti_quantity", to_int),
    "ti_cu": ("ti_currency", clean),
    "pp_mix": ("pp_xoffset_min", to_int),
    "pp_max": ("pp_xoffset_max", to_int),
    "pp_miy": ("pp_yoffset_min", to_int),
    "pp_may": ("pp_yoffset_max", to_int),
}
# `WxH` parameters fill two fields.
DIMENSION_PAIRS = {
    "res": ("dvce_screenwidth", "dvce_screenheight"),
    "vp": ("br_viewwidth", "br_viewheight"),
    "ds": ("doc_width", "doc_height"),
}
URL_PARTS = ("scheme", "host", "port", "path", "query", "fragment")
PAGE_URL_PARTS = tuple(f"page_url{part}" for part in URL_PARTS)
REFR_URL_PARTS = tuple(f"refr_url{part}" for part in URL_PARTS)


@dataclass(slots=True)
class Enriched:
    event: dict[str, Any]
    failures: list[Message] = field(default_factory=list)  # schema violations
    enrichment_failures: list[Failure] = field(default_factory=list)


class Enricher:
    def __init__(
        self,
        registry: Registry,
        v_collector: str,
        v_etl: str,
        ip_mask: IpMask,
        *,
        max_entities: int = 100,
        max_json_depth: int = 50,
        length_limits: Mapping[str, int] = ENRICH_LENGTH_LIMITS,
    ) -> None:
        self.registry = registry
        self.ip_mask = ip_mask
        self.max_entities = max_entities
        self.max_json_depth = max_json_depth
        atomic = registry.required_schema(ATOMIC)
        # The atomic schema's maxLength, overridden as Enrich's `atomicFieldsLimits` does.
        self.max_lengths: dict[str, int] = {
            **{name: spec["maxLength"] for name, spec in atomic["properties"].items() if "maxLength" in spec},
            **length_limits,
        }
        self.half_lengths = {name: limit // 2 for name, limit in self.max_lengths.items()}
        self.v_collector = v_collector
        self.v_etl = v_etl

    def enrich(self, params: RawEvent, identity: Identity, request: CollectorRequest, etl_ms: int) -> Enriched:
        event: dict[str, Any] = {
            "event_id": random_uuid(),
            "collector_tstamp": iso_from_ms(request.received_ms),
            "etl_tstamp": iso_from_ms(etl_ms),
            "v_collector": self.v_collector,
            "v_etl": self.v_etl,
        }
        if identity.network_userid:
            event["network_userid"] = identity.network_userid
        if identity.ip:
            event["user_ipaddress"] = identity.ip
        user_agent = request.headers.get("user-agent")
        if user_agent:
            event["useragent"] = clean(user_agent)
        referer = request.headers.get("referer")
        if referer:
            event["page_url"] = clean(referer)

        atomic_reports: list[DataReport] = []
        self._apply_parameters(params, event, atomic_reports)
        if "user_ipaddress" in event:  # the tracker's own `ip` is anonymised like the collector's
            event["user_ipaddress"] = self.ip_mask.mask(event["user_ipaddress"])
        if "event" not in event and not params.get("e"):  # an empty e is absent too, not a pass
            atomic_reports.append(_parse_error("e", "event", "missing: every event needs an event type"))
        _set_event_schema(params, event)
        enrichment_failures: list[Failure] = []
        self._add_url_parts(event, enrichment_failures)
        self._check_lengths(event, atomic_reports)

        failures: list[Message] = []
        if atomic_reports:
            failures.append(
                IgluError(schemaKey=ATOMIC.uri, error={"error": "ValidationError", "dataReports": atomic_reports})
            )
        self._add_contexts(params, event, failures)
        self._add_unstruct_event(params, event, failures)
        _set_derived_tstamp(params, event, request.received_ms)
        return Enriched(event, failures, enrichment_failures)

    def _apply_parameters(self, params: RawEvent, event: dict[str, Any], reports: list[DataReport]) -> None:
        for name, value in params.items():
            if not value:
                continue  # an empty value counts as absent
            scalar = SCALARS.get(name)
            if scalar is not None:
                target, convert = scalar
                try:
                    converted = convert(value)
                except ParseError as why:
                    reports.append(_parse_error(name, target, str(why)))
                    continue
                if converted == "":
                    continue  # nothing left once cleaned (`ip=,`, say): absent, like an empty value
                if converted is None:
                    event.pop(target, None)
                else:
                    event[target] = converted
            elif name in DIMENSION_PAIRS:
                match = DIMENSIONS.match(value)
                width, height = DIMENSION_PAIRS[name]
                if match is None or max(int(match[1]), int(match[2])) > INT_MAX:
                    reports.append(_parse_error(name, f"{width}/{height}", "not WIDTHxHEIGHT in whole pixels"))
                else:
                    event[width], event[height] = int(match[1]), int(match[2])
        eid = params.get("eid")
        if eid and UUID.match(eid):  # an invalid eid is replaced, not fatal (docs/behaviour.md#events)
            event["event_id"] = eid.lower()
        tnuid = params.get("tnuid")
        if tnuid:  # the tracker's explicit override beats nuid and the cookie
            event["network_userid"] = clean(tnuid)

    def _check_lengths(self, event: dict[str, Any], reports: list[DataReport]) -> None:
        # A value of at most half its limit in characters is within it in UTF-16 units too: only
        # longer ones (rare) are measured the way Enrich measures them.
        half = self.half_lengths
        long = [
            name for name, value in event.items() if isinstance(value, str) and len(value) > half.get(name, len(value))
        ]
        for name in long:
            value, limit = event[name], self.max_lengths[name]
            length = len(value) if value.isascii() else utf16_length(value)
            if length > limit:
                reports.append(
                    DataReport(
                        message=f"{name} is {length} characters long, longer than the maximum of {limit}",
                        path=name,
                        keyword="atomic_field_length_exceeded",
                        targets=None,
                    )
                )

    def _add_url_parts(self, event: dict[str, Any], failures: list[Failure]) -> None:
        """EnrichmentManager.getPageUri and getRefererUri: page_url becomes the URL as parsed, the referrer
        keeps its text; both give their parts; a URL that cannot be parsed is an enrichment failure."""
        page = _parse_url(event.get("page_url"), failures)
        if page is not None:
            event["page_url"] = page.text
            _set_url_parts(event, PAGE_URL_PARTS, page)
            _set_cross_domain(event, page, failures)
        referrer = _parse_url(event.get("page_referrer"), failures)
        if referrer is not None:
            _set_url_parts(event, REFR_URL_PARTS, referrer)

    def _json_param(self, params: RawEvent, base64_name: str, plain_name: str) -> Result[Any]:
        """The JSON value of `cx`/`co` or `ue_px`/`ue_pr` (base64 wins), ABSENT, or a Failure when it
        cannot be read. A JSON `null` is a value, not an absence: it fails validation like any other."""
        if params.get(base64_name):
            name, text = base64_name, decode_base64(params[base64_name]).decode("utf-8", "replace")
        elif params.get(plain_name):
            name, text = plain_name, params[plain_name]
        else:
            return ABSENT
        try:
            value = exact_json.loads(text)
        except orjson.JSONDecodeError as error:
            return Failure(FieldError(field=name, value=text, error=f"invalid JSON: {error}"))
        if exceeds_depth(text, value, self.max_json_depth):
            deeper = f"JSON nested deeper than {self.max_json_depth} levels"
            return Failure(FieldError(field=name, value=text[:1000], error=deeper))
        return value

    def _add_contexts(self, params: RawEvent, event: dict[str, Any], failures: list[Message]) -> None:
        value = self._json_param(params, "cx", "co")
        if value is ABSENT:
            return
        wrapper = (
            value if isinstance(value, Failure) else self.registry.check_self_describing(value, SNOWPLOW, "contexts")
        )
        if isinstance(wrapper, Failure):
            failures.append(wrapper.message)
            return
        entities = wrapper.data
        if len(entities) > self.max_entities:
            too_many = f"{len(entities)} entities, more than the limit of {self.max_entities}"
            failures.append(FieldError(field="contexts", value=None, error=too_many))
            return
        for entity in entities:
            parsed = parse_self_describing(entity)
            failure = parsed if isinstance(parsed, Failure) else self.registry.validate(parsed.key, parsed.data)
            if failure is not None:
                failures.append(failure.message)
        if entities:
            event["contexts"] = {"schema": CONTEXTS_OUT, "data": entities}

    def _add_unstruct_event(self, params: RawEvent, event: dict[str, Any], failures: list[Message]) -> None:
        value = self._json_param(params, "ue_px", "ue_pr")
        if value is ABSENT:
            if params.get("e") == "ue":
                needed = "e=ue needs a self-describing event in ue_px or ue_pr"
                failures.append(FieldError(field="ue_pr", value=None, error=needed))
            return
        wrapper = (
            value
            if isinstance(value, Failure)
            else self.registry.check_self_describing(value, SNOWPLOW, "unstruct_event")
        )
        if isinstance(wrapper, Failure):
            failures.append(wrapper.message)
            return
        inner = parse_self_describing(wrapper.data)
        if isinstance(inner, Failure):
            failures.append(inner.message)
            return
        failure = self.registry.validate(inner.key, inner.data)
        if failure is not None:
            failures.append(failure.message)
            return
        key = inner.key
        event["unstruct_event"] = value
        if event.get("event") == "unstruct":
            event.update(
                event_vendor=key.vendor, event_name=key.name, event_format=key.format, event_version=key.version
            )


def utf16_length(value: str) -> int:
    """The length Enrich checks (Java's String.length): UTF-16 code units, two for a character beyond U+FFFF."""
    return len(value.encode("utf-16-le")) // 2


def _parse_url(text: str | None, failures: list[Failure]) -> Uri | None:
    if text is None:
        return None
    try:
        return parse_url(text)
    except UnparsableUrl as why:
        failures.append(from_enrichment(enrichment_error(str(why)), None))
        return None


def _set_url_parts(event: dict[str, Any], names: tuple[str, ...], uri: Uri) -> None:
    """ConversionUtils.explodeUri: raw components, a port always (80 unless https or given)."""
    _, scheme, host, port, path, query, fragment = uri
    scheme_name, host_name, port_name, path_name, query_name, fragment_name = names
    if scheme:
        event[scheme_name] = scheme
    if host:
        event[host_name] = host
    event[port_name] = port if port != -1 else 443 if scheme == "https" else 80
    if path:
        event[path_name] = path
    if query:
        event[query_name] = query
    if fragment:
        event[fragment_name] = fragment


def _set_cross_domain(event: dict[str, Any], page: Uri, failures: list[Failure]) -> None:
    """EnrichmentManager.getCrossDomain: `_sp` of the page URL fills two atomic fields, with or without
    the cross_navigation enrichment."""
    sp = sp_parameter(page.query) if page.query and "_sp" in page.query else None
    if sp is None:
        return
    parsed = parse_sp(sp)
    if isinstance(parsed, Failure):
        failures.append(from_enrichment(parsed, None))
        return
    if parsed.domain_userid is not None:
        event["refr_domain_userid"] = parsed.domain_userid
    if parsed.timestamp is not None:
        event["refr_dvce_tstamp"] = parsed.timestamp


def _set_event_schema(params: RawEvent, event: dict[str, Any]) -> None:
    code = EVENT_TYPES.get(params.get("e", ""))
    if code is not None and code[1] is not None:
        event.update(event_vendor=code[1], event_name=code[2], event_format="jsonschema", event_version="1-0-0")


def exceeds_depth(text: str, value: Any, limit: int) -> bool:
    """Whether JSON nests deeper than `limit`. Counting brackets in the text first keeps the
    walk off the hot path: fewer brackets than the limit cannot nest past it."""
    if text.count("{") + text.count("[") <= limit:
        return False
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:
        node, depth = level.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        level.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _parse_error(param: str, target: str, why: str) -> DataReport:
    message = f"cannot convert parameter {param} to {target}: {why}"
    return DataReport(message=message, path=target, keyword="atomic_field_parse_error", targets=None)


def _set_derived_tstamp(params: RawEvent, event: dict[str, Any], collector_ms: int) -> None:
    """Snowplow's rule: the true time if sent, else collector time corrected by the device's clock skew."""
    if "true_tstamp" in event:
        event["derived_tstamp"] = event["true_tstamp"]
        return
    derived_ms = collector_ms
    if "dvce_created_tstamp" in event and "dvce_sent_tstamp" in event:
        created, sent = int(params["dtm"]), int(params["stm"])
        if created < sent:
            derived_ms = max(MIN_MS, collector_ms - (sent - created))
    event["derived_tstamp"] = iso_from_ms(derived_ms)
