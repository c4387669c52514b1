"""Settings → stages and sinks: each gets only the values it needs, as a small frozen object or
plain arguments, and values several stages share (the IP mask, `v_collector`) are computed here
once. Sinks are chosen by name from a table; each sink module owns the settings it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, ClassVar, Protocol, TypeVar

from app import __version__, schemas
from app.badrows import BadRows
from app.config import EXTRAS, Settings, invalid_configuration, missing_extra
from app.connection import RESERVED_DESCRIPTORS, ConnectionLimits, raise_descriptor_limit
from app.enrich import Enricher, first_ip_token
from app.enrichments import EnrichmentSettings, build_enrichments
from app.identity import IdentityPolicy, IdentitySettings
from app.iglu import MissingSchemas, Registry, SchemaKey
from app.iglu_remote import RemoteRepository
from app.pipeline import Output, Pipeline, RecordLimit, SinkLimits, unlimited
from app.privacy import IpMask
from app.protocol import Protocol as ProtocolStage
from app.record_ids import RecordIds, UnusedIds
from app.sinks import file, http, memory, stdout
from app.sinks.base import Sink
from app.sinks.fault import FaultSwitch
from app.sinks.spool import Report as SpoolReport
from app.sinks.spool import Spool


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


View = TypeVar("View", bound=_Dataclass)


def settings_view(view: type[View], settings: Settings) -> View:
    """The frozen dataclass `view`, filled from the Settings fields of the same names (lists as tuples)."""
    values: dict[str, Any] = {}
    for spec in fields(view):
        value = getattr(settings, spec.name)
        values[spec.name] = tuple(value) if isinstance(value, list) else value
    return view(**values)


def check_schemas(registry: Registry, *, enrichments: bool = False) -> None:
    """Every schema the code reads is there (one message naming all that are not), with those of the
    enrichments when they are configured; the ones events are validated against are compiled now
    rather than on the first event."""
    read = schemas.READ + (schemas.ENRICHMENTS_READ if enrichments else ())
    missing = [uri for uri in read if registry.schema(SchemaKey.of(uri)) is None]
    if missing:
        raise MissingSchemas(registry.root, missing)
    for uri in schemas.VALIDATED:
        registry.validator(SchemaKey.of(uri))


def build_pipeline(
    settings: Settings,
    registry: Registry,
    sink_name: str,
    good_limit: RecordLimit = unlimited,
    bad_limit: RecordLimit = unlimited,
) -> Pipeline:
    """The stages; `good_limit`/`bad_limit` are the sinks' `max_record_bytes` (asked per request)."""
    ip_mask = IpMask(settings.ip_anonymise_octets, settings.ip_anonymise_ipv6_groups)
    v_collector = f"{settings.name}-{__version__}-{sink_name}"
    identity = IdentityPolicy(settings_view(IdentitySettings, settings), ip_mask)
    enricher = Enricher(
        registry,
        v_collector,
        f"{settings.name}-{__version__}",
        ip_mask,
        max_entities=settings.max_entities_per_event,
        max_json_depth=settings.max_json_depth,
        length_limits=settings.atomic_fields_limits,
    )
    return Pipeline(
        identity,
        ProtocolStage(registry, settings.max_events_per_request),
        enricher,
        BadRows(settings.name, v_collector, ip_mask, settings.client_ip_header, enricher.max_lengths),
        settings_view(Output, settings),
        registry,
        SinkLimits(sink_name, good_limit, bad_limit),
        RecordIds if settings.sink in DEDUPLICATING_SINKS else UnusedIds,
        observe=settings.micro_events > 0,
        enrichments=build_enrichments(
            settings_view(EnrichmentSettings, settings),
            registry,
            identity.client_ip,
            first_ip_token,
            enricher.max_lengths,
        ),
    )


def build_registry(settings: Settings) -> Registry:
    remotes = [
        RemoteRepository(remote.name, remote.url, remote.kind, remote.api_key, settings.iglu_timeout_seconds)
        for remote in settings.iglu_registries
    ]
    return Registry(
        settings.schemas_dir,
        remotes,
        cache_size=settings.iglu_cache_size,
        ttl_s=settings.iglu_cache_ttl_seconds,
        negative_ttl_s=settings.iglu_negative_ttl_seconds,
        deadline_s=settings.iglu_timeout_seconds,
    )


def connection_limits(settings: Settings) -> ConnectionLimits:
    """What each connection may send and how slowly; the cap on connections never passes the open-file
    limit (raised to its hard limit here), less descriptors kept for files, sinks and other sockets."""
    descriptors = raise_descriptor_limit()
    return ConnectionLimits(
        settings.max_request_line_bytes,
        settings.max_header_bytes,
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
        min(settings.max_connections, max(1, descriptors - RESERVED_DESCRIPTORS)),
    )


SinkBuilder = Callable[[Settings, str], Sink]  # (settings, "good" or "bad") → the sink of that output


def _file(settings: Settings, output: str) -> Sink:
    return file.build(settings_view(file.FileSettings, settings), output)


def _stdout(settings: Settings, output: str) -> Sink:
    return stdout.build(settings_view(stdout.StdoutSettings, settings), output)


def _http(settings: Settings, output: str) -> Sink:
    return http.build(settings_view(http.HttpSettings, settings), output)


def _without_extra(sink: str, error: ImportError) -> None:
    """A sink whose client library is not installed stops start-up with check-config's one line
    naming the extra, not a traceback; any other import error is left to rise as it is."""
    if (error.name or "").split(".")[0] == EXTRAS[sink]:
        raise invalid_configuration([missing_extra(sink)]) from None


def _memory(settings: Settings, output: str) -> Sink:
    return memory.build(settings_view(memory.MemorySettings, settings), output)


def _nats(settings: Settings, output: str) -> Sink:
    try:
        from app.sinks import nats  # optional dependency (the nats extra): imported only when chosen
    except ImportError as error:
        _without_extra("nats", error)
        raise
    return nats.build(settings_view(nats.NatsSettings, settings), output)


def _kafka(settings: Settings, output: str) -> Sink:
    try:
        from app.sinks import kafka  # optional dependency (the kafka extra): imported only when chosen
    except ImportError as error:
        _without_extra("kafka", error)
        raise
    return kafka.build(settings_view(kafka.KafkaSettings, settings), output)


SINKS: dict[str, SinkBuilder] = {
    "file": _file,
    "stdout": _stdout,
    "memory": _memory,
    "http": _http,
    "nats": _nats,
    "kafka": _kafka,
}
REMOTE_SINKS = frozenset({"http", "nats", "kafka"})  # across a network: a spool can stand in while it is down
DEDUPLICATING_SINKS = frozenset({"nats"})  # drop a record whose id they have seen (JetStream's Nats-Msg-Id)


def build_sink(settings: Settings, output: str) -> Sink:
    """The configured sink for one output ("good" or "bad"), without spool or fault switch."""
    return SINKS[settings.sink](settings, output)


def build_sinks(settings: Settings, report: SpoolReport | None = None) -> tuple[Sink, Sink]:
    """The good and the bad output, each its own sink of the configured kind; `report` receives
    the spool's figures once a second."""
    sinks = [build_sink(settings, output) for output in ("good", "bad")]
    if settings.spool_dir is not None and settings.sink in REMOTE_SINKS:
        sinks = [
            Spool(sink, settings.spool_dir / output, settings.spool_max_bytes, report)
            for sink, output in zip(sinks, ("good", "bad"), strict=True)
        ]
    if settings.fault_switch is not None:
        sinks = [FaultSwitch(sink, settings.fault_switch) for sink in sinks]
    return sinks[0], sinks[1]
