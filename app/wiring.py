"""Settings → stages: each stage gets only the values it needs, as a small frozen object or plain
arguments, and values several stages share (the IP mask, `v_collector`) are computed here once."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, Protocol, TypeVar

from app import __version__, schemas
from app.badrows import BadRows
from app.config import Settings
from app.enrich import Enricher
from app.identity import IdentityPolicy, IdentitySettings
from app.iglu import MissingSchemas, Registry, SchemaKey
from app.pipeline import Output, Pipeline
from app.privacy import IpMask
from app.protocol import Protocol as ProtocolStage


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


def check_schemas(registry: Registry) -> None:
    """Every schema the code reads is there (one message naming all that are not); the ones events
    are validated against are compiled now rather than on the first event."""
    missing = [uri for uri in schemas.READ if registry.schema(SchemaKey.of(uri)) is None]
    if missing:
        raise MissingSchemas(registry.root, missing)
    for uri in schemas.VALIDATED:
        registry.validator(SchemaKey.of(uri))


def build_pipeline(settings: Settings, registry: Registry, sink_name: str) -> Pipeline:
    ip_mask = IpMask(settings.ip_anonymise_octets, settings.ip_anonymise_ipv6_groups)
    v_collector = f"{settings.name}-{__version__}-{sink_name}"
    return Pipeline(
        IdentityPolicy(settings_view(IdentitySettings, settings), ip_mask),
        ProtocolStage(registry, settings.max_events_per_request),
        Enricher(
            registry,
            v_collector,
            f"{settings.name}-{__version__}",
            ip_mask,
            max_entities=settings.max_entities_per_event,
            max_json_depth=settings.max_json_depth,
        ),
        BadRows(settings.name, v_collector, ip_mask, settings.client_ip_header),
        settings_view(Output, settings),
        registry.may_block,
    )
