"""Nesting in runs never crashes the engine or answers 500: JSON that reaches
a run from outside (an HTTP response, a model's answer, a tool call's
arguments) and nests past AGENTRY_MAX_JSON_DEPTH is kept as text, the way JSON
that does not parse is; an input schema whose $ref loops is a 400."""

import json
import logging

import pytest

from executions.llm.openai_client import _tool_call
from executions.models import Execution
from tests.conftest import problem
from tests.executions.conftest import input_node, invoke, llm_node, output_node, pipeline
from tests.fakes.llm_server import Reply
from tests.fakes.web import QuietHandler, serving

pytestmark = pytest.mark.django_db

LIMIT = 64  # the default of AGENTRY_MAX_JSON_DEPTH


@pytest.fixture(autouse=True)
def _default_limit(settings):
    settings.AGENTRY_MAX_JSON_DEPTH = LIMIT
TOO_DEEP = "[" * 100_000  # past what the decoder itself can recurse into
ONE_PAST = "[" * (LIMIT + 1) + "]" * (LIMIT + 1)


class _Handler(QuietHandler):
    def do_GET(self):
        self.send_body(200, self.server.body.encode())


@pytest.fixture
def web():
    with serving(_Handler, body="") as server:
        yield server


def http_agent(make_agent, user, web):
    """An agent whose answer is the body of a GET to the ``web`` server."""
    return make_agent(user, pipeline=pipeline(
        input_node({"type": "object"}),
        {"id": "call", "type": "http_request", "data": {"url": f"http://127.0.0.1:{web.server_port}/deep"}},
        output_node("{{nodes.call.output.body}}"), edges=[("input", "call"), ("call", "output")]))


@pytest.mark.parametrize("text", [TOO_DEEP, ONE_PAST], ids=["too-deep", "one-past"])
def test_http_response_nested_past_the_limit_is_kept_as_text(api, user, make_agent, llm, web, caplog, text):
    # given
    web.body = text
    agent = http_agent(make_agent, user, web)

    # when
    response = invoke(api(user), agent, {"input": {}})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"]["output"] == text
    assert Execution.objects.get().output == text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_http_response_at_the_limit_is_parsed(api, user, make_agent, llm, web):
    web.body = "[" * LIMIT + "]" * LIMIT
    agent = http_agent(make_agent, user, web)

    response = invoke(api(user), agent, {"input": {}})

    assert response.status_code == 200, response.content
    assert response.json()["data"]["output"] == json.loads(web.body)


@pytest.mark.parametrize("text", [TOO_DEEP, ONE_PAST], ids=["too-deep", "one-past"])
def test_model_answer_nested_past_the_limit_is_kept_as_text(api, user, make_agent, llm, caplog, text):
    llm.script("gpt-main", [Reply(text=text)])
    agent = make_agent(user, pipeline=pipeline(
        input_node(), llm_node(response_format={"type": "json_object"}), output_node(),
        edges=[("input", "llm"), ("llm", "output")]))

    response = invoke(api(user), agent, {"input": {"message": "Answer in JSON."}})

    assert response.status_code == 200, response.content
    assert response.json()["data"]["output"] == text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("arguments", [TOO_DEEP, '{"a":' * (LIMIT + 1) + "1" + "}" * (LIMIT + 1)],
                         ids=["too-deep", "one-past"])
def test_tool_call_arguments_nested_past_the_limit_are_kept_raw(arguments):
    assert _tool_call("call_1", "lookup", arguments).arguments == {"_raw": arguments}


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}},
], ids=["root", "property"])
def test_input_schema_whose_ref_loops_is_400_not_500(api, user, make_agent, caplog, schema):
    # given: a schema that is valid JSON Schema, but whose $ref leads back to itself
    agent = make_agent(user, pipeline=pipeline(input_node(schema), output_node("{{input}}"),
                                               edges=[("input", "output")]))

    # when
    response = invoke(api(user), agent, {"input": {"a": 1}})

    # then
    body = problem(response, 400, "validation_error")
    assert body["errors"] == {
        "input": ["The schema cannot be checked: a $ref in it refers back to itself without end."]}
    assert not Execution.objects.exists()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
