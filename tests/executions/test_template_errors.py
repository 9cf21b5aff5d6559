"""A user's own template error fails the run (or the save) with a clear
message and one log line without a traceback; a fault of ours still logs its
traceback at ERROR."""

import logging

import pytest

from agents.models import Agent
from executions.models import Execution, ExecutionStatus
from tests.conftest import problem
from tests.executions.conftest import input_node, invoke, output_node, pipeline

pytestmark = pytest.mark.django_db


def template_pipeline(template: str) -> dict:
    return pipeline(input_node({"type": "object"}), {"id": "t", "type": "template", "data": {"template": template}},
                    output_node("{{nodes.t.output}}"), edges=[("input", "t"), ("t", "output")])


def records_about(caplog, execution_id) -> list[logging.LogRecord]:
    return [record for record in caplog.records if str(execution_id) in record.getMessage()]


def assert_no_traceback_logged(caplog):
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("template, message", [
    ("{% for i in range(100000000) %}x{% endfor %}",
     "Template error: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."),
    ("{% set items = [1] %}{{ items.append(2) }}",  # a SecurityError: the sandbox is immutable
     "Template error: access to attribute 'append' of 'list' object is unsafe."),
    ("{{ 1 / 0 }}", "Template error: division by zero (ZeroDivisionError)"),
    ("{{ 1 + 'a' }}", "Template error: unsupported operand type(s) for +: 'int' and 'str' (TypeError)"),
    ("{% macro again() %}{{ again() }}{% endmacro %}{{ again() }}",
     "Template error: nested or recursing too deeply."),
], ids=["range", "security", "zero-division", "type", "endless-macro"])
def test_template_error_fails_the_run_with_one_log_line_and_no_traceback(api, user, make_agent, caplog,
                                                                         template, message):
    # given
    caplog.set_level(logging.DEBUG)
    agent = make_agent(user, pipeline=template_pipeline(template))

    # when
    response = invoke(api(user), agent)

    # then
    body = problem(response, 422, "pipeline_error")
    assert body["detail"] == message
    execution = Execution.objects.get()
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error == {"code": "pipeline_error", "message": message, "node_id": "t"}
    (record,) = records_about(caplog, execution.id)
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert record.getMessage() == f"Execution {execution.id} failed at node t: pipeline_error: {message}"
    assert_no_traceback_logged(caplog)


def test_condition_error_fails_the_run_without_traceback(api, user, make_agent, caplog):
    caplog.set_level(logging.DEBUG)
    agent = make_agent(user, pipeline=pipeline(
        input_node({"type": "object"}), {"id": "if", "type": "condition", "data": {"expression": "1 // input.n"}},
        output_node("yes"), edges=[("input", "if"), ("if", "output", {"condition": "true"})]))

    body = problem(invoke(api(user), agent, {"input": {"n": 0}}), 422, "pipeline_error")

    assert body["detail"] == ("Expression error in '1 // input.n': "
                              "integer division or modulo by zero (ZeroDivisionError)")
    assert len(records_about(caplog, Execution.objects.get().id)) == 1
    assert_no_traceback_logged(caplog)


def test_action_prompt_error_is_422_not_500(api, user, make_agent, caplog):
    agent = make_agent(user, config={"actions": [{"id": "sum", "prompt": "{{ input.a / input.b }}"}]})

    response = api(user).post(f"/api/v1/agents/{agent.slug}/executions", {"action": "sum", "with": {"a": 1, "b": 0}},
                              format="json")

    body = problem(response, 422, "pipeline_error")
    assert body["detail"] == ("Action 'sum': Expression error in '{{ input.a / input.b }}': "
                              "division by zero (ZeroDivisionError)")
    assert not Execution.objects.exists()
    assert_no_traceback_logged(caplog)


@pytest.mark.parametrize("template, reason", [
    ("{{" + "(" * 100 + "1" + ")" * 100 + "}}", "nested or recursing too deeply."),
    ("{% if 1 %}" * 200 + "{% endif %}" * 200, "nested too deeply (too many levels of indentation)."),
], ids=["parentheses", "blocks"])
def test_template_too_deep_to_compile_is_refused_on_save(api, user, caplog, template, reason):
    response = api(user).post("/api/v1/agents", {"name": "Deep", "pipeline": template_pipeline(template)},
                              format="json")

    body = problem(response, 400, "validation_error")
    assert body["errors"] == {"pipeline.nodes[1].data.template": [f"Template error: {reason}"]}
    assert not Agent.objects.exists()
    assert_no_traceback_logged(caplog)


def test_engine_fault_still_logs_its_traceback(api, user, make_agent, caplog):
    """A template node without its template can only come from a bug of ours
    (validation refuses it), so it is logged as one."""
    # given: a pipeline the validator would refuse, written past it
    agent = make_agent(user, pipeline=template_pipeline("ok"))
    agent.pipeline["nodes"][1]["data"] = {}
    Agent.objects.filter(pk=agent.pk).update(pipeline=agent.pipeline)

    # when
    response = invoke(api(user), agent)

    # then
    body = problem(response, 422, "pipeline_error")
    assert body["detail"] == "The engine failed unexpectedly."
    execution = Execution.objects.get()
    assert execution.error["code"] == "server_error"
    (record,) = records_about(caplog, execution.id)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Execution {execution.id} crashed"
    assert record.exc_info[0] is KeyError
