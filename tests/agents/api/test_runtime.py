"""Runtime: start, stop, redeploy and status; which version a run serves (API.md §7)."""

import pytest

from accounts.roles import Role
from agents.models import AgentVersion, AuditLogEntry
from executions.models import Execution
from tests.conftest import problem
from tests.executions.conftest import input_node, llm_node, pipeline

pytestmark = pytest.mark.django_db


def _pipeline(prefix: str) -> dict:
    return pipeline(input_node(), llm_node(user_prompt_template=prefix + " {{input.message}}"),
                    {"id": "out", "type": "output", "data": {"mapping": "{{nodes.llm.output}}"}},
                    edges=[("input", "llm"), ("llm", "out")])


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner, llm):
    return make_agent(owner, "Runner", pipeline=_pipeline("v1"),
                      config={"tools": [{"id": "fetch", "type": "http_request"}]})


def _invoke(client, agent, **options):
    body = {"input": {"message": "hi"}, **({"options": options} if options else {})}
    response = client.post(f"/api/v1/agents/{agent.slug}/invoke", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_status_of_a_stopped_agent(api, owner, agent):
    body = api(owner).get(f"/api/v1/agents/{agent.slug}/status").json()["data"]
    assert body == {"state": "stopped", "deployed_version": None, "started_at": None, "tools_count": 1,
                    "active_threads": 0}


def test_start_snapshots_pins_and_runs(api, owner, agent):
    client = api(owner)
    response = client.post(f"/api/v1/agents/{agent.slug}/start")
    assert response.status_code == 200, response.content
    body = response.json()["data"]
    assert body["state"] == "running" and body["deployed_version"] == 1 and body["started_at"]
    version = AgentVersion.objects.get(agent=agent)
    assert version.index == 1 and version.changelog == "Deployed on start" and version.author == owner
    agent.refresh_from_db()
    assert agent.runtime_state == "running" and agent.deployed_version == 1
    representation = client.get(f"/api/v1/agents/{agent.slug}").json()["data"]["runtime"]
    assert representation == {"state": "running", "deployed_version": 1, "started_at": body["started_at"]}
    entry = AuditLogEntry.objects.get(agent_ref=agent.pk, action="runtime.started")
    assert entry.changes == {"runtime.state": {"old": "stopped", "new": "running"},
                             "runtime.deployed_version": {"old": None, "new": 1}}


def test_start_reuses_the_latest_version_when_unchanged(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/versions", {"changelog": "saved"}, format="json")
    assert client.post(f"/api/v1/agents/{agent.slug}/start").json()["data"]["deployed_version"] == 1
    client.post(f"/api/v1/agents/{agent.slug}/stop")
    assert client.post(f"/api/v1/agents/{agent.slug}/start").json()["data"]["deployed_version"] == 1
    assert AgentVersion.objects.filter(agent=agent).count() == 1


def test_running_agent_serves_its_deployed_version_until_redeploy(api, owner, agent, llm):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/start")
    client.patch(f"/api/v1/agents/{agent.slug}", {"pipeline": _pipeline("v2")}, format="json")

    deployed = _invoke(client, agent)
    assert deployed["output"] == "echo: v1 hi" and deployed["version"] == 1
    draft = _invoke(client, agent, version="draft")
    assert draft["output"] == "echo: v2 hi" and draft["version"] is None
    assert _invoke(client, agent, version=1)["output"] == "echo: v1 hi"

    response = client.post(f"/api/v1/agents/{agent.slug}/redeploy")
    assert response.status_code == 200
    assert response.json()["data"]["redeployed"] is True
    assert response.json()["data"]["deployed_version"] == 2

    after = _invoke(client, agent)
    assert after["output"] == "echo: v2 hi" and after["version"] == 2
    assert Execution.objects.get(pk=after["execution_id"]).version == 2
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="runtime.redeployed").count() == 1


def test_a_stopped_agent_serves_its_draft_and_can_name_versions(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/start")
    client.post(f"/api/v1/agents/{agent.slug}/stop")
    client.patch(f"/api/v1/agents/{agent.slug}", {"pipeline": _pipeline("v2")}, format="json")
    assert _invoke(client, agent)["output"] == "echo: v2 hi"
    assert _invoke(client, agent, version="deployed")["output"] == "echo: v1 hi"
    problem(client.post(f"/api/v1/agents/{agent.slug}/invoke",
                        {"input": {"message": "x"}, "options": {"version": 7}}, format="json"), 404, "not_found")


def test_deployed_without_a_deployed_version_is_409(api, owner, agent):
    response = api(owner).post(f"/api/v1/agents/{agent.slug}/invoke",
                               {"input": {"message": "x"}, "options": {"version": "deployed"}}, format="json")
    problem(response, 409, "conflict")
    assert not Execution.objects.exists()


def test_queued_run_keeps_the_version_chosen_when_queued(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/start")
    response = client.post(f"/api/v1/agents/{agent.slug}/run", {"input": {"message": "hi"}}, format="json")
    execution = Execution.objects.get(pk=response.json()["data"]["exec_id"])
    assert execution.version == 1 and execution.options["version"] == 1


def test_stop_and_redeploy_while_stopped(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/start")
    stopped = client.post(f"/api/v1/agents/{agent.slug}/stop").json()["data"]
    assert stopped["state"] == "stopped" and stopped["deployed_version"] == 1 and stopped["started_at"] is None
    assert client.post(f"/api/v1/agents/{agent.slug}/stop").status_code == 200  # idempotent
    assert AuditLogEntry.objects.filter(agent_ref=agent.pk, action="runtime.stopped").count() == 1
    redeploy = client.post(f"/api/v1/agents/{agent.slug}/redeploy").json()["data"]
    assert redeploy["redeployed"] is False and redeploy["state"] == "stopped"
    assert AgentVersion.objects.filter(agent=agent).count() == 1


def test_status_counts_the_deployed_tools(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/start")
    client.patch(f"/api/v1/agents/{agent.slug}", {"config": {"tools": []}}, format="json")
    assert client.get(f"/api/v1/agents/{agent.slug}/status").json()["data"]["tools_count"] == 1


def test_a_paused_agent_cannot_start(api, owner, agent):
    client = api(owner)
    client.post(f"/api/v1/agents/{agent.slug}/deactivate")
    problem(client.post(f"/api/v1/agents/{agent.slug}/start"), 409, "agent_not_active")
    agent.refresh_from_db()
    assert agent.runtime_state == "stopped" and not AgentVersion.objects.exists()


@pytest.mark.parametrize("role, write", [(Role.VIEWER, 403), (Role.OPERATOR, 403), (Role.ADMIN, 200)])
def test_roles(api, make_user, agent, add_member, role, write):
    member = make_user("member")
    add_member(agent, member, role)
    client = api(member)
    assert client.get(f"/api/v1/agents/{agent.slug}/status").status_code == 200
    for path in ("start", "redeploy", "stop"):
        assert client.post(f"/api/v1/agents/{agent.slug}/{path}").status_code == write


def test_scopes_and_strangers(api, make_user, owner, agent):
    problem(api(owner, scopes=["agents:read", "agents:run"]).post(f"/api/v1/agents/{agent.slug}/start"),
            403, "permission_denied")
    problem(api(make_user("stranger")).post(f"/api/v1/agents/{agent.slug}/start"), 404, "not_found")
    problem(api(make_user("other")).get(f"/api/v1/agents/{agent.slug}/status"), 404, "not_found")


def test_actions_come_from_the_version_that_runs(api, owner, make_agent, llm):
    client = api(owner)
    agent = make_agent(owner, "Actor", pipeline=_pipeline(""),
                       config={"actions": [{"id": "greet", "prompt": "Hello {{input.name}}"}]})
    client.post(f"/api/v1/agents/{agent.slug}/start")
    client.patch(f"/api/v1/agents/{agent.slug}",
                 {"config": {"actions": [{"id": "greet", "prompt": "Bye {{input.name}}"}]}}, format="json")

    def act(**options):
        body = {"action": "greet", "with": {"name": "Ada"}, **({"options": options} if options else {})}
        response = client.post(f"/api/v1/agents/{agent.slug}/invoke", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()["data"]["output"]

    assert act() == "echo:  Hello Ada"
    assert act(version="draft") == "echo:  Bye Ada"
