"""Concurrent writers on a real PostgreSQL: conditional writes are a
compare-and-swap, racing creates never collide on a slug, and the member
counts' triggers neither lose a count nor deadlock.  (SQLite
serialises writers outright, so these run in the PostgreSQL pass of CI.)"""

import threading

import pytest
from django.db import connection, connections

from accounts.roles import Role
from agents.models import Agent, AgentMember, AgentMemberCount, AuditLogEntry

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"),
]


def _race(calls):
    """Run the callables at once, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_only_one_of_two_patches_with_the_same_etag_wins(api, user, make_agent):
    agent = make_agent(user)
    etag = api(user).get(f"/api/v1/agents/{agent.pk}")["ETag"]
    clients = [api(user), api(user)]
    statuses = _race([
        lambda c=c, i=i: c.patch(f"/api/v1/agents/{agent.pk}", {"description": f"writer {i}"},
                                 HTTP_IF_MATCH=etag).status_code
        for i, c in enumerate(clients)
    ])
    assert sorted(statuses) == [200, 412]
    agent.refresh_from_db()
    assert agent.revision == 2
    assert AuditLogEntry.objects.filter(action="agent.updated").count() == 1


def test_racing_creates_with_the_same_name_get_distinct_slugs(api, make_user):
    owners = [make_user() for _ in range(4)]
    clients = [api(owner) for owner in owners]
    statuses = _race([lambda c=c: c.post("/api/v1/agents", {"name": "Same Name"}).status_code for c in clients])
    assert statuses == [201] * 4
    slugs = sorted(Agent.objects.values_list("slug", flat=True))
    assert len(set(slugs)) == 4 and slugs[0] == "same-name"


def test_racing_first_memberships_of_one_user_all_count(make_user, make_agent):
    owner, member = make_user(), make_user()
    agents = [make_agent(owner, f"Shared {i}") for i in range(4)]
    _race([lambda a=a: AgentMember.objects.create(agent=a, user=member, role=Role.VIEWER) for a in agents])
    assert AgentMemberCount.objects.get(user=member).agents == 4
    assert AgentMemberCount.objects.get(user=owner).agents == 4


def test_racing_deletes_of_agents_that_share_members_do_not_deadlock(make_user, make_agent):
    owner, first, second = make_user(), make_user(), make_user()
    pairs = []
    for i in range(5):  # each pair's member rows are written in opposite orders
        one, other = make_agent(owner, f"One {i}"), make_agent(owner, f"Other {i}")
        for agent, users in ((one, (first, second)), (other, (second, first))):
            for user in users:
                AgentMember.objects.create(agent=agent, user=user, role=Role.VIEWER)
        pairs.append((one, other))
    for pair in pairs:
        _race([lambda a=a: Agent.objects.filter(pk=a.pk).delete() for a in pair])
    assert not Agent.objects.exists()
    assert dict(AgentMemberCount.objects.values_list("user_id", "agents")) == {
        owner.pk: 0, first.pk: 0, second.pk: 0}
