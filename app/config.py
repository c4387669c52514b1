"""Settings: one object, built once at start-up, from environment variables over a config file.

Every setting is flat so that it maps to exactly one environment variable,
`COLLECTOR_<NAME>`; lists are given as JSON (`COLLECTOR_COOKIE_DOMAINS='["acme.com"]'`).
The config file (`COLLECTOR_CONFIG` or `--config`) is TOML with the same names in lower case.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.atomic import ENRICH_LENGTH_LIMITS
from app.atomic import FIELDS as ATOMIC_FIELDS
from app.request import STANDARD_ROUTES, TP2_PATH

PACKAGE = Path(__file__).resolve().parent
# Installed, the schemas ship inside the package (pyproject.toml); in the repository they are a
# top-level folder.
SHIPPED_SCHEMAS = PACKAGE / "iglu_schemas" if (PACKAGE / "iglu_schemas").is_dir() else PACKAGE.parent / "schemas"

DOMAIN = re.compile(r"^[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\Z")
HOST_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?\Z")  # underscores: container names
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
NATS_SCHEMES = ("nats", "tls", "ws", "wss")
# A cookie's Expires is an HTTP date: its year has four digits.
LAST_COOKIE_DATE = datetime(9999, 12, 31, tzinfo=UTC)
EXTRAS = {"nats": "nats", "kafka": "confluent_kafka"}  # sink → the module its extra installs
PRIVATE_AND_LOOPBACK = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
]


class RemoteRegistry(BaseModel):
    """One entry of `iglu_registries`."""

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    kind: Literal["static", "server"] = "static"
    api_key: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COLLECTOR_", extra="forbid", frozen=True)

    # Server
    host: str = Field("0.0.0.0", description="address to listen on")
    port: int = Field(8080, ge=1, le=65535, description="port to listen on")
    workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 64),
        ge=1,
        le=64,
        description="worker processes (default: one per core)",
    )
    config: Path | None = Field(None, description="TOML config file (environment variables win)")
    drain_seconds: float = Field(
        10.0, ge=0, description="on SIGTERM: keep serving (not ready) this long before stopping"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="least severe log level written"
    )

    # Output
    sink: Literal["file", "stdout", "http", "nats", "kafka", "memory"] = Field(
        "file", description="where good and bad records go (memory: only the Micro store, see micro_events)"
    )
    output_format: Literal["json", "tsv"] = Field(
        "json", description="enriched events as JSON lines or the 131-field TSV"
    )
    partition_key: Literal["network_userid", "event_id", "user_ipaddress", "domain_userid", "app_id"] = Field(
        "network_userid", description="broker sinks: field used as the record key (event id when empty)"
    )
    data_dir: Path = Field(Path("data"), description="file sink: good/ and bad/ go under it")
    file_rotate_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="rotate a file past this size")
    file_rotate_seconds: float = Field(3600.0, gt=0, description="rotate a file older than this")
    fault_switch: Path | None = Field(
        None, description="for fault drills only: a file whose content (fail/stall) breaks writes"
    )
    sink_timeout_seconds: float = Field(
        5.0, gt=0, description="broker and http sinks: longest wait for an acknowledgement"
    )
    nats_url: str = Field("nats://127.0.0.1:4222", description="nats sink: server URL(s), comma-separated")
    nats_good_subject: str = Field("snowplow.good", description="nats sink: subject for enriched events")
    nats_bad_subject: str = Field("snowplow.bad", description="nats sink: subject for bad rows")
    nats_stream: str | None = Field(
        None, description="nats sink: create this JetStream stream over both subjects at start (none: it must exist)"
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="kafka sink: bootstrap servers")
    kafka_good_topic: str = Field("snowplow-good", description="kafka sink: topic for enriched events")
    kafka_bad_topic: str = Field("snowplow-bad", description="kafka sink: topic for bad rows")
    kafka_producer_settings: dict[str, str] = Field(
        default_factory=dict,
        description='kafka sink: extra librdkafka settings, e.g. {"security.protocol": "SASL_SSL"}',
    )
    http_good_url: str | None = Field(None, description="http sink: URL that receives batches of enriched events")
    http_bad_url: str | None = Field(None, description="http sink: URL that receives batches of bad rows")
    http_attempts: int = Field(3, ge=1, description="http sink: tries per batch before it fails")
    http_backoff_seconds: float = Field(
        0.2, ge=0, description="http sink: wait before the first retry, doubled each time"
    )
    http_batch_deadline_seconds: float = Field(
        10.0, gt=0, description="http sink: longest one batch may take, every attempt and wait included"
    )
    spool_dir: Path | None = Field(
        None, description="remote sinks: keep batches here while the sink is down (off when unset)"
    )
    spool_max_bytes: int = Field(1024**3, ge=1024, description="spool bound; past it the service answers 503")
    iglu_registries: list[RemoteRegistry] = Field(
        default_factory=list,
        description='remote registries after schemas_dir, in priority order: [{"name": "...", "url": "https://...", "kind": "static"|"server", "api_key": "..."}]',
    )
    iglu_timeout_seconds: float = Field(2.0, gt=0, description="longest wait for one remote registry lookup")
    iglu_cache_size: int = Field(1000, ge=1, description="remote schemas (and misses) kept in memory")
    iglu_cache_ttl_seconds: float = Field(
        600.0, ge=0, description="how long a remote schema is kept before it is asked again"
    )
    iglu_negative_ttl_seconds: float = Field(
        30.0, ge=0, description="how long a miss or a registry failure is remembered"
    )
    schemas_dir: Path = Field(SHIPPED_SCHEMAS, description="local Iglu registry")

    # Snowplow Micro API and inspector (app/micro/): off unless micro_events is set
    micro_events: int = Field(0, ge=0, description="keep the last N events in memory for /micro/* (0: off)")
    micro_port: int | None = Field(
        None, ge=1, le=65535, description="serve /micro/* on this separate port, not the tracking port"
    )
    micro_token: str | None = Field(
        None, min_length=16, description="serve /micro/* only to requests with Authorization: Bearer <token>"
    )
    micro_on_tracking_port: bool = Field(
        False, description="serve /micro/* on the tracking port with no token (what `python -m app micro` does)"
    )

    # Group commit and back-pressure
    batch_max_records: int = Field(1000, ge=1, description="close a batch at this many records")
    batch_max_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="close a batch at this size")
    batch_max_wait_ms: float = Field(
        0.0,
        ge=0,
        description="longest a record waits for its batch to fill; 0: until the event loop has no more ready work",
    )
    inflight_max_records: int = Field(100_000, ge=1, description="past this many unstored records: 503")
    inflight_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="past this many unstored bytes: 503")
    retry_after_seconds: int = Field(5, ge=1, description="Retry-After sent with a 503")

    # Sizes
    max_payload_bytes: int = Field(1024 * 1024, ge=1, description="above it: a size_violation bad row")
    drop_payload_bytes: int = Field(2 * 1024 * 1024, ge=1, description="above it: 413, nothing recorded")
    max_bad_bytes_per_request: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        description="bad rows one request may write; past it they become one size_violation",
    )
    max_gzip_members: int = Field(
        64, ge=1, description="a gzip body of more members (one is usual): 400, nothing recorded"
    )

    # Routes and CORS
    custom_paths: dict[str, str] = Field(
        default_factory=dict,
        description=f'extra paths served as a standard route, e.g. {{"/acme/t": "{TP2_PATH}"}}',
    )
    redirect_enabled: bool = Field(False, description="serve redirect tracking on /r/tp2")
    redirect_domains: list[str] = Field(default_factory=list, description="hosts /r/tp2 may redirect to (exact match)")
    cors_allowed_origins: list[str] = Field(
        default_factory=list, description="origins echoed in CORS headers; empty: any"
    )
    cors_extra_headers: list[str] = Field(
        default_factory=list, description="request headers allowed by preflight besides Content-Type, SP-Anonymous"
    )

    # Limits on what one request may hold
    max_request_line_bytes: int = Field(
        20480, ge=256, description="longer path and query string: 414, nothing recorded"
    )
    max_header_bytes: int = Field(40960, ge=1024, description="larger request headers: 431, nothing recorded")

    # Connections: LB-like timeouts (see the README's Limits section for why these values)
    idle_timeout_seconds: int = Field(
        65, ge=1, description="close a keep-alive connection idle this long (longer than a LB's 60 s)"
    )
    header_timeout_seconds: float = Field(
        60.0, gt=0, description="a request head not complete this long after it began: connection closed"
    )
    body_timeout_seconds: float = Field(
        60.0, gt=0, description="a request body not complete this long after its head: connection closed"
    )
    max_connections: int = Field(
        10000,
        ge=1,
        description="more open connections per worker: a new one is closed at once (capped by open-file limit)",
    )
    shutdown_timeout_seconds: int = Field(
        30, ge=1, description="on stop, longest wait for requests still being answered"
    )
    max_events_per_request: int = Field(1000, ge=1, description="more events in one POST: the payload is a bad row")
    max_entities_per_event: int = Field(100, ge=1, description="more entities on one event: the event is a bad row")
    max_json_depth: int = Field(
        50, ge=2, description="deeper entities or self-describing event: the event is a bad row"
    )
    atomic_fields_limits: dict[str, int] = Field(
        default_factory=lambda: dict(ENRICH_LENGTH_LIMITS),
        description="longest value of an atomic field (UTF-16 units, as Enrich's atomicFieldsLimits); "
        'merged over these defaults and the atomic schema\'s maxLength, e.g. {"app_id": 64}',
    )

    # Identity
    trusted_proxies: list[str] = Field(
        default_factory=lambda: list(PRIVATE_AND_LOOPBACK),
        description="CIDRs whose X-Forwarded-For / Forwarded headers are believed",
    )
    client_ip_header: str | None = Field(
        None, description="a single header holding the client IP (e.g. CF-Connecting-IP), set by a trusted proxy"
    )
    cookie_enabled: bool = Field(True, description="issue the collector cookie at all")
    cookie_name: str = Field("sp", pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$", description="collector cookie name")
    cookie_expiration_days: int = Field(365, ge=1, description="cookie lifetime")
    cookie_domains: list[str] = Field(default_factory=list, description="Domain picked by matching Origin")
    cookie_fallback_domain: str | None = Field(None, description="Domain when no cookie_domains entry matches")
    cookie_same_site: Literal["None", "Lax", "Strict"] | None = Field(
        "None", description="SameSite attribute; None implies Secure"
    )
    cookie_secure: bool = Field(True, description="Secure attribute")
    cookie_http_only: bool = Field(True, description="HttpOnly attribute")

    # Privacy
    do_not_track_cookie_name: str | None = Field(
        None, description="a request with this cookie (and matching value) is answered but not recorded"
    )
    do_not_track_cookie_value: str = Field(".*", description="regular expression the whole cookie value must match")
    ip_anonymise_octets: int = Field(
        0, ge=0, le=4, description="zero this many trailing IPv4 octets of every stored IP"
    )
    ip_anonymise_ipv6_groups: int = Field(
        0, ge=0, le=8, description="zero this many trailing IPv6 groups of every stored IP"
    )

    # Enrichments (Snowplow Enrich's JSON configuration files)
    enrichments_dir: Path | None = Field(
        None, description="folder of Enrich enrichment configs (*.json); none: no enrichments"
    )
    enrichments_unsupported: Literal["error", "warn"] = Field(
        "error", description="an enabled enrichment this service does not run: stop start-up, or warn and skip it"
    )
    enrichments_cache_dir: Path = Field(
        Path(tempfile.gettempdir()) / "collector-enrichments",
        description="where http(s) data files (MaxMind, referer, IAB lists) are downloaded at start-up",
    )
    enrichments_download_timeout_seconds: float = Field(
        30.0, gt=0, description="longest wait for one data file download at start-up"
    )
    anonymous_geo: Literal["none", "country", "region"] = Field(
        "none", description="SP-Anonymous events with ip_lookups: keep only this coarse location (none: nothing)"
    )

    # Identification of this collector in its output
    name: str = Field(
        "pycollector", min_length=1, max_length=24, description="this collector's name in v_collector and bad rows"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # raises ValueError naming the bad entry
        return value

    @field_validator("atomic_fields_limits")
    @classmethod
    def _atomic_fields(cls, value: dict[str, int]) -> dict[str, int]:
        for name, limit in value.items():
            if name not in ATOMIC_FIELDS:
                raise ValueError(f"{name!r} is not an atomic field of the enriched event")
            if limit < 1:
                raise ValueError(f"{name}: a limit must be at least 1, not {limit}")
        return {**ENRICH_LENGTH_LIMITS, **value}

    @field_validator("host")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
        # Numbers and dots (999.1.1.1) or colons are meant as an address, and are not a valid one.
        if all(label.isdigit() for label in value.split(".")) or ":" in value or not HOST_NAME.match(value):
            raise ValueError(f"{value!r} is neither an IP address nor a host name")
        return value

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if not (value.isascii() and value.isprintable()):
            raise ValueError("only printable ASCII: a tab or control character would break TSV lines and bad rows")
        return value

    @field_validator("cookie_expiration_days")
    @classmethod
    def _cookie_date(cls, value: int) -> int:
        most = (LAST_COOKIE_DATE - datetime.now(UTC)).days - 1
        if value > most:
            raise ValueError(f"at most {most}: a cookie's Expires date cannot be later than the year 9999")
        return value

    @field_validator("http_good_url", "http_bad_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            _url(value, ("http", "https"), "http://host[:port]/path")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_urls(cls, value: str) -> str:
        for server in value.split(","):
            _url(server.strip(), NATS_SCHEMES, "nats://host[:port], or tls://, ws://, wss://; comma-separated")
        return value

    @field_validator("schemas_dir")
    @classmethod
    def _schemas_folder(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"no such folder: {value}")
        return value

    @field_validator("drop_payload_bytes")
    @classmethod
    def _drop_above_max(cls, value: int, info: ValidationInfo) -> int:
        max_payload = info.data.get("max_payload_bytes")
        if max_payload is not None and value < max_payload:
            raise ValueError("must be at least max_payload_bytes")
        return value

    @model_validator(mode="after")
    def _http_sink_urls(self) -> Settings:
        if self.sink == "http" and not (self.http_good_url and self.http_bad_url):
            raise ValueError("sink http needs COLLECTOR_HTTP_GOOD_URL and COLLECTOR_HTTP_BAD_URL")
        return self

    @model_validator(mode="after")
    def _micro_never_public_by_accident(self) -> Settings:
        """The Micro API shows every event's data: it needs its own port, a token, or an explicit yes."""
        exposed = self.micro_port is not None or self.micro_token is not None or self.micro_on_tracking_port
        if self.micro_events and not exposed:
            raise ValueError(
                "micro_events needs COLLECTOR_MICRO_PORT or COLLECTOR_MICRO_TOKEN "
                "(or COLLECTOR_MICRO_ON_TRACKING_PORT=true for a local test collector)"
            )
        if exposed and not self.micro_events:
            raise ValueError("COLLECTOR_MICRO_PORT, _TOKEN and _ON_TRACKING_PORT need COLLECTOR_MICRO_EVENTS above 0")
        if self.sink == "memory" and not self.micro_events:
            raise ValueError("sink memory keeps events only in the Micro store: set COLLECTOR_MICRO_EVENTS")
        if self.micro_port is not None and self.micro_port == self.port:
            raise ValueError("COLLECTOR_MICRO_PORT must differ from COLLECTOR_PORT")
        if self.micro_events and self.workers > 1:
            raise ValueError("micro_events needs COLLECTOR_WORKERS=1: each worker would hold a part of the events")
        return self

    @field_validator("do_not_track_cookie_value")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value

    @field_validator("custom_paths")
    @classmethod
    def _standard_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for path, target in value.items():
            if not path.startswith("/"):
                raise ValueError(f"{path!r} must start with /")
            if target not in STANDARD_ROUTES:
                raise ValueError(f"{path!r} maps to {target!r}, which is not one of {', '.join(STANDARD_ROUTES)}")
        return value

    @field_validator("redirect_domains", "cors_allowed_origins")
    @classmethod
    def _lower_case(cls, value: list[str]) -> list[str]:
        return [item.lower() for item in value]

    @field_validator("cookie_domains")
    @classmethod
    def _no_leading_dot(cls, value: list[str]) -> list[str]:
        return [_domain(d.lstrip(".")).lower() for d in value]

    @field_validator("cookie_fallback_domain")
    @classmethod
    def _fallback_domain(cls, value: str | None) -> str | None:
        return None if value is None else _domain(value.lstrip("."))

    @field_validator("cors_extra_headers")
    @classmethod
    def _header_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file_from(init_settings, env_settings)
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def _config_file_from(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value = source().get("config")
        if value:
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"config: file not found: {path}")
            return path
    return None


def _url(value: str, schemes: tuple[str, ...], form: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise ValueError(f"{value!r} is not a URL ({error}): expected {form}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{value!r} is not a URL of the form {form}")


def sink_problems(settings: Settings) -> list[str]:
    """What the chosen sink needs beyond valid values: its optional package, and (Kafka) producer
    settings that librdkafka knows. Checked here so that serving never fails on them later."""
    if settings.sink not in EXTRAS:
        return []
    try:
        module = importlib.import_module(EXTRAS[settings.sink])
    except ImportError:
        return [missing_extra(settings.sink)]
    if settings.sink == "kafka" and settings.kafka_producer_settings:
        try:  # librdkafka checks names and values as it builds a producer; it connects to nothing yet
            module.Producer({**settings.kafka_producer_settings, "log_level": 0})
        except module.KafkaException as error:
            return [f"COLLECTOR_KAFKA_PRODUCER_SETTINGS: {error.args[0].str()}"]
    return []


def _domain(value: str) -> str:
    """Values go into every Set-Cookie header: a domain name, nothing that could break the header."""
    if not DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a domain name")
    return value


def missing_extra(sink: str) -> str:
    """The one line for a sink whose client library (its extra) is not installed: check-config says
    it, and so does building the sink (app/wiring.py), rather than a traceback."""
    return f"COLLECTOR_SINK: the {sink} sink needs its extra: pip install 'pycollector[{sink}]'"


class ConfigError(Exception):
    """A setting is invalid; the message names it."""


def invalid_configuration(problems: list[str]) -> ConfigError:
    return ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def load_settings(**overrides: Any) -> Settings:
    """Build Settings or raise ConfigError naming each invalid setting."""
    unknown = sorted(
        name for name in os.environ if name.startswith("COLLECTOR_") and name[10:].lower() not in Settings.model_fields
    )
    if unknown:  # a misspelt variable would otherwise be ignored without a word
        raise ConfigError("unknown settings: " + ", ".join(unknown))
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "settings"
            if problem["type"] == "extra_forbidden":  # unknown environment names were refused above: a file key
                lines.append(f"{name} in the config file: unknown setting")
            else:
                lines.append(f"COLLECTOR_{name.split('.')[0].upper()}: {problem['msg'].removeprefix('Value error, ')}")
        raise invalid_configuration(lines) from None
    except ValueError as error:  # e.g. a malformed TOML file
        raise ConfigError(f"config: {error}") from None
    problems = sink_problems(settings)
    if problems:
        raise invalid_configuration(problems)
    return settings
