"""The OpenAPI schema describes every endpoint, and the docs serve their
assets locally."""

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

EXPECTED_PATHS = {
    "/api/v1/agents": {"get", "post"},
    "/api/v1/agents/{agent}": {"get", "put", "patch", "delete"},
    "/api/v1/agents/check-name": {"get"},
    "/api/v1/agents/{agent}/activate": {"post"},
    "/api/v1/agents/{agent}/deactivate": {"post"},
    "/api/v1/agents/{agent}/duplicate": {"post"},
    "/api/v1/agents/{agent}/transfer": {"post"},
    "/api/v1/agents/{agent}/admins": {"get", "post"},
    "/api/v1/agents/{agent}/admins/{member}": {"patch", "delete"},
    "/api/v1/agents/{agent}/audit-log": {"get"},
    "/api/v1/auth/tokens": {"get", "post"},
    "/api/v1/auth/tokens/{token}": {"delete"},
    "/api/v1/auth/me": {"get"},
    "/api/v1/auth/agents": {"get"},
    "/api/v1/providers": {"get", "post"},
    "/api/v1/providers/{provider}": {"get", "patch", "delete"},
    "/api/v1/providers/{provider}/test": {"post"},
    "/api/v1/agents/{agent}/invoke": {"post"},
    "/api/v1/agents/{agent}/executions": {"get", "post"},
    "/api/v1/agents/{agent}/executions/async": {"post"},
    "/api/v1/agents/{agent}/executions/{id}": {"get"},
    "/api/v1/agents/{agent}/run": {"post"},
    "/api/v1/agents/{agent}/run/stream": {"post"},
    "/api/v1/agents/{agent}/cost-estimate": {"get"},
    "/api/v1/executions/{id}": {"get"},
    "/api/v1/executions/{id}/events": {"get"},
    "/api/v1/executions/{id}/cancel": {"post"},
    "/api/v1/agents/{agent}/versions": {"get", "post"},
    "/api/v1/agents/{agent}/versions/{index}": {"get"},
    "/api/v1/agents/{agent}/versions/{a}/diff/{b}": {"get"},
    "/api/v1/agents/{agent}/versions/{index}/rollback": {"post"},
    "/api/v1/agents/{agent}/start": {"post"},
    "/api/v1/agents/{agent}/stop": {"post"},
    "/api/v1/agents/{agent}/redeploy": {"post"},
    "/api/v1/agents/{agent}/status": {"get"},
    "/api/v1/agents/{agent}/config": {"get"},
    "/api/v1/agents/{agent}/model": {"patch"},
    "/api/v1/agents/{agent}/settings": {"get", "put"},
    "/api/v1/agents/{agent}/export": {"get"},
    "/api/v1/agents/export": {"post"},
    "/api/v1/agents/import": {"post"},
    "/api/v1/agents/templates": {"get"},
    "/api/v1/agents/create-from-wizard": {"post"},
    "/api/v1/agents/{agent}/schedules": {"get", "post"},
    "/api/v1/agents/{agent}/schedules/{id}": {"get", "patch", "delete"},
    "/api/v1/agents/{agent}/schedule": {"post", "delete"},
    "/api/v1/agents/{agent}/webhook": {"get", "delete"},
    "/api/v1/agents/{agent}/webhook/rotate": {"post"},
    "/api/v1/hooks/{agent}/{secret}": {"post"},
    "/api/v1/agents/{agent}/knowledge": {"get", "post"},
    "/api/v1/agents/{agent}/knowledge/{doc}": {"get", "delete"},
    "/api/v1/agents/{agent}/knowledge/search": {"post"},
    "/api/v1/agents/{agent}/threads": {"get", "post", "delete"},
    "/api/v1/agents/{agent}/threads/{thread}": {"get", "patch", "delete"},
    "/api/v1/agents/{agent}/threads/{thread}/messages": {"get"},
    "/api/v1/agents/{agent}/threads/{thread}/cancel": {"post"},
    "/api/v1/agents/{agent}/threads/{thread}/stream": {"get"},
    "/api/v1/agents/{agent}/chat": {"post"},
    "/api/v1/agents/{agent}/memories": {"get", "post"},
    "/api/v1/agents/{agent}/memories/{id}": {"delete"},
    "/api/v1/skills": {"get", "post"},
    "/api/v1/skills/{id}": {"get", "patch", "delete"},
    "/api/v1/agents/{agent}/skills": {"get", "post"},
    "/api/v1/agents/{agent}/skills/{skill}": {"put", "delete"},
    "/api/v1/agents/{agent}/artifacts": {"get", "post"},
    "/api/v1/agents/{agent}/artifacts/{id}": {"get", "delete"},
    "/api/v1/agents/{agent}/artifacts/{id}/view": {"get"},
    "/api/v1/agents/{agent}/analytics": {"get"},
}


@pytest.fixture(scope="module")
def schema():
    import io

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def _path(schema, path):
    # Paths are stored with or without the optional trailing slash pattern.
    for key in schema["paths"]:
        if key.rstrip("/") == path:
            return schema["paths"][key]
    raise AssertionError(f"{path} missing from schema: {sorted(schema['paths'])}")


def test_every_endpoint_is_described(schema):
    for path, methods in EXPECTED_PATHS.items():
        assert methods <= set(_path(schema, path)), path


def test_auth_schemes_are_documented(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {"bearerAuth", "tokenAuth", "apiKeyAuth", "cookieAuth"} <= set(schemes)
    assert schemes["apiKeyAuth"]["name"] == "X-API-Key"


def test_list_responses_document_the_envelope(schema):
    response = _path(schema, "/api/v1/agents")["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    ref = response["$ref"].split("/")[-1]
    props = schema["components"]["schemas"][ref]["properties"]
    assert {"data", "meta"} <= set(props)
    params = {p["name"] for p in _path(schema, "/api/v1/agents")["get"]["parameters"]}
    assert {"limit", "offset", "cursor", "sort", "q", "slug_prefix", "status", "runtime_state", "tag"} <= params


@pytest.mark.django_db
def test_schema_and_docs_are_served_with_local_assets():
    client = Client()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_error_responses_are_problem_details(schema):
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {
        "type", "title", "status", "detail", "instance", "code", "errors"}
    put = _path(schema, "/api/v1/agents/{agent}")["put"]["responses"]
    assert {"400", "401", "403", "404", "412", "428"} <= set(put)
    assert put["412"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "404" not in _path(schema, "/api/v1/agents")["get"]["responses"]


def test_run_endpoints_document_their_failures(schema):
    invoke = set(_path(schema, "/api/v1/agents/{agent}/invoke")["post"]["responses"])
    assert {"200", "400", "404", "409", "422", "502", "504"} <= invoke
    queued = set(_path(schema, "/api/v1/agents/{agent}/run")["post"]["responses"])
    assert {"202", "409", "422", "503"} <= queued and "504" not in queued
    events = _path(schema, "/api/v1/executions/{id}/events")["get"]["responses"]
    assert "text/event-stream" in events["200"]["content"]


def test_knowledge_upload_documents_its_form_and_errors(schema):
    upload = _path(schema, "/api/v1/agents/{agent}/knowledge")["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "400", "403", "404", "413", "415", "429", "502"} <= set(upload["responses"])
