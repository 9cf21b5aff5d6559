"""Request bodies nested past AGENTRY_MAX_JSON_DEPTH are a 400, never a 500;
bodies at the limit go all the way through (validation, storage, a run)."""

import json

import pytest

from agents.models import Agent
from executions.models import Execution
from tests.conftest import problem

pytestmark = pytest.mark.django_db

LIMIT = 64  # the default of AGENTRY_MAX_JSON_DEPTH


@pytest.fixture(autouse=True)
def _default_limit(settings):
    settings.AGENTRY_MAX_JSON_DEPTH = LIMIT


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested_lists(levels: int, leaf="x"):
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def post_json(client, path, text):
    return client.post(path, data=text, content_type="application/json")


def import_(client, text, content_type):
    return client.post("/api/v1/agents/import", data=text, content_type=content_type)


def agent_one_level_past_the_limit() -> str:
    body = {"name": "Deep", "tags": nested_lists(LIMIT)}
    assert depth(body) == LIMIT + 1
    return json.dumps(body)


@pytest.mark.parametrize("text", [
    "[" * 100_000,  # far past anything the decoder can recurse into
    '{"a":' * 100_000,
    agent_one_level_past_the_limit(),  # parseable, but one level too deep
], ids=["lists", "objects", "one-past"])
def test_json_body_nested_past_the_limit_is_400_and_creates_nothing(api, user, text):
    # given
    client = api(user)

    # when
    response = post_json(client, "/api/v1/agents", text)

    # then
    body = problem(response, 400, "validation_error")
    assert body["detail"] == f"Malformed request body: JSON nested deeper than {LIMIT} levels."
    assert body["instance"] == "/api/v1/agents"
    assert not Agent.objects.exists()


@pytest.mark.parametrize("text", [
    "[" * 100_000,
    "a:\n" + "".join("  " * level + "-\n" for level in range(1, 1000)),
    json.dumps({"format": "agentry.agent/v1", "agents": nested_lists(LIMIT)}),  # JSON is YAML too
], ids=["flow", "block", "one-past"])
def test_yaml_body_nested_past_the_limit_is_400_and_imports_nothing(api, user, text):
    response = import_(api(user), text, content_type="application/yaml")

    body = problem(response, 400, "validation_error")
    assert body["detail"] == f"Malformed request body: Invalid YAML: nested deeper than {LIMIT} levels."
    assert not Agent.objects.exists()


def test_the_limit_is_the_setting(api, user, settings):
    settings.AGENTRY_MAX_JSON_DEPTH = 3
    client = api(user)

    body = problem(post_json(client, "/api/v1/agents", json.dumps({"name": "x", "tags": [[["a"]]]})),
                   400, "validation_error")
    assert body["detail"] == "Malformed request body: JSON nested deeper than 3 levels."

    response = post_json(client, "/api/v1/agents", json.dumps({"name": "Shallow", "tags": ["a"]}))
    assert response.status_code == 201, response.content


def test_documents_at_the_limit_are_validated_stored_and_run(api, user):
    """The most stack-hungry readers at the limit: jsonschema checking a schema
    nested as deep as a body allows, then a run's input against it, with an
    idempotency fingerprint, a template evaluating the input and the output
    rendered back."""
    # given: an agent whose input schema nests lists as deep as the body allows
    schema_levels = LIMIT - 8  # body, pipeline, nodes, node, data, schema, properties and v above it
    schema = {"type": "string"}
    for _ in range(schema_levels):
        schema = {"type": "array", "items": schema}
    agent_body = {"name": "Deep", "pipeline": {"nodes": [
        {"id": "input", "type": "input", "data": {"schema": {"type": "object", "properties": {"v": schema}}}},
        {"id": "output", "type": "output", "data": {"mapping": "{{ input }}"}},
    ], "edges": [{"id": "e1", "source": "input", "target": "output"}]}}
    assert depth(agent_body) == LIMIT
    client = api(user)

    # when
    created = post_json(client, "/api/v1/agents", json.dumps(agent_body))

    # then
    assert created.status_code == 201, created.content
    agent = Agent.objects.get(slug=created.json()["data"]["slug"])
    assert depth(agent.pipeline) == LIMIT - 1

    # given: an input that fills the schema, next to one as deep as the body allows
    run_input = {"v": nested_lists(schema_levels), "w": nested_lists(LIMIT - 2)}
    run_body = {"input": run_input}
    assert depth(run_body) == LIMIT

    # when
    response = client.post(f"/api/v1/agents/{agent.slug}/invoke", data=json.dumps(run_body),
                           content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1")
    replay = client.post(f"/api/v1/agents/{agent.slug}/invoke", data=json.dumps(run_body),
                         content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"]["output"] == run_input
    assert replay.json()["data"]["execution_id"] == response.json()["data"]["execution_id"]
    assert Execution.objects.get().input == run_input


def test_a_schema_check_that_fails_deep_down_is_an_ordinary_400(api, user):
    """jsonschema walks a nested input to its bottom to report an error there."""
    schema = {"type": "string"}
    for _ in range(LIMIT - 9):
        schema = {"type": "array", "items": schema}
    agent = post_json(api(user), "/api/v1/agents", json.dumps({"name": "Deep", "pipeline": {"nodes": [
        {"id": "input", "type": "input", "data": {"schema": {"type": "object", "properties": {"v": schema}}}},
        {"id": "output", "type": "output", "data": {"mapping": "{{ input.v }}"}},
    ], "edges": [{"id": "e1", "source": "input", "target": "output"}]}})).json()["data"]

    run_body = json.dumps({"input": {"v": nested_lists(LIMIT - 9, leaf=1)}})
    response = post_json(api(user), f"/api/v1/agents/{agent['slug']}/invoke", run_body)

    body = problem(response, 400, "validation_error")
    (path,) = body["errors"]
    assert path == "input.v" + "[0]" * (LIMIT - 9)
    assert not Execution.objects.exists()
