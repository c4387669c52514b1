"""Every package the service imports is declared in pyproject.toml, so `pip install .` runs it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# import name → distribution name, where they differ
DISTRIBUTIONS = {
    "pydantic_settings": "pydantic-settings",
    "prometheus_client": "prometheus-client",
    "nats": "nats-py",
    "confluent_kafka": "confluent-kafka",
    "uuid_utils": "uuid-utils",
    "re2": "google-re2",
    "ua_parser": "ua-parser",
}
# imported only when that sink or enrichment is configured: an extra
OPTIONAL = {"nats": "nats", "confluent_kafka": "kafka", "maxminddb": "enrichments", "ua_parser": "enrichments"}


def declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[;\s]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_every_third_party_import_of_the_service_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"])
    imported: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name != "app" and name not in sys.stdlib_module_names}
    for name in sorted(third_party):
        distribution = DISTRIBUTIONS.get(name, name)
        if name in OPTIONAL:
            assert distribution in declared(project["optional-dependencies"][OPTIONAL[name]]), name
        else:
            assert distribution in runtime, f"app imports {name}, but {distribution} is not in [project.dependencies]"
