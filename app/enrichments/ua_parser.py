"""ua_parser_config 1-0-x → the ua_parser_context 1-0-0 derived context, from uap-core's rules
(the prebuilt `ua-parser-builtins`, or the regexes.yaml the config names), with the fastest
resolver installed and a bounded cache keyed by user-agent string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ua_parser
from ua_parser import loaders

from app.enrichments.base import NOTHING, EnrichmentConfig, Entity, EventContext, Outcome, Setup
from app.schemas import UA_PARSER_CONTEXT as SCHEMA

CACHE_SIZE = 10_000  # distinct user agents remembered; the busiest stay


def _version(family: str, *parts: str | None) -> str:
    """Enrich's form: `Firefox 12.0`, `Mac OS X 10.7`: the family, then the version parts there are."""
    numbers = []
    for part in parts:
        if part is None:
            break
        numbers.append(part)
    return f"{family} {'.'.join(numbers)}" if numbers else family


@dataclass(frozen=True, slots=True)
class UaParser:
    config: EnrichmentConfig
    parser: ua_parser.Parser

    def context(self, user_agent: str) -> Entity:
        result = self.parser.parse(user_agent).with_defaults()
        agent, os, device = result.user_agent, result.os, result.device
        return {
            "schema": SCHEMA,
            "data": {
                "useragentFamily": agent.family,
                "useragentMajor": agent.major,
                "useragentMinor": agent.minor,
                "useragentPatch": agent.patch,
                "useragentVersion": _version(agent.family, agent.major, agent.minor, agent.patch),
                "osFamily": os.family,
                "osMajor": os.major,
                "osMinor": os.minor,
                "osPatch": os.patch,
                "osPatchMinor": os.patch_minor,
                "osVersion": _version(os.family, os.major, os.minor, os.patch, os.patch_minor),
                "deviceFamily": device.family,
            },
        }

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        user_agent = event.get("useragent")
        return Outcome((self.context(user_agent),)) if user_agent else NOTHING


def build(config: EnrichmentConfig, setup: Setup) -> UaParser:
    if config.parameters.get("uri"):
        path = setup.files.fetch(config, config.parameters)
        if loaders.load_yaml is None:
            raise ModuleNotFoundError(name="yaml")  # reported as a missing package
        try:
            matchers = loaders.load_yaml(path)
        except Exception as error:  # the YAML reader's errors have no common base
            raise config.problem(f"{path} is not a uap-core regexes.yaml: {error!r}") from None
    else:
        matchers = ua_parser.load_builtins()
    resolver = ua_parser.CachingResolver(ua_parser.BestAvailableResolver(matchers), ua_parser.Cache(CACHE_SIZE))
    return UaParser(config, ua_parser.Parser(resolver))
