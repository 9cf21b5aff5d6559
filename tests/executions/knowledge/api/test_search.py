"""``POST /agents/{agent}/knowledge/search``: full text, vectors from the
fake server's embeddings, and their fusion."""

import asyncio
import math
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from agents.models import Agent
from agents.services.agents import agent_update
from executions.knowledge.fulltext import full_text_search
from executions.knowledge.models import Chunk
from executions.knowledge.selectors import knowledge_search_for_definition
from executions.knowledge.vectors import vector_search
from tests.conftest import problem
from tests.executions.knowledge.conftest import ingest, search, upload
from tests.fakes.llm_server import Reply

DIMENSIONS = 64
EMBEDDING = {"provider": "fake", "model": "embed-small"}


def unit(*weights):
    """A 64-dimension unit vector with ``weights`` at the first indices."""
    vector = list(weights) + [0.0] * (DIMENSIONS - len(weights))
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


# Points away from every bag-of-words vector (all non-negative), so only
# texts scripted with it are close to it.
AWAY = [-1 / math.sqrt(DIMENSIONS)] * DIMENSIONS


@pytest.fixture
def embedded_agent(agent, owner, llm):
    from accounts.actor import Actor

    agent_update(agent=agent, actor=Actor(user=owner), changes={"config": {"knowledge": {"embedding": EMBEDDING}}})
    agent.refresh_from_db()
    return agent


def add(client, agent, document_id, text, **fields):
    assert ingest(upload(client, agent, f"{document_id}.txt", text.encode(), document_id=document_id,
                         **fields)) == "succeeded"


@pytest.mark.django_db
def test_without_an_embedding_model_search_is_full_text_and_says_so(api, owner, agent):
    client = api(owner)
    add(client, agent, "faq", "Refunds are paid within five working days of the request.")

    found = search(client, agent, "how fast are refunds paid")

    assert found["mode"] == "full_text" and "full-text search only" in found["note"]
    assert found["query"] == "how fast are refunds paid"
    hit = found["results"][0]
    assert set(hit) == {"document_id", "filename", "page", "chunk", "heading", "score", "text", "retrievers"}
    assert hit["document_id"] == "faq" and hit["retrievers"] == ["full_text"] and hit["page"] is None
    assert search(client, agent, "zeppelin")["results"] == []


@pytest.mark.django_db
def test_vectors_find_a_passage_that_shares_no_word_with_the_query(api, owner, embedded_agent, llm):
    # given a passage and a query the fake embeds alike, with no word in common
    llm.script_embedding("cats sleep", AWAY)
    llm.script_embedding("feline companions", AWAY)
    client = api(owner)
    add(client, embedded_agent, "pets", "Cats sleep for most of the day and purr when content.")
    add(client, embedded_agent, "money", "Invoices are reconciled monthly by the finance team.")
    assert Chunk.objects.filter(embedding__isnull=False).count() == 2

    # when
    found = search(client, embedded_agent, "feline companions")

    # then only vectors found it
    assert found["mode"] == "hybrid" and "fake:embed-small" in found["note"]
    assert [hit["document_id"] for hit in found["results"]] == ["pets"]
    assert found["results"][0]["retrievers"] == ["vector"]
    assert llm.requests[-1].path == "/v1/embeddings" and llm.requests[-1].body["input"] == ["feline companions"]


@pytest.mark.django_db
def test_a_keyword_query_is_found_by_full_text(api, owner, embedded_agent, llm):
    client = api(owner)
    add(client, embedded_agent, "ledger", "Quarterly reconciliation of the vendor ledger closes on the fifth.")
    add(client, embedded_agent, "garden", "Tomatoes need sun and water every morning.")

    found = search(client, embedded_agent, "vendor ledger reconciliation")

    assert found["results"][0]["document_id"] == "ledger"
    assert "full_text" in found["results"][0]["retrievers"]


@pytest.mark.django_db
def test_fusion_ranks_a_passage_both_retrievers_found_first(api, owner, embedded_agent, llm):
    # given: A is found by both retrievers, B only by full text, C only by vectors
    llm.script_embedding("for pedestrians", unit(1, 0.5))          # A: near the query
    llm.script_embedding("and more zebra", unit(0, 0, 1))          # B: orthogonal to it
    llm.script_embedding("pedestrian safety guidance", unit(1))    # C: the query itself
    llm.script_embedding("zebra crossing rules", unit(1))          # the query
    client = api(owner)
    add(client, embedded_agent, "a", "Zebra crossing rules for pedestrians.")
    add(client, embedded_agent, "b", "Zebra crossing rules, zebra crossing rules and more zebra crossing rules.")
    add(client, embedded_agent, "c", "Pedestrian safety guidance.")
    chunk = {c.document.document_id: c.id for c in Chunk.objects.select_related("document")}

    # and neither retriever alone puts A first
    full_text = [cid for cid, _ in full_text_search(embedded_agent.pk, "zebra crossing rules", limit=10)]
    vectors = [cid for cid, _ in vector_search(embedded_agent.pk, "fake:embed-small", unit(1), limit=10)]
    assert full_text == [chunk["b"], chunk["a"]]
    assert vectors == [chunk["c"], chunk["a"]]

    # when
    found = search(client, embedded_agent, "zebra crossing rules")

    # then
    assert [hit["document_id"] for hit in found["results"]] == ["a", "b", "c"]
    assert found["results"][0]["retrievers"] == ["full_text", "vector"]
    assert found["results"][0]["score"] > found["results"][1]["score"]


@pytest.mark.django_db
def test_a_failing_embedding_model_falls_back_to_full_text(api, owner, embedded_agent, llm):
    client = api(owner)
    add(client, embedded_agent, "faq", "Refunds are paid within five working days.")
    llm.script("embed-small", [Reply(status=500, error="embedding backend down")] * 3)

    found = search(client, embedded_agent, "refunds")

    assert found["mode"] == "full_text" and "embedding model failed" in found["note"]
    assert found["results"][0]["document_id"] == "faq"


@pytest.mark.django_db
def test_search_sees_only_the_agents_own_documents(api, owner, agent, make_agent):
    other = make_agent(owner, name="Other Bot")
    client = api(owner)
    add(client, agent, "mine", "The spare key hangs behind the blue door.")
    add(client, other, "theirs", "The spare key is under the doormat.")

    assert [hit["document_id"] for hit in search(client, agent, "spare key")["results"]] == ["mine"]
    assert [hit["document_id"] for hit in search(client, other, "spare key")["results"]] == ["theirs"]


@pytest.mark.django_db
def test_tags_restrict_the_search(api, owner, agent):
    client = api(owner)
    add(client, agent, "hr", "Holiday allowance is twenty five days.", tags="policy")
    add(client, agent, "it", "Holiday laptops must be locked away.", tags="it,security")

    assert [h["document_id"] for h in search(client, agent, "holiday", tags=["policy"])["results"]] == ["hr"]
    assert {h["document_id"] for h in search(client, agent, "holiday")["results"]} == {"hr", "it"}
    assert search(client, agent, "holiday", tags=["nothing"])["results"] == []


@pytest.mark.django_db
def test_top_k_limits_results(api, owner, agent):
    client = api(owner)
    for n in range(6):
        add(client, agent, f"d{n}", f"Shipping note number {n} about parcels.")
    assert len(search(client, agent, "parcels", top_k=2)["results"]) == 2
    assert len(search(client, agent, "parcels")["results"]) == 5  # config.knowledge.top_k


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({}, "query"), ({"query": ""}, "query"), ({"query": "x", "top_k": 0}, "top_k"),
    ({"query": "x", "top_k": 51}, "top_k"), ({"query": "x", "tags": "a"}, "tags"), ({"query": "x", "k": 1}, "k"),
])
def test_bad_search_bodies_are_400(api, owner, agent, body, field):
    response = api(owner).post(f"/api/v1/agents/{agent.slug}/knowledge/search", body, format="json")
    assert field in problem(response, 400, "validation_error")["errors"]


@pytest.mark.django_db
def test_punctuation_and_fts_syntax_in_queries_are_plain_words(api, owner, agent):
    client = api(owner)
    add(client, agent, "faq", "Refunds are paid within five working days.")
    for query in ('refunds" OR "x', "refunds AND NOT NEAR(", "agent_id:x refunds", "*", "!!!"):
        search(client, agent, query)
    assert search(client, agent, '"refunds"*')["results"][0]["document_id"] == "faq"


@pytest.mark.django_db
def test_the_query_embedding_of_a_run_leaves_the_database_thread_free(api, owner, embedded_agent, llm):
    add(api(owner), embedded_agent, "pets", "Cats sleep for most of the day and purr when content.")
    held = threading.Event()
    llm.script("embed-small", [Reply(hold=held)])
    asked = len(llm.requests)

    async def search_while_the_provider_thinks():
        searching = asyncio.create_task(knowledge_search_for_definition(
            embedded_agent.pk, embedded_agent.config, "cats sleeping"))
        await asyncio.to_thread(llm.wait_for_requests, asked + 1)
        # The thread every run and request reads the database from answers meanwhile.
        agents = await asyncio.wait_for(sync_to_async(Agent.objects.count)(), 5)
        held.set()
        return agents, await searching

    try:
        agents, found = async_to_sync(search_while_the_provider_thinks)()
    finally:
        held.set()

    assert agents == 1
    assert found["mode"] == "hybrid"
    assert [hit["document_id"] for hit in found["results"]] == ["pets"]
    assert llm.requests[asked].body["input"] == ["cats sleeping"]
