"""Command line: `python -m app [serve|micro|check-config|schemas|resend-failed] [--host H] [--port P] [--data-dir D] [--config FILE] [--workers N]`.

Flags override environment variables, which override the config file. The settings are
checked here, once, so that a bad one stops start-up with a message naming it; the workers
then build the same settings from the environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile

import uvicorn

from app.config import ConfigError, Settings, load_settings
from app.enrichments import EnrichmentConfigError, EnrichmentSettings, build_enrichments
from app.iglu import Registry
from app.logs import logging_config
from app.resend import resend_failed
from app.wiring import build_registry, settings_view

FLAGS = ("host", "port", "data_dir", "config", "workers")
COMMANDS = ("serve", "micro", "check-config", "schemas", "resend-failed")
# `micro`: a test collector like Snowplow Micro, unless the environment says otherwise.
MICRO_DEFAULTS = {
    "COLLECTOR_PORT": "9090",
    "COLLECTOR_SINK": "memory",
    "COLLECTOR_MICRO_EVENTS": "10000",
    "COLLECTOR_MICRO_ON_TRACKING_PORT": "true",
    "COLLECTOR_WORKERS": "1",  # one process holds every event
}


def _settings_help() -> str:
    lines = ["settings (environment variable, default: meaning):"]
    for name, spec in Settings.model_fields.items():
        default = spec.get_default(call_default_factory=True, validated_data={})
        lines.append(f"  COLLECTOR_{name.upper():28} {default!s:24} {spec.description or ''}".rstrip())
    lines.append("lists are JSON, e.g. COLLECTOR_COOKIE_DOMAINS='[\"acme.com\"]'")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="Snowplow-compatible collector: tracker payloads in, enriched events and bad rows out.",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=COMMANDS,
        help="serve (default): run the service; micro: a Snowplow Micro-compatible test collector "
        "(port 9090, events held in memory, /micro/* API and /micro/ui inspector); "
        "check-config: validate the settings and exit; "
        "schemas: list the local schemas and check that each compiles; "
        "resend-failed: send the spooled batches set aside as .failed to the configured sink again",
    )
    parser.add_argument("--host", help="address to listen on (COLLECTOR_HOST, default 0.0.0.0)")
    parser.add_argument("--port", help="port to listen on (COLLECTOR_PORT, default 8080)")
    parser.add_argument("--data-dir", help="folder for good/ and bad/ output (COLLECTOR_DATA_DIR, default ./data)")
    parser.add_argument("--config", help="TOML config file (COLLECTOR_CONFIG); environment variables win over it")
    parser.add_argument("--workers", help="worker processes (COLLECTOR_WORKERS, default: one per core)")
    args = parser.parse_args(argv)

    if args.command == "micro":
        for name, value in MICRO_DEFAULTS.items():
            os.environ.setdefault(name, value)
    flags = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    for name, value in flags.items():  # workers read the same settings from the environment
        os.environ[f"COLLECTOR_{name.upper()}"] = str(value)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"collector: {error}", file=sys.stderr)
        return 2
    if args.command == "schemas":
        return check_schemas(settings)
    if args.command == "resend-failed":  # sends stored records again: no enrichment runs
        return resend_failed(settings)
    try:  # enrichment configs and their data files: checked (and downloaded) once, before any worker starts
        enrichments = check_enrichments(settings)
    except EnrichmentConfigError as error:
        print(f"collector: enrichments: {error}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print("configuration ok")
        if settings.enrichments_dir is not None:
            print(f"enrichments enabled ({settings.enrichments_dir}): {', '.join(enrichments) or 'none'}")
        return 0
    if args.command == "micro":
        print(f"Snowplow Micro API on http://{settings.host}:{settings.port}/micro/ (inspector: /micro/ui)")
    return serve(settings)


def check_enrichments(settings: Settings) -> list[str]:
    """The enabled enrichments' names, in run order; raises EnrichmentConfigError naming the file and problem."""
    if settings.enrichments_dir is None:
        return []
    registry = build_registry(settings)
    try:
        view = settings_view(EnrichmentSettings, settings)
        return build_enrichments(view, registry, lambda _: None, str, refresh=True).names
    finally:
        registry.close()


def check_schemas(settings: Settings) -> int:
    """List every local schema; a schema that does not compile is named, and the exit code is 1."""
    registry = Registry(settings.schemas_dir)
    keys = registry.keys()
    broken = 0
    for key in keys:
        problem = registry.problem(key)
        print(f"{'ok  ' if problem is None else 'FAIL'} {key.uri}{'' if problem is None else f': {problem}'}")
        broken += problem is not None
    print(f"{len(keys)} schemas in {settings.schemas_dir}, {broken} unusable", file=sys.stderr)
    return 1 if broken or not keys else 0


def serve(settings: Settings) -> int:
    # Several workers write their metrics to files here and /metrics adds them up (see app/metrics.py).
    metrics_dir = tempfile.mkdtemp(prefix="collector-metrics-") if settings.workers > 1 else None
    if metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    # uvicorn re-raises the stop signal once it has shut down gracefully; by then everything
    # acknowledged is stored, so the re-raised signal is ignored and the exit code is 0.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    uvicorn.run(
        "app.server:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        access_log=False,
        # Sizes counted and timeouts kept while a request is read, before any work (app/connection.py).
        http="app.connection:BoundedHttpProtocol",
        timeout_keep_alive=settings.idle_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        proxy_headers=False,  # the identity stage reads forwarding headers, from trusted proxies only
        server_header=False,
    )
    if metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
