"""iab_spiders_and_robots_enrichment 1-0-x → the `com.iab.snowplow/spiders_and_robots` derived context,
from the team's own IAB/ABC International Spiders and Bots List files (licensed: none ship here).

The checks, in the IAB's order: the client address against the IP exclude list (CIDRs); the user
agent against the include list of valid browsers (one must match); then against the exclude list
of robots (an active pattern matches unless one of its exceptions does). Patterns match anywhere
in the user agent, case-insensitively, or only at its start where the exclude entry says so.

File formats (`|`-separated, `#` comments): IP list, one address or CIDR per line; include list,
`pattern|active`; exclude list, `pattern|active|exceptions (", "-separated)|two-pass flag|impact
(0 page, 1 ad, 2 both)|start-of-string flag`. Under SP-Anonymous the address is not checked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.schemas import SPIDERS_AND_ROBOTS as SCHEMA

IMPACTS = {"0": "PAGE_IMPRESSIONS", "1": "AD_IMPRESSIONS", "2": "PAGE_AND_AD_IMPRESSIONS"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Robot:
    pattern: str  # lower case
    exceptions: tuple[str, ...]
    impact: str
    at_start: bool

    def matches(self, user_agent: str) -> bool:
        found = user_agent.startswith(self.pattern) if self.at_start else self.pattern in user_agent
        return found and not any(exception in user_agent for exception in self.exceptions)


def _lines(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([field.strip() for field in line.split("|")])
    return rows


def read_networks(path: Path) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(row[0], strict=False) for row in _lines(path))


def read_browsers(path: Path) -> tuple[str, ...]:
    return tuple(row[0].lower() for row in _lines(path) if len(row) < 2 or row[1] == "1")


def read_robots(path: Path) -> tuple[Robot, ...]:
    robots = []
    for row in _lines(path):
        row += [""] * (6 - len(row))
        if row[1] not in ("1", ""):
            continue  # an inactive entry is ignored, as the list's own notes say
        exceptions = tuple(part.strip().lower() for part in row[2].split(",") if part.strip())
        robots.append(Robot(row[0].lower(), exceptions, IMPACTS.get(row[4], "UNKNOWN"), row[5] == "1"))
    return tuple(robots)


def _context(robot: bool, category: str, reason: str, impact: str) -> Outcome:
    data = {"spiderOrRobot": robot, "category": category, "reason": reason, "primaryImpact": impact}
    return Outcome(({"schema": SCHEMA, "data": data},))


@dataclass(frozen=True, slots=True)
class Iab:
    config: EnrichmentConfig
    networks: tuple[Network, ...]
    browsers: tuple[str, ...]
    robots: tuple[Robot, ...]

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        user_agent = event.get("useragent")
        if not user_agent:
            return NOTHING
        if not context.anonymous and context.client_ip and self._excluded_address(context.client_ip):
            return _context(True, "SPIDER_OR_ROBOT", "FAILED_IP_EXCLUDE", "UNKNOWN")
        agent = user_agent.lower()
        if not any(browser in agent for browser in self.browsers):
            return _context(True, "SPIDER_OR_ROBOT", "FAILED_UA_INCLUDE", "UNKNOWN")
        for robot in self.robots:
            if robot.matches(agent):
                return _context(True, "ACTIVE_SPIDER_OR_ROBOT", "FAILED_UA_EXCLUDE", robot.impact)
        return _context(False, "BROWSER", "PASSED_ALL", "NONE")

    def _excluded_address(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def build(config: EnrichmentConfig, setup: Setup) -> Iab:
    parameters = config.parameters
    try:
        networks = read_networks(setup.files.fetch(config, parameters["ipFile"]))
    except ValueError as error:
        raise config.problem(f"{parameters['ipFile']['database']}: not a list of addresses or CIDRs: {error}") from None
    browsers = read_browsers(setup.files.fetch(config, parameters["includeUseragentFile"]))
    browsers += tuple(pattern.lower() for pattern in parameters.get("includeUseragents", ()))
    robots = read_robots(setup.files.fetch(config, parameters["excludeUseragentFile"]))
    robots += tuple(Robot(pattern.lower(), (), "UNKNOWN", False) for pattern in parameters.get("excludeUseragents", ()))
    return Iab(config, networks, browsers, robots)
