"""The run panel: its form follows the pipeline's input schema (or is a
prompt box), it starts the run through the same parsing and service as
``POST /run/stream`` (the execution row says so), errors land beside their
field, and only operators may run."""

import time

import pytest

from executions.models import Execution
from executions.web.run import run_form_class
from tests.executions.conftest import llm_node, output_node, pipeline

URL = "/agents/busy-bot/run/"
SCHEMA = {
    "type": "object",
    "required": ["topic", "count"],
    "properties": {
        "topic": {"type": "string", "title": "Topic", "maxLength": 80, "minLength": 3},
        "count": {"type": "integer", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number"},
        "urgent": {"type": "boolean", "description": "Answer first."},
        "tone": {"type": "string", "enum": ["plain", "formal"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "extra": {"type": "object"},
        "odd name": {"type": "string", "maxLength": 10},
    },
}


def schema_pipeline(schema, prompt="{{input.topic}}"):
    """input (with ``schema``, or none) → llm → output."""
    return pipeline({"id": "input", "type": "input", "data": {"schema": schema} if schema else {}},
                    llm_node(user_prompt_template=prompt), output_node(), edges=[("input", "llm"), ("llm", "output")])


def wait_finished(execution_id, deadline=10.0) -> Execution:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        execution = Execution.objects.get(pk=execution_id)
        if execution.status not in ("queued", "running"):
            return execution
        time.sleep(0.02)
    raise AssertionError(f"execution {execution_id} did not finish in {deadline} s")


# --- the form --------------------------------------------------------------------------------------

def test_schema_properties_become_typed_inputs():
    form = run_form_class(SCHEMA)(prefix="run")

    fields = {name: type(field).__name__ for name, field in form.fields.items()}
    assert fields == {"topic": "CharField", "count": "IntegerField", "ratio": "FloatField",
                      "urgent": "BooleanField", "tone": "TypedChoiceField", "tags": "LinesField",
                      "extra": "JSONField", "field_7": "CharField"}
    assert form.fields["topic"].label == "Topic" and form.fields["topic"].required
    assert form.fields["count"].required and not form.fields["ratio"].required
    assert form.fields["urgent"].help_text == "Answer first."
    assert form.fields["field_7"].label == "odd name"
    assert form.fields["tone"].choices == [("", "—"), ("plain", "plain"), ("formal", "formal")]


def test_cleaned_values_become_the_run_input_without_blank_optionals():
    form = run_form_class(SCHEMA)({"run-topic": "tides", "run-count": "2", "run-urgent": "on",
                                   "run-tags": "a\n\n b \n", "run-extra": '{"k": [1]}', "run-tone": "formal",
                                   "run-field_7": "x"}, prefix="run")

    assert form.is_valid(), form.errors
    assert form.run_body() == {"input": {"topic": "tides", "count": 2, "urgent": True, "tone": "formal",
                                         "tags": ["a", "b"], "extra": {"k": [1]}, "odd name": "x"}}


def test_no_schema_is_a_prompt_box_and_a_schema_without_properties_a_json_box():
    prompt = run_form_class(None)({"run-prompt": " hi "}, prefix="run")
    assert prompt.is_valid() and prompt.run_body() == {"prompt": " hi "}
    raw = run_form_class({"type": "array"})({"run-input": "[1, 2]"}, prefix="run")
    assert raw.is_valid() and raw.run_body() == {"input": [1, 2]}


# --- the page --------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_operator_runs_from_a_prompt_and_the_execution_runs(client, owner, make_user, make_agent, add_member, llm):
    # given
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot", pipeline=schema_pipeline(None, "{{input.message}}"))
    operator = make_user("operator")
    add_member(agent, operator, "operator")
    client.force_login(operator)

    # when
    response = client.post(URL, {"run-prompt": "capital of France?"})

    # then: the same row the streaming endpoint writes, run to its end
    execution = Execution.objects.get(agent=agent)
    assert response.status_code == 302 and response["Location"] == f"/executions/{execution.pk}/"
    assert (execution.trigger, execution.requested_by, execution.token) == ("manual", operator, None)
    assert execution.input == {"message": "capital of France?"}
    finished = wait_finished(execution.pk)
    assert finished.status == "succeeded" and finished.output == "echo: capital of France?"
    assert llm.requests[-1].body["stream"] is True  # run like a stream: deltas go live
    assert list(finished.steps.values_list("node_id", flat=True)) == ["input", "llm", "output"]


@pytest.mark.django_db(transaction=True)
def test_htmx_run_answers_with_the_live_panel(client, owner, make_agent, llm):
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot", pipeline=schema_pipeline(SCHEMA))
    client.force_login(owner)

    response = client.post(URL, {"run-topic": "tides", "run-count": "3"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TARGET="run-panel")

    assert response.status_code == 200
    execution = Execution.objects.get(agent=agent)
    assert execution.input == {"topic": "tides", "count": 3, "urgent": False}
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="run-panel"')
    assert f'data-run-events="/api/v1/executions/{execution.pk}/events"' in html
    assert f'href="/executions/{execution.pk}/"' in html
    wait_finished(execution.pk)


@pytest.mark.django_db
def test_a_value_the_schema_refuses_is_shown_beside_its_field(client, owner, make_agent):
    # given: "ab" passes the form's own checks but not the schema's minLength
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot", pipeline=schema_pipeline(SCHEMA))
    client.force_login(owner)

    # when
    response = client.post(URL, {"run-topic": "ab", "run-count": "9"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TARGET="run-panel")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_run-count_error" role="alert"><li>Ensure this value is less than or ' \
           'equal to 5.</li></ul>' in html
    assert not Execution.objects.filter(agent=agent).exists()
    response = client.post(URL, {"run-topic": "ab", "run-count": "2"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TARGET="run-panel")
    html = response.content.decode()
    assert '<div class="field field--invalid" data-field="topic">' in html
    assert '<ul class="errorlist" id="id_run-topic_error" role="alert"><li>&#x27;ab&#x27; is too short</li>' in html
    assert not Execution.objects.filter(agent=agent).exists()


@pytest.mark.django_db
def test_a_paused_agent_cannot_run_and_the_form_says_why(client, owner, make_agent):
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot", status="paused")
    client.force_login(owner)

    response = client.post(URL, {"run-prompt": "hi"})

    assert response.status_code == 200
    assert '<ul class="errorlist errorlist--form" role="alert"><li>Agent &#x27;busy-bot&#x27; is paused; ' \
           'activate it to run it.</li></ul>' in response.content.decode()
    assert not Execution.objects.filter(agent=agent).exists()


@pytest.mark.django_db
def test_run_page_shows_the_form_and_run_again_gets_a_fresh_panel(client, owner, make_agent):
    make_agent(owner, name="Busy Bot", slug="busy-bot")
    client.force_login(owner)

    page = client.get(URL)
    assert page.status_code == 200
    assert '<h2 id="tab-heading">Run</h2>' in page.content.decode()
    assert '<label for="id_run-prompt">Prompt <span aria-hidden="true">*</span></label>' in page.content.decode()
    panel = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-panel").content.decode()
    assert panel.lstrip().startswith('<section id="run-panel"') and "tab-heading" not in panel


@pytest.mark.django_db
def test_viewer_may_not_run_and_nothing_starts(client, owner, make_user, make_agent, add_member):
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot")
    viewer = make_user("viewer")
    add_member(agent, viewer, "viewer")
    client.force_login(viewer)

    assert client.get(URL).status_code == 403
    response = client.post(URL, {"run-prompt": "hi"})

    assert response.status_code == 403
    assert "needs the operator role" in response.content.decode()
    assert not Execution.objects.filter(agent=agent).exists()


@pytest.mark.django_db
def test_non_member_gets_404_and_anonymous_is_sent_to_log_in(client, owner, make_user, make_agent):
    agent = make_agent(owner, name="Busy Bot", slug="busy-bot")
    assert client.post(URL, {"run-prompt": "hi"})["Location"] == f"/login/?next={URL}"
    client.force_login(make_user("stranger"))
    assert client.post(URL, {"run-prompt": "hi"}).status_code == 404
    assert not Execution.objects.filter(agent=agent).exists()
