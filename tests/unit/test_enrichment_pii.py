"""pii_enrichment_config: Enrich's pseudonymisation — the hex digest of value + salt — on atomic fields and on
JSON paths in the self-describing event, the contexts and the derived contexts; an entity the hash would
make invalid fails that event; configuration errors stop start-up."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.enrichments.base import EnrichmentConfigError, EventContext, Setup
from app.enrichments.files import DataFileCache
from tests.unit.enrichment_support import build, run

SALT = "pepper123"
IDENTIFY = "iglu:com.snowplowanalytics.snowplow/identify/jsonschema/1-0-0"
USER = "iglu:com.snowplowanalytics.snowplow.ecommerce/user/jsonschema/1-0-0"
SESSION = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"


def sha256(value: str) -> str:
    return hashlib.sha256((value + SALT).encode()).hexdigest()


def pii(fields: list[dict], hash_function: str = "SHA-256", registry=None, **data) -> Any:
    parameters = {"pii": fields, "strategy": {"pseudonymize": {"hashFunction": hash_function, "salt": SALT}}}
    setup = Setup(DataFileCache(Path("/nonexistent"), 1.0, refresh=False), registry=registry)
    return build("pii_enrichment_config", "2-0-1", parameters, setup=setup, data={"emitEvent": False, **data})


def json_field(field: str, criterion: str, path: str) -> dict:
    return {"json": {"field": field, "schemaCriterion": criterion, "jsonPath": path}}


def test_the_documented_hash_is_value_then_salt():
    enrichment = pii([{"pojo": {"field": "user_id"}}])
    assert enrichment.pseudonymise("john@acme.com") == hashlib.sha256(b"john@acme.compepper123").hexdigest()


@pytest.mark.parametrize(
    ("function", "digest"),
    [("MD5", hashlib.md5), ("SHA-1", hashlib.sha1), ("SHA-384", hashlib.sha384), ("SHA-512", hashlib.sha512)],
)
def test_atomic_fields_with_each_hash_function(make_request, function, digest):
    enrichment = pii(
        [{"pojo": {"field": "user_id"}}, {"pojo": {"field": "user_ipaddress"}}, {"pojo": {"field": "mkt_term"}}],
        function,
    )
    event = {"user_id": "john@acme.com", "user_ipaddress": "198.51.100.23", "app_id": "shop"}
    run(enrichment, event, make_request())
    assert event == {
        "user_id": digest(b"john@acme.compepper123").hexdigest(),
        "user_ipaddress": digest(b"198.51.100.23pepper123").hexdigest(),
        "app_id": "shop",
    }


def test_json_paths_in_the_event_the_contexts_and_the_derived_contexts(registry, make_request):
    enrichment = pii(
        [
            json_field(
                "unstruct_event", "iglu:com.snowplowanalytics.snowplow/identify/jsonschema/1-*-*", "$.['email', 'id']"
            ),
            json_field("contexts", "iglu:com.snowplowanalytics.snowplow.ecommerce/user/jsonschema/1-0-*", "$.email"),
            json_field("derived_contexts", "iglu:org.ietf/http_cookie/jsonschema/1-*-*", "$.value"),
            json_field("contexts", "iglu:com.acme/other/jsonschema/*-*-*", "$..email"),
        ],
        registry=registry,
    )
    event = {
        "unstruct_event": {
            "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
            "data": {"schema": IDENTIFY, "data": {"id": "u-1", "email": "a@b.example"}},
        },
        "contexts": {
            "schema": "c",
            "data": [{"schema": USER, "data": {"id": "u-1", "email": "c@d.example", "is_guest": False}}],
        },
    }
    context = EventContext(
        {},
        make_request(),
        False,
        None,
        derived=[{"schema": "iglu:org.ietf/http_cookie/jsonschema/1-0-0", "data": {"name": "_ga", "value": "GA1.2.3"}}],
    )
    assert enrichment.apply(event, context).failure is None
    assert event["unstruct_event"]["data"]["data"] == {"id": sha256("u-1"), "email": sha256("a@b.example")}
    assert event["contexts"]["data"][0]["data"] == {"id": "u-1", "email": sha256("c@d.example"), "is_guest": False}
    assert context.derived[0]["data"] == {"name": "_ga", "value": sha256("GA1.2.3")}


def test_an_entity_the_hash_makes_invalid_fails_the_event(registry, make_request):
    enrichment = pii(
        [json_field("contexts", "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-*-*", "$.userId")],
        registry=registry,
    )
    session = {
        "userId": str(uuid.uuid4()),
        "sessionId": str(uuid.uuid4()),
        "sessionIndex": 1,
        "previousSessionId": None,
        "storageMechanism": "COOKIE_1",
    }
    event = {"contexts": {"schema": "c", "data": [{"schema": SESSION, "data": session}]}}
    failure = run(enrichment, event, make_request()).failure
    assert failure is not None
    assert (failure.message["field"], failure.message["value"]) == ("contexts", SESSION)
    assert failure.message["expectation"].startswith("the pseudonymised entity to stay valid against its schema")


@pytest.mark.parametrize("anonymous", [False, True])
def test_anonymous_only_pseudonymises_sp_anonymous_events_only(make_request, anonymous):
    enrichment = pii([{"pojo": {"field": "user_id"}}], anonymousOnly=True)
    event = {"user_id": "john"}
    run(enrichment, event, make_request(), anonymous=anonymous)
    assert event["user_id"] == (sha256("john") if anonymous else "john")


@pytest.mark.parametrize(
    ("fields", "data", "message"),
    [
        (
            [json_field("contexts", "iglu:a/b/jsonschema/1-*-*", "email")],
            {},
            "jsonPath 'email' does not start with \\$",
        ),
        ([json_field("contexts", "iglu:a/b/jsonschema/1-*-*", "$.a?(@.x)")], {}, "cannot read the path"),
        ([{"pojo": {"field": "user_id"}}], {"emitEvent": True}, "emitEvent .* is not supported"),
    ],
)
def test_configuration_errors_stop_start_up(fields, data, message):
    with pytest.raises(EnrichmentConfigError, match=message):
        pii(fields, **data)
