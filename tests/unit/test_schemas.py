"""app/schemas.py: every schema URI the code relies on, written once and checked once at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import schemas
from app.config import Settings
from app.enrichments.registry import REGISTRY
from app.iglu import MissingSchemas, Registry, SchemaKey
from app.server import create_app
from app.wiring import check_schemas

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"


def test_the_snowplow_vendor_is_written_only_in_app_schemas():
    elsewhere = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "app").rglob("*.py"))
        if path.name != "schemas.py" and schemas.SNOWPLOW in path.read_text()
    ]
    assert elsewhere == []


@pytest.mark.parametrize(
    "uri",
    schemas.READ
    + schemas.ENRICHMENTS_READ
    + (schemas.TRACKER_PROTOCOL_VIOLATIONS, schemas.SCHEMA_VIOLATIONS, schemas.ENRICHMENT_FAILURES),
)
def test_every_listed_schema_ships_in_the_schemas_folder_and_compiles(registry, uri):
    assert registry.problem(SchemaKey.of(uri)) is None


def without(tmp_path: Path, *uris: str) -> Path:
    """A copy of the schemas folder lacking these schemas."""
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, folder)
    for uri in uris:
        key = SchemaKey.of(uri)
        (folder / key.vendor / key.name / key.format / key.version).unlink()
    return folder


def test_a_folder_lacking_schemas_stops_start_up_naming_every_one(tmp_path):
    gone = (schemas.ATOMIC, schemas.CLIENT_SESSION[2])
    folder = without(tmp_path, *gone)

    with pytest.raises(MissingSchemas) as refused:
        check_schemas(Registry(folder))
    assert str(refused.value) == f"schemas folder {folder} lacks {gone[0]}, {gone[1]}"

    with pytest.raises(MissingSchemas, match="client_session/jsonschema/1-0-2"):
        create_app(Settings(schemas_dir=folder, data_dir=tmp_path / "data"))


def test_with_enrichments_configured_their_schemas_are_checked_too(tmp_path):
    gone = schemas.ENRICHMENT_CONFIGS["ip_lookups"]
    folder = without(tmp_path, gone)

    check_schemas(Registry(folder))  # no enrichments: not needed
    with pytest.raises(MissingSchemas, match="ip_lookups/jsonschema/2-0-0"):
        check_schemas(Registry(folder), enrichments=True)
    enrichments = tmp_path / "enrichments"
    enrichments.mkdir()
    with pytest.raises(MissingSchemas, match="ip_lookups/jsonschema/2-0-0"):
        create_app(Settings(schemas_dir=folder, data_dir=tmp_path / "data", enrichments_dir=enrichments))


def test_every_enrichment_that_runs_has_its_config_schema_listed():
    assert list(REGISTRY) == list(schemas.ENRICHMENT_CONFIGS)  # the same names, in run order
    for name, uri in schemas.ENRICHMENT_CONFIGS.items():
        key = SchemaKey.of(uri)
        assert (key.name, key.vendor in schemas.ENRICHMENT_CONFIG_VENDORS) == (name, True)
