"""The built-in tools ``remember`` and ``save_artifact``: called by an agent's
model (through the fake LLM server) and as pipeline nodes, writing through
the run's workspace as the run's user; refused input goes back to the model
as text; and ``{{memory}}`` in templates."""

import json

import pytest
from asgiref.sync import async_to_sync

from accounts.actor import Actor
from agents.models import AuditLogEntry, Memory
from agents.services.memories import memory_create
from executions.conversations.models import Message, Thread
from executions.engine.context import AgentDefinition, NodeFailure, RunContext
from executions.engine.nodes.remember import RememberNode
from executions.models import Artifact, Execution
from executions.services.workspace import DatabaseWorkspace
from tests.executions.conftest import input_node, invoke, output_node, pipeline
from tests.fakes.llm_server import Reply

pytestmark = pytest.mark.django_db

MODEL = {"provider": "fake", "model": "gpt-main"}


def tool_agent(make_agent, user, *tools):
    return make_agent(user, config={"instructions": "Help.", "model": MODEL,
                                    "tools": [{"id": t, "type": t} for t in tools]})


def tool_results(llm) -> list[str]:
    return [m["content"] for request in llm.requests for m in request.body["messages"] if m["role"] == "tool"]


# --- as tools the model calls ----------------------------------------------------------------------

def test_model_remembers_a_fact_as_the_runs_user(api, user, make_agent, llm):
    # given
    llm.script("gpt-main", [Reply(tool_calls=[("remember", {"content": "The user drinks tea, not coffee."})]),
                            Reply(text="Noted: tea.")])
    agent = tool_agent(make_agent, user, "remember")

    # when
    data = invoke(api(user), agent, {"prompt": "Remember I drink tea."}).json()["data"]

    # then
    assert data["status"] == "succeeded" and data["output"] == "Noted: tea."
    memory = Memory.objects.get(agent=agent)
    assert (memory.content, memory.kind, memory.created_by) == ("The user drinks tea, not coffee.", "semantic", user)
    assert memory.metadata == {"source": "remember", "execution_id": data["execution_id"]}
    assert json.loads(tool_results(llm)[0]) == {"memory_id": str(memory.pk), "saved": True}
    assert AuditLogEntry.objects.get(agent=agent, action="memory.created").actor == user
    function = llm.requests[0].body["tools"][0]["function"]
    assert function["name"] == "remember" and function["description"].startswith("Remember a fact")
    assert function["parameters"]["required"] == ["content"]


def test_model_saves_an_artifact_with_the_execution(api, user, make_agent, llm):
    llm.script("gpt-main", [
        Reply(tool_calls=[("save_artifact", {"title": "Q4 plan", "content": "<h1>Plan</h1>", "summary": "Roadmap",
                                             "tags": ["q4"]})]),
        Reply(text="Saved the plan.")])
    agent = tool_agent(make_agent, user, "save_artifact")

    data = invoke(api(user), agent, {"prompt": "Write the Q4 plan."}).json()["data"]

    assert data["output"] == "Saved the plan."
    artifact = Artifact.objects.get(agent=agent)
    assert (artifact.title, artifact.content, artifact.artifact_type, artifact.summary, artifact.tags) == (
        "Q4 plan", "<h1>Plan</h1>", "html_report", "Roadmap", ["q4"])
    assert str(artifact.execution_id) == data["execution_id"] and artifact.created_by == user
    assert artifact.thread is None
    assert json.loads(tool_results(llm)[0]) == {"artifact_id": str(artifact.pk), "title": "Q4 plan",
                                                "artifact_type": "html_report", "saved": True}
    parameters = llm.requests[0].body["tools"][0]["function"]["parameters"]
    assert parameters["required"] == ["title", "content"] and "tags" in parameters["properties"]


def test_refused_input_goes_back_to_the_model_and_the_run_goes_on(api, user, make_agent, llm):
    llm.script("gpt-main", [
        Reply(tool_calls=[("remember", {"content": ""}),
                          ("save_artifact", {"title": "t", "content": "x", "artifact_type": "Not A Type!"})]),
        Reply(text="Sorry, neither worked.")])
    agent = tool_agent(make_agent, user, "remember", "save_artifact")

    data = invoke(api(user), agent, {"prompt": "Try."}).json()["data"]

    assert data["status"] == "succeeded" and data["output"] == "Sorry, neither worked."
    remembered, saved = tool_results(llm)
    assert remembered == "error: Could not remember that: content: This field may not be blank."
    assert saved.startswith("error: Could not save the artifact: artifact_type:")
    assert not Memory.objects.exists() and not Artifact.objects.exists()


def test_a_tools_own_parameters_win_over_the_built_in_ones(api, user, make_agent, llm):
    llm.script("gpt-main", [Reply(text="ok")])
    custom = {"type": "object", "properties": {"content": {"type": "string", "maxLength": 50}}}
    agent = make_agent(user, config={"model": MODEL, "tools": [
        {"id": "note", "type": "remember", "description": "Jot it down.", "config": {"parameters": custom}}]})

    invoke(api(user), agent, {"prompt": "hi"})

    function = llm.requests[0].body["tools"][0]["function"]
    assert function == {"name": "note", "description": "Jot it down.", "parameters": custom}


# --- as pipeline nodes ---------------------------------------------------------------------------------

def test_pipeline_nodes_remember_and_save_rendered_templates(api, user, make_agent, llm):
    agent = make_agent(user, pipeline=pipeline(
        input_node(),
        {"id": "mem", "type": "remember", "data": {"content": "Asked about {{input.message}}"}},
        {"id": "doc", "type": "save_artifact", "data": {"title": "About {{input.message}}",
                                                        "content": "# {{input.message}}", "artifact_type": "markdown",
                                                        "tags": ["auto"]}},
        output_node({"memory": "{{nodes.mem.output.saved}}", "artifact": "{{nodes.doc.output.title}}"}),
        edges=[("input", "mem"), ("input", "doc"), ("mem", "output"), ("doc", "output")]))

    data = invoke(api(user), agent, {"input": {"message": "llamas"}}).json()["data"]

    assert data["status"] == "succeeded", data
    assert data["output"] == {"memory": True, "artifact": "About llamas"}
    assert Memory.objects.get(agent=agent).content == "Asked about llamas"
    artifact = Artifact.objects.get(agent=agent)
    assert (artifact.content, artifact.artifact_type, artifact.tags) == ("# llamas", "markdown", ["auto"])


def test_a_pipeline_node_needs_its_content(api, user):
    body = {"name": "Broken", "pipeline": pipeline(input_node(), {"id": "mem", "type": "remember", "data": {}},
                                                   output_node("x"), edges=[("input", "mem"), ("mem", "output")])}

    response = api(user).post("/api/v1/agents", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["pipeline.nodes[1].data.content"] == ["Required for a remember node."]


def test_without_a_workspace_the_node_fails_cleanly():
    ctx = RunContext(execution_id=None, agent=None, input={}, env={}, recorder=None, catalogue=None)

    with pytest.raises(NodeFailure, match="needs a workspace"):
        async_to_sync(RememberNode.run)({"id": "m", "type": "remember", "data": {"args": {"content": "x"}}}, ctx)


# --- the workspace's thread -------------------------------------------------------------------------------

def _context(agent, user, execution, thread_id=None):
    definition = AgentDefinition(id=agent.id, slug=agent.slug, owner_id=agent.owner_id, config={}, pipeline={})
    return RunContext(execution_id=execution.id, agent=definition, input={}, env={}, recorder=None, catalogue=None,
                      user_id=user.id, thread_id=thread_id)


def test_artifacts_saved_in_a_chat_turn_belong_to_its_thread(user, make_agent):
    agent = make_agent(user)
    thread = Thread.objects.create(agent=agent, created_by=user)
    given = Execution.objects.create(agent=agent, timeout_ms=1000, trigger="chat")
    linked = Execution.objects.create(agent=agent, timeout_ms=1000, trigger="chat")
    Message.objects.create(thread=thread, role="user", content="make a report", execution=linked)
    save = async_to_sync(DatabaseWorkspace().save_artifact)
    fields = {"content": "<p>r</p>", "artifact_type": "html_report", "summary": "", "tags": []}

    save(_context(agent, user, given, thread_id=thread.id), title="given", **fields)
    save(_context(agent, user, linked), title="linked", **fields)

    assert dict(Artifact.objects.values_list("title", "thread_id")) == {"given": thread.id, "linked": thread.id}


def test_another_agents_thread_is_not_used(user, make_agent):
    agent, other = make_agent(user), make_agent(user)
    foreign = Thread.objects.create(agent=other, created_by=user)
    execution = Execution.objects.create(agent=agent, timeout_ms=1000)

    async_to_sync(DatabaseWorkspace().save_artifact)(
        _context(agent, user, execution, thread_id=foreign.id), title="t", content="c", artifact_type="html_report",
        summary="", tags=[])

    assert Artifact.objects.get().thread is None


# --- {{memory}} ----------------------------------------------------------------------------------------------

def memory_pipeline():
    return pipeline(input_node(), {"id": "t", "type": "template", "data": {"template": "{{memory}}"}},
                    output_node("{{nodes.t.output}}"), edges=[("input", "t"), ("t", "output")])


def test_templates_see_the_relevant_memories(api, user, make_agent, llm):
    agent = make_agent(user, config={"memory": {"enabled": True}}, pipeline=memory_pipeline())
    actor = Actor(user=user)
    memory_create(agent, actor=actor, content="Always answer in French.", kind="rule")
    memory_create(agent, actor=actor, content="The cat is called Tom.")
    memory_create(agent, actor=actor, content="Invoices go out on Mondays.")

    data = invoke(api(user), agent, {"input": {"message": "When do invoices go out?"}}).json()["data"]

    assert data["output"] == ("- [rule] Always answer in French.\n- Invoices go out on Mondays.\n"
                              "- The cat is called Tom.")


def test_templates_see_no_memory_when_it_is_disabled(api, user, make_agent, llm):
    agent = make_agent(user, config={"memory": {"enabled": False}}, pipeline=memory_pipeline())
    memory_create(agent, actor=Actor(user=user), content="A secret fact.")

    data = invoke(api(user), agent, {"input": {"message": "fact?"}}).json()["data"]

    assert data["output"] == ""
