"""The ``knowledge_search`` node and tool answer from the knowledge base and
leave citations on the execution."""

import json

import pytest

from executions.models import Execution
from tests.executions.conftest import input_node, invoke, llm_node, output_node, pipeline
from tests.executions.knowledge.conftest import ingest, upload
from tests.executions.knowledge.documents import PAGE_17_SENTENCE, pdf_bytes
from tests.fakes.llm_server import Reply

RAG = pipeline(
    input_node(),
    {"id": "kb", "type": "knowledge_search", "data": {"query": "{{input.message}}", "top_k": 2}},
    llm_node(user_prompt_template="{% for p in nodes.kb.output.results %}[{{loop.index}}] {{p.text}}\n{% endfor %}"
                                  "Question: {{input.message}}"),
    output_node(),
    edges=[("input", "kb"), ("kb", "llm"), ("llm", "output")])


@pytest.mark.django_db
def test_pipeline_answers_from_the_passages_and_cites_them(api, owner, make_agent, llm):
    agent = make_agent(owner, pipeline=RAG)
    client = api(owner)
    ingest(upload(client, agent, "manual.pdf", pdf_bytes(20), document_id="manual"))

    question = "When are the harbour office tide tables recorded?"
    data = invoke(client, agent, {"input": {"message": question}}).json()["data"]

    assert data["status"] == "succeeded"
    assert PAGE_17_SENTENCE in llm.requests[-1].body["messages"][-1]["content"]
    assert data["citations"][0] == {"document_id": "manual", "filename": "manual.pdf", "page": 17, "chunk": 16}
    assert len(data["citations"]) == 2
    execution = Execution.objects.get(pk=data["execution_id"])
    assert execution.citations == data["citations"]
    detail = client.get(f"/api/v1/executions/{execution.pk}").json()["data"]
    assert detail["citations"] == data["citations"]


@pytest.mark.django_db
def test_a_run_that_searched_nothing_cites_nothing(api, owner, make_agent, llm):
    agent = make_agent(owner, pipeline=RAG)
    data = invoke(api(owner), agent, {"input": {"message": "anything at all"}}).json()["data"]
    assert data["status"] == "succeeded" and data["citations"] == []


@pytest.mark.django_db
def test_agent_tool_searches_with_the_calls_query(api, owner, make_agent, llm):
    # given an agent whose model calls the knowledge tool, then answers
    agent = make_agent(owner, config={
        "model": {"provider": "fake", "model": "gpt-main"},
        "tools": [{"id": "docs", "type": "knowledge_search", "description": "Search the harbour manual."}]})
    client = api(owner)
    ingest(upload(client, agent, "manual.pdf", pdf_bytes(20), document_id="manual"))
    llm.script("gpt-main", [Reply(tool_calls=[("docs", {"query": "tide tables keeper"})]),
                            Reply(text="Every Thursday at dawn [manual p.17].")])

    # when
    data = invoke(client, agent, {"input": {"message": "When does the keeper record the tides?"}}).json()["data"]

    # then the model was offered a query argument, the tool's answer reached it, and the run cites the passage
    offered = llm.requests[0].body["tools"][0]["function"]
    assert offered["name"] == "docs" and offered["parameters"]["required"] == ["query"]
    assert data["output"] == "Every Thursday at dawn [manual p.17]."
    tool_message = llm.requests[-1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    result = json.loads(tool_message["content"])
    assert result["query"] == "tide tables keeper" and result["results"][0]["page"] == 17
    assert {"document_id": "manual", "filename": "manual.pdf", "page": 17, "chunk": 16} in data["citations"]


@pytest.mark.django_db
def test_tool_without_a_query_tells_the_model(api, owner, make_agent, llm):
    agent = make_agent(owner, config={
        "model": {"provider": "fake", "model": "gpt-main"},
        "tools": [{"id": "docs", "type": "knowledge_search"}]})
    llm.script("gpt-main", [Reply(tool_calls=[("docs", {})]), Reply(text="ok")])

    data = invoke(api(owner), agent, {"input": {"message": "hi"}}).json()["data"]

    assert data["status"] == "succeeded"
    assert llm.requests[-1].body["messages"][-1]["content"] == "error: knowledge_search needs a query."
