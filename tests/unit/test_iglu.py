"""Iglu: schema keys, self-describing JSON, and validators compiled once with draft-4 rules."""

from __future__ import annotations

import fastjsonschema
import pytest

from app.failures import Failure
from app.iglu import Registry, SchemaKey, SelfDescribing, parse_self_describing

CLIENT_SESSION = SchemaKey("com.snowplowanalytics.snowplow", "client_session", "jsonschema", "1-0-2")


# --- schema keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("iglu:com.acme/event/jsonschema/1-0-0", ("com.acme", "event", "jsonschema", "1-0-0")),
        ("iglu:com.acme-eu_1/my_event-2/jsonschema/10-2-33", ("com.acme-eu_1", "my_event-2", "jsonschema", "10-2-33")),
        (
            "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2",
            ("com.snowplowanalytics.snowplow", "client_session", "jsonschema", "1-0-2"),
        ),
        ("iglu:com.acme/event/avro/0-1-0", ("com.acme", "event", "avro", "0-1-0")),
    ],
)
def test_schema_key_parses(uri, key):
    parsed = SchemaKey.parse(uri)
    assert (parsed.vendor, parsed.name, parsed.format, parsed.version) == key
    assert parsed.uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "com.acme/event/jsonschema/1-0-0",
        "iglu:com.acme/event/jsonschema/1-0",
        "iglu:com.acme/event/jsonschema/1-0-0-0",
        "iglu:com.acme/event/jsonschema/01-0-0",
        "iglu:com.acme/event/jsonschema/1-0-x",
        "iglu:com.acme/event/1-0-0",
        "iglu:com.acme/event/jsonschema/1-0-0/extra",
        "iglu:com acme/event/jsonschema/1-0-0",
        "iglu:com.acme/ev.ent/jsonschema/1-0-0",
        "iglu:com.acme/event/jsonschema/1-0-0\n",
        "http://iglucentral.com/schemas/com.acme/event/jsonschema/1-0-0",
    ],
)
def test_schema_key_rejects(uri):
    assert SchemaKey.parse(uri) is None


@pytest.mark.parametrize(
    ("uri", "vendor", "name", "matches"),
    [
        ("iglu:com.acme/event/jsonschema/1-0-0", "com.acme", "event", True),
        ("iglu:com.acme/event/jsonschema/1-5-2", "com.acme", "event", True),
        ("iglu:com.acme/event/jsonschema/2-0-0", "com.acme", "event", False),
        ("iglu:com.acme/event/avro/1-0-0", "com.acme", "event", False),
        ("iglu:com.acme/other/jsonschema/1-0-0", "com.acme", "event", False),
        ("iglu:com.acme.eu/event/jsonschema/1-0-0", "com.acme", "event", False),
    ],
)
def test_schema_key_matches_criterion_model_1(uri, vendor, name, matches):
    assert SchemaKey.parse(uri).matches(vendor, name) is matches


# --- self-describing JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([{"schema": "iglu:com.acme/e/jsonschema/1-0-0", "data": {}}], "INVALID_DATA_PAYLOAD"),
        ("iglu:com.acme/e/jsonschema/1-0-0", "INVALID_DATA_PAYLOAD"),
        (None, "INVALID_DATA_PAYLOAD"),
        ({"schema": "iglu:com.acme/e/jsonschema/1-0-0"}, "INVALID_DATA_PAYLOAD"),
        ({"data": {}}, "INVALID_SCHEMA"),
        ({"schema": 7, "data": {}}, "INVALID_SCHEMA"),
        ({"schema": "iglu:com.acme/e/jsonschema/1-0", "data": {}}, "INVALID_SCHEMAVER"),
        ({"schema": "iglu:com.acme/e/jsonschema/one", "data": {}}, "INVALID_SCHEMAVER"),
        ({"schema": "com.acme/e/jsonschema/1-0-0", "data": {}}, "INVALID_IGLUURI"),
        ({"schema": "iglu:com.acme/e/1-0-0", "data": {}}, "INVALID_IGLUURI"),
    ],
)
def test_parse_self_describing_errors_are_not_iglu_messages(value, error):
    assert parse_self_describing(value) == Failure({"json": value, "error": error})


@pytest.mark.parametrize("data", [{"a": 1}, [], None, "text"])
def test_parse_self_describing_splits_key_and_data(data):
    parsed = parse_self_describing({"schema": "iglu:com.acme/e/jsonschema/1-0-0", "data": data})
    assert parsed == SelfDescribing(SchemaKey("com.acme", "e", "jsonschema", "1-0-0"), data)


# --- the registry -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1-0-0", "1-0-1", "1-0-2"])
def test_client_session_versions_are_known(registry, version):
    key = SchemaKey("com.snowplowanalytics.snowplow", "client_session", "jsonschema", version)
    assert key in registry.keys()
    assert registry.validator(key) is not None


def test_validator_is_compiled_once(registry, monkeypatch):
    fresh = Registry(registry.root)
    compiled = []
    real_compile = Registry.compile

    def counting_compile(schema):
        compiled.append(schema["self"]["name"])
        return real_compile(schema)

    monkeypatch.setattr(Registry, "compile", staticmethod(counting_compile))
    first = fresh.validator(CLIENT_SESSION)
    assert fresh.validator(CLIENT_SESSION) is first
    for _ in range(3):
        fresh.validate(CLIENT_SESSION, {})
    assert compiled == ["client_session"]


def test_unknown_schema_is_remembered_as_unknown(registry):
    key = SchemaKey("com.acme", "missing", "jsonschema", "1-0-0")
    assert registry.validator(key) is None
    failure = registry.validate(key, {})
    assert failure.message["schemaKey"] == key.uri
    assert failure.message["error"]["error"] == "ResolutionError"
    [lookup] = failure.message["error"]["lookupHistory"]
    assert lookup["errors"] == [{"error": "NotFound"}] and lookup["attempts"] == 1


# --- formats and draft 4 ----------------------------------------------------------------------

FORMATS = Registry.compile(
    {
        "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
        "type": "object",
        "properties": {"at": {"type": "string", "format": "date-time"}, "id": {"type": "string", "format": "uuid"}},
    }
)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ({"at": "2024-05-01T12:00:01.001Z"}, True),
        ({"at": "2024-05-01T12:00:01Z"}, True),
        ({"at": "2024-05-01T12:00:01+02:00"}, True),
        ({"at": "2024-05-01"}, False),
        ({"at": "2024-05-01 12:00:01Z"}, False),
        ({"at": "2024-05-01T12:00:01"}, False),
        ({"at": "yesterday"}, False),
        ({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}, True),
        ({"id": "3FA85F64-5717-4562-B3FC-2C963F66AFA6"}, True),
        ({"id": "3fa85f64571745624b3fc2c963f66afa6"}, False),
        ({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa"}, False),
        ({"id": "zfa85f64-5717-4562-b3fc-2c963f66afa6"}, False),
        ({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6\n"}, False),
    ],
)
def test_date_time_and_uuid_formats_are_enforced(value, valid):
    if valid:
        FORMATS(value)
    else:
        with pytest.raises(fastjsonschema.JsonSchemaException, match="must be (date-time|uuid)"):
            FORMATS(value)


# In draft 4 exclusiveMinimum is a boolean beside minimum; later drafts read it differently.
DRAFT4_ONLY = {
    "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
    "type": "number",
    "minimum": 0,
    "exclusiveMinimum": True,
}


@pytest.mark.parametrize(("value", "valid"), [(0.5, True), (0, False), (-1, False)])
def test_iglu_schemas_are_read_as_draft_4(value, valid):
    validate = Registry.compile(DRAFT4_ONLY)
    if valid:
        validate(value)
    else:
        with pytest.raises(fastjsonschema.JsonSchemaException):
            validate(value)


@pytest.mark.parametrize(
    ("data", "path", "keyword"),
    [
        ({"sessionIndex": "1"}, "$.sessionIndex", "type"),
        ({"sessionId": "x"}, "$.sessionId", "format"),
        ({"firstEventTimestamp": "2024"}, "$.firstEventTimestamp", "format"),
    ],
)
def test_validation_error_reports_the_property(registry, data, path, keyword):
    session = {
        "userId": "fbc8d9a4-1c52-4c53-9f6b-5e8f0e4c9b11",
        "sessionId": "8f3a1c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
        "sessionIndex": 1,
        "storageMechanism": "SQLITE",
    }
    failure = registry.validate(CLIENT_SESSION, {**session, **data})
    assert failure.message["error"]["error"] == "ValidationError"
    [report] = failure.message["error"]["dataReports"]
    assert (report["path"], report["keyword"]) == (path, keyword)
    assert path.removeprefix("$.") in report["message"]


def test_remote_ref_is_refused_not_fetched():
    with pytest.raises(fastjsonschema.JsonSchemaDefinitionException, match="remote"):
        Registry.compile({"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/schema.json"}}})


def test_local_refs_still_resolve():
    validate = Registry.compile(
        {
            "definitions": {"word": {"type": "string"}},
            "type": "object",
            "properties": {"a": {"$ref": "#/definitions/word"}},
        }
    )
    validate({"a": "ok"})
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate({"a": 1})


def test_schema_with_a_remote_ref_is_a_schema_issue_not_a_crash(tmp_path):
    key = SchemaKey("com.acme", "command", "jsonschema", "1-0-0")
    folder = tmp_path / key.vendor / key.name / key.format
    folder.mkdir(parents=True)
    (folder / key.version).write_text(
        '{"type": "object", "properties": {"envelope": {"$ref": "http://iglucentral.com/x"}}}'
    )
    registry = Registry(tmp_path)
    failure = registry.validate(key, {"envelope": {}, "command": {}})
    assert failure.message["schemaKey"] == key.uri
    [issue] = failure.message["error"]["schemaIssues"]
    assert "remote $ref not allowed" in issue["message"]
    assert registry.validator(key) is registry.validator(key)  # the refusal is remembered, not recompiled
