"""The deployment example (docker-compose.yml) trusts its load balancer, not every private address:
with the default, any container on a private network could send `X-Forwarded-For: 6.6.6.6` and be
stored as 6.6.6.6."""

from __future__ import annotations

import ipaddress

import orjson
import yaml

from app.config import Settings
from tests.conftest import ROOT


def test_compose_collectors_trust_only_the_load_balancers_own_address():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    [subnet] = [ipaddress.ip_network(entry["subnet"]) for entry in compose["networks"]["default"]["ipam"]["config"]]
    balancer = ipaddress.ip_address(services["lb"]["networks"]["default"]["ipv4_address"])
    assert balancer in subnet
    collectors = [name for name, service in services.items() if "COLLECTOR_NAME" in service.get("environment", {})]
    assert collectors, "no collector service found"
    for name in collectors:
        setting = services[name]["environment"].get("COLLECTOR_TRUSTED_PROXIES")
        assert setting is not None, f"{name} falls back to trusting every private range"
        trusted = Settings(trusted_proxies=orjson.loads(setting)).trusted_proxies
        networks = [ipaddress.ip_network(cidr) for cidr in trusted]
        assert any(balancer in network for network in networks), f"{name} does not trust the load balancer"
        others = [address for address in subnet.hosts() if address != balancer]
        assert not any(address in network for address in others for network in networks), f"{name} trusts more"
