"""Concurrent writers on a real PostgreSQL: conditional writes are a
compare-and-swap, and racing creates never collide on a slug.  (SQLite
serialises writers outright, so these run in the PostgreSQL pass of CI.)"""

import threading

import pytest
from django.db import connection, connections

from agents.models import Agent, AuditLogEntry

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
