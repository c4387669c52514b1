"""The import layering stated in CONTRIBUTING.md: no module of app/ imports from a layer it may not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
LAYERS = {
    "base": {
        "app",
        "build",
        "clock",
        "ids",
        "request",
        "record",
        "failures",
        "privacy",
        "schemas",
        "logs",
        "metrics",
        "redact",
        "shutdown",
        "worker_lifetime",
        "atomic",
        "text",
        "uri",
        "decimals",
        "exact_json",
        "deadline_http",
    },
    "iglu": {"iglu_remote", "iglu", "linear_regex"},
    "pipeline": {
        "protocol",
        "identity",
        "enrich",
        "cross_domain",
        "enrichments",
        "badrows",
        "formats",
        "redirect",
        "record_ids",
        "pipeline",
    },
    "delivery": {"batching", "sinks"},
    "settings": {"config"},
    "micro": {"micro"},
    "edge": {"routes", "server", "wiring", "resend", "connection", "__main__"},
}
MAY_IMPORT = {
    "base": {"base"},
    "iglu": {"base", "iglu"},
    "pipeline": {"base", "iglu", "pipeline"},
    "delivery": {"base", "delivery"},
    "settings": {"base"},
    "micro": {"base", "iglu", "pipeline", "micro"},
    "edge": set(LAYERS),
}


def layer_of(module: str) -> str:
    """`app.sinks.nats` → delivery; `app` → base."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "app"
    [layer] = [layer for layer, names in LAYERS.items() if name in names] or [None]
    assert layer is not None, f"{module} is in no layer: add it to CONTRIBUTING.md and LAYERS"
    return layer


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_imports(path: Path) -> set[str]:
    """Every `app...` module the file imports, at the top or inside a function."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.split(".")[0] == "app")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "app":
                imported.add(node.module)
    return imported


MODULES = sorted(APP.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_a_module_imports_only_from_the_layers_below_or_beside_it(path):
    module = module_name(path)
    layer = layer_of(module)
    breaks = sorted(
        f"{imported} ({layer_of(imported)})"
        for imported in app_imports(path)
        if layer_of(imported) not in MAY_IMPORT[layer]
    )
    assert not breaks, f"{module} ({layer}) imports {', '.join(breaks)}"


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("from app.config import Settings", False),  # a pipeline stage reading the whole Settings
        ("from app.sinks.base import Record", False),  # the pipeline reaching into delivery
        ("from app.request import CollectorRequest", True),
        ("from app.iglu import Registry", True),
        ("from app.enrichments.chain import Enrichments", True),  # a package: its modules share its layer
    ],
)
def test_the_check_catches_a_break(tmp_path, source, allowed):
    stage = tmp_path / "app" / "identity.py"
    stage.parent.mkdir()
    stage.write_text(source + "\n")
    imported = app_imports(stage)
    assert all(layer_of(name) in MAY_IMPORT["pipeline"] for name in imported) is allowed


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("from app.pipeline import Observed", True),  # what the Micro store holds
        ("from app.config import Settings", False),  # the wiring hands it a MicroSettings
        ("from app.batching import Batcher", False),  # it sees records only once the routes had them stored
        ("from app.routes import TrackingRoutes", False),
    ],
)
def test_the_micro_store_and_api_read_the_pipeline_but_not_settings_delivery_or_the_edge(tmp_path, source, allowed):
    module = tmp_path / "app" / "micro" / "store.py"
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n")
    imported = app_imports(module)
    assert all(layer_of(name) in MAY_IMPORT["micro"] for name in imported) is allowed
