"""The enrichments folder → the enrichments to run, checked whole at start-up.

Every `*.json` file is a self-describing enrichment config, validated against its config schema.
An invalid file, a data file that cannot be had, or an enrichment this service does not run stops
start-up with a message naming the file and the problem (unsupported ones may be only warned about).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import orjson

from app.enrichments.base import Enrichment, EnrichmentConfig, EnrichmentConfigError, Setup, validation_details
from app.enrichments.registry import NOT_SUPPORTED, ORDER, REGISTRY
from app.failures import Failure
from app.iglu import Registry, parse_self_describing
from app.schemas import ENRICHMENT_CONFIG_VENDORS

log = logging.getLogger(__name__)
EXTRA_HINT = "pip install 'pycollector[enrichments]'"


def read_config(path: Path) -> tuple[EnrichmentConfig, dict[str, Any]]:
    """The file's enrichment and its `data`, not yet validated: an unsupported one is reported as such."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise EnrichmentConfigError(f"{path}: not a readable JSON file: {error}") from None
    parsed = parse_self_describing(document)
    if isinstance(parsed, Failure):
        raise EnrichmentConfigError(f"{path}: not a self-describing JSON ({parsed.explain()})")
    key, data = parsed.key, parsed.data
    if key.vendor not in ENRICHMENT_CONFIG_VENDORS or not isinstance(data, dict):
        raise EnrichmentConfigError(f"{path}: {key.uri} is not a Snowplow enrichment configuration")
    parameters = data.get("parameters")
    config = EnrichmentConfig(
        path, key, key.name, data.get("enabled") is True, parameters if isinstance(parameters, dict) else {}, data
    )
    return config, data


def validate(config: EnrichmentConfig, data: dict[str, Any], registry: Registry) -> None:
    invalid = registry.validate(config.key, data)
    if invalid is not None:
        reason = validation_details(invalid)
        details = reason.get("dataReports") or reason.get("schemaIssues") or reason.get("lookupHistory") or reason
        raise EnrichmentConfigError(
            f"{config.path}: invalid against {config.key.uri}: {orjson.dumps(details).decode()}"
        )


def load_enrichments(
    folder: Path, registry: Registry, setup: Setup, unsupported: Literal["error", "warn"] = "error"
) -> list[Enrichment]:
    """The enabled enrichments of `folder`, built and in run order."""
    if not folder.is_dir():
        raise EnrichmentConfigError(f"{folder}: enrichments folder not found")
    built: dict[str, Enrichment] = {}
    for path in sorted(folder.glob("*.json")):
        config, data = read_config(path)
        supported = REGISTRY.get(config.name)
        if supported is None:
            if not config.enabled:
                continue
            why = "is not supported by this service" if config.name in NOT_SUPPORTED else "is not a known enrichment"
            if unsupported == "warn":
                log.warning("%s: enrichment %s %s: skipped", path, config.name, why)
                continue
            raise config.problem(f"{why} (COLLECTOR_ENRICHMENTS_UNSUPPORTED=warn skips it with a warning)")
        validate(config, data, registry)
        if not config.enabled:
            log.info("%s: enrichment %s disabled: skipped", path, config.name)
            continue
        if config.key.model != supported.model:
            raise config.problem(f"version {config.key.version} is not supported; use {supported.model}-*-*")
        if config.name in built:
            raise config.problem(f"configured twice (also in {built[config.name].config.path})")
        try:
            built[config.name] = supported.build(config, setup)
        except ModuleNotFoundError as missing:
            raise config.problem(f"needs the Python package {missing.name!r}: {EXTRA_HINT}") from None
    return sorted(built.values(), key=lambda enrichment: ORDER[enrichment.config.name])
