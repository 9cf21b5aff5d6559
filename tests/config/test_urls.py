"""``config.urls``: every app's routes under one agent sit behind one prefix.

Django tries a path against each route in turn.  Behind the one
``agents/{agent}/`` prefix, a request for anything else passes all of them
with one regex, and one for an agent's sub-resource skips every other route.
"""

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, resolve, reverse

from config.urls import api_v1, one_agent

AGENT_PREFIX = r"^agents/(?P<agent>[^/]+)/"


def test_the_agent_prefix_holds_every_route_under_one_agent():
    assert [str(route.pattern) for route in api_v1 if isinstance(route, URLResolver)] == [AGENT_PREFIX]
    for route in api_v1:
        if isinstance(route, URLPattern) and str(route.pattern).startswith("^agents/(?P<agent>"):
            # only the router's agent itself and its actions, which Django's
            # router writes in full, may sit outside the prefix
            assert route.name in {"agent-detail", "agent-activate", "agent-deactivate", "agent-duplicate",
                                  "agent-transfer"}, route.name


def test_the_prefixs_routes_are_relative_and_invoke_and_chat_come_first():
    regexes = [str(route.pattern) for route in one_agent]
    assert all(regex.startswith("^") and not regex.startswith("^agents/") for regex in regexes)
    names = [route.name for route in one_agent]
    assert names[0] == "agent-invoke"
    assert names.index("agent-chat") < names.index("agent-thread-list")


@pytest.mark.parametrize(("path", "name", "kwargs"), [
    ("/api/v1/agents/sales-bot/invoke", "agent-invoke", {"agent": "sales-bot"}),
    ("/api/v1/agents/sales-bot/chat/", "agent-chat", {"agent": "sales-bot"}),
    ("/api/v1/agents/sales-bot/threads/t1/stream", "agent-thread-stream", {"agent": "sales-bot", "thread": "t1"}),
    ("/api/v1/agents/sales-bot/knowledge/search", "agent-knowledge-search", {"agent": "sales-bot"}),
    ("/api/v1/agents/sales-bot/versions/1/diff/2", "agent-version-diff", {"agent": "sales-bot", "a": "1", "b": "2"}),
    ("/api/v1/agents/sales-bot", "agent-detail", {"agent": "sales-bot"}),
    ("/api/v1/agents/sales-bot/activate", "agent-activate", {"agent": "sales-bot"}),
    ("/api/v1/agents", "agent-list", {}),
    # fixed paths under agents/ look like an agent with a trailing slash: the prefix passes them on
    ("/api/v1/agents/templates/", "agent-templates", {}),
    ("/api/v1/agents/import/", "agent-import", {}),
    ("/api/v1/agents/check-name/", "agent-check-name", {}),
    ("/api/v1/agents/templates/export", "agent-export", {"agent": "templates"}),
    ("/api/v1/executions/e1/events", "execution-events", {"id": "e1"}),
    ("/api/v1/hooks/sales-bot/s3cret", "webhook-trigger", {"agent": "sales-bot", "secret": "s3cret"}),
])
def test_paths_resolve_to_their_routes(path, name, kwargs):
    match = resolve(path)
    assert (match.url_name, match.kwargs) == (name, kwargs)


def test_routes_under_the_prefix_reverse_with_the_agent():
    assert reverse("agent-invoke", kwargs={"agent": "a1"}) == "/api/v1/agents/a1/invoke"
    assert reverse("agent-thread-messages", kwargs={"agent": "a1", "thread": "t1"}) == \
        "/api/v1/agents/a1/threads/t1/messages"


@pytest.mark.parametrize("path", ["/api/v1/agents/sales-bot/nothing", "/api/v1/agents/sales-bot/chat/extra",
                                  "/api/v1/agents/templates/nothing", "/api/v1/nothing"])
def test_paths_under_no_route_resolve_to_nothing(path):
    with pytest.raises(Resolver404):
        resolve(path)
