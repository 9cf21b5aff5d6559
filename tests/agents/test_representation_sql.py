"""``agents.representation_sql`` writes each agent of a plain list page as
``AgentSerializer`` represents it, field by field: on SQLite here, on
PostgreSQL in CI's PostgreSQL pass."""

import orjson
import pytest
from django.core import checks
from django.utils import timezone

from accounts.actor import Actor
from agents import representation_sql, selectors
from agents.api.base import AgentSerializer
from agents.models import Agent, AgentTag, Schedule
from agents.services.runtime import agent_start
from agents.services.versions import version_save
from core.pagination import PageWindow
from executions.conversations.models import Thread
from executions.knowledge.models import Document
from executions.models import Artifact, Execution

ODD_TEXT = 'Quote " back\\slash \u2028 line\u2029 tab\t é 😀 <b>&amp;</b>'
PIPELINE = {"nodes": [{"id": "n1", "type": "llm_call", "data": {"temperature": 0.25, "big": 12345678901234,
                                                                "nested": {"list": [1, 2.5, None, True]}}}],
            "edges": []}


@pytest.fixture
def owner(make_user):
    return make_user("owner", email="Owner.Name+tag@example.com")


@pytest.fixture
def agents(owner, make_agent):
    """An agent with everything its representation shows, and a bare one."""
    actor = Actor(user=owner)
    full = make_agent(owner, "Full", description=ODD_TEXT, tags=["zeta", "alpha", "mid"],
                      config={"instructions": ODD_TEXT,
                              "env": {"PLAIN": "visible value", "EMPTY": "",
                                      "TOKEN": {"value": "s3cret", "secret": True},
                                      "UNICODE": {"value": ODD_TEXT, "secret": False}}})
    version_save(agent=full, actor=actor, changelog="first")
    full = agent_start(agent=Agent.objects.get(pk=full.pk), actor=actor)
    Schedule.objects.create(agent=full, name="nightly", cron="0 3 * * *", created_by=owner)
    execution = Execution.objects.create(agent=full, timeout_ms=1000)
    Execution.objects.create(agent=full, timeout_ms=1000)
    Thread.objects.create(agent=full, created_by=owner, message_count=4)
    Thread.objects.create(agent=full, created_by=owner, message_count=3)
    Artifact.objects.create(agent=full, execution=execution, title="Report", content="<p>hi</p>")
    Document.objects.create(agent=full, document_id="doc-1", filename="a.md", kind="md", file_size=3,
                            sha256="0" * 64, storage_name="a.md")
    # As stored (the representation never re-validates it), numbers of every kind included.
    Agent.objects.filter(pk=full.pk).update(pipeline=PIPELINE)
    # Positions in neither the rows' order nor the names': the representation follows the positions.
    for position, name in enumerate(["mid", "zeta", "alpha"], start=10):
        AgentTag.objects.filter(agent=full, name=name).update(position=position)
    bare = make_agent(owner, "Bare")
    Agent.objects.filter(pk=bare.pk).update(pipeline={}, runtime_started_at=None,
                                            last_activity=timezone.now().replace(microsecond=0))
    return full, bare


def _page(user) -> dict:
    page = selectors.agent_page_for_user(user=user, window=PageWindow("created_at", True, None, 0, 10))
    return {agent.position()[1]: orjson.loads(agent.json) for agent in page}


def _serialized(user, agent) -> dict:
    return AgentSerializer(selectors.agent_get_for_user(user=user, ref=str(agent.pk))).data


def test_every_field_is_what_the_serializer_writes(agents, owner):
    page = _page(owner)
    for agent in agents:
        assert page[agent.pk] == _serialized(owner, agent)


def test_what_the_database_wrote_holds_masked_secrets_ordered_tags_and_every_count(agents, owner):
    full, bare = (_page(owner)[agent.pk] for agent in agents)
    assert full["config"]["env"] == {"PLAIN": "visible value", "EMPTY": "", "TOKEN": {"secret": True},
                                     "UNICODE": ODD_TEXT}
    assert "s3cret" not in orjson.dumps(full).decode()
    assert full["tags"] == ["mid", "zeta", "alpha"]
    assert full["description"] == ODD_TEXT and full["config"]["instructions"] == ODD_TEXT
    assert full["pipeline"] == PIPELINE
    assert full["runtime"]["state"] == "running" and full["runtime"]["deployed_version"] == 1
    assert full["runtime"]["started_at"].endswith("Z") and len(full["runtime"]["started_at"]) == 20
    assert full["stats"] == {"versions": 1, "executions": 2, "threads": 2, "messages": 7, "schedules": 1,
                             "artifacts": 1, "knowledge_documents": 1}
    assert full["owner"]["email"] == "Owner.Name+tag@example.com"
    assert bare["pipeline"] == {"nodes": [], "edges": []}
    assert bare["tags"] == [] and bare["config"]["env"] == {}
    assert bare["runtime"] == {"state": "stopped", "deployed_version": None, "started_at": None}


@pytest.mark.parametrize("caller", ["viewer", "staff"])
def test_the_role_is_the_callers(agents, make_user, add_member, caller):
    user = make_user(caller, is_staff=caller == "staff")
    full, _bare = agents
    if caller == "viewer":
        add_member(full, user, "viewer")
    page = _page(user)
    assert page[full.pk]["role"] == {"viewer": "viewer", "staff": "owner"}[caller]
    assert page[full.pk] == _serialized(user, full)


def test_a_config_without_env_shows_an_empty_env(agents, owner):
    full, _bare = agents
    config = dict(Agent.objects.get(pk=full.pk).config)
    del config["env"]
    Agent.objects.filter(pk=full.pk).update(config=config)
    assert _page(owner)[full.pk]["config"]["env"] == {}
    assert _page(owner)[full.pk] == _serialized(owner, full)


def test_the_system_check_passes_with_the_api_datetime_format():
    assert checks.run_checks(tags=None, include_deployment_checks=False) == []
    assert representation_sql.check_datetime_format() == []


def test_the_system_check_fails_when_drf_writes_date_times_another_way(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "iso-8601"}

    errors = checks.run_checks()

    assert [error.id for error in errors] == ["agents.E001"]
    assert "'iso-8601'" in errors[0].msg
