"""The console's agents list: who sees what, the API's filters and sort keys,
cursor pagination, the htmx partial, bad parameters, and a query count that
does not grow with the number of agents."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent, AgentStatus, AgentTag, RuntimeState

URL = "/agents/"


def _names(response) -> list[str]:
    """The agent names in the table's rows, in order."""
    body = response.content.decode()
    return re.findall(r'<th scope="row"><a href="/agents/[^/]+/">([^<]+)</a>', body)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/agents/"


def test_lists_only_the_agents_the_user_is_a_member_of_with_their_role(client, owner, make_user, make_agent,
                                                                       add_member):
    # given
    mine = make_agent(owner, "Mine", tags=["support", "beta"])
    shared = make_agent(make_user("bob"), "Shared with me")
    add_member(shared, owner, "viewer")
    make_agent(make_user("carl"), "Not mine")
    client.force_login(owner)
    # when
    response = client.get(URL)
    # then
    assert response.status_code == 200
    assert _names(response) == ["Mine", "Shared with me"]
    body = response.content.decode()
    assert "Not mine" not in body
    row = body[body.index(f'href="/agents/{shared.slug}/"'):]
    assert "<td>Viewer</td>" in row[:row.index("</tr>")]
    row = body[body.index(f'href="/agents/{mine.slug}/"'):]
    assert '<span class="tag">support</span>' in row[:row.index("</tr>")]
    assert "2 agents" in body
    assert 'href="/agents/new/"' in body


def test_search_matches_name_or_slug_like_the_api(logged_in, owner, make_agent):
    make_agent(owner, "Support Bot")
    make_agent(owner, "Research", slug="deep-support")
    make_agent(owner, "Translator")
    assert _names(logged_in.get(URL, {"q": "support"})) == ["Research", "Support Bot"]


def test_status_runtime_and_tag_filters(logged_in, owner, make_agent):
    # given
    paused = make_agent(owner, "Paused one", status=AgentStatus.PAUSED)
    running = make_agent(owner, "Running one", tags=["ops"])
    Agent.objects.filter(pk=running.pk).update(runtime_state=RuntimeState.RUNNING)
    make_agent(owner, "Plain", tags=["ops-not"])
    # then
    assert _names(logged_in.get(URL, {"status": "paused"})) == [paused.name]
    assert _names(logged_in.get(URL, {"runtime_state": "running"})) == [running.name]
    assert _names(logged_in.get(URL, {"tag": "ops"})) == [running.name]
    # the tag filter offers every tag of the user's agents
    body = logged_in.get(URL).content.decode()
    assert '<datalist id="agent-tags"><option value="ops"></option><option value="ops-not"></option></datalist>' in body


def test_sort_by_name_descending_and_by_last_activity(logged_in, owner, make_agent):
    now = timezone.now()
    for i, name in enumerate(["beta", "Alpha", "gamma"]):
        agent = make_agent(owner, name)
        Agent.objects.filter(pk=agent.pk).update(last_activity=now - timedelta(minutes=10 * i))
    assert _names(logged_in.get(URL)) == ["Alpha", "beta", "gamma"]  # the console's default: name
    assert _names(logged_in.get(URL, {"sort": "-name"})) == ["gamma", "beta", "Alpha"]
    assert _names(logged_in.get(URL, {"sort": "-last_activity"})) == ["beta", "Alpha", "gamma"]
    assert '<option value="-name" selected>' in logged_in.get(URL, {"sort": "-name"}).content.decode()


def test_cursor_pagination_walks_every_agent_once_keeping_the_filters(logged_in, owner, make_agent):
    # given 23 agents tagged "x" and one that is not
    for i in range(23):
        make_agent(owner, f"a{i:02d}", tags=["x"])
    make_agent(owner, "untagged")
    seen, url, pages = [], f"{URL}?tag=x&limit=10", 0
    # when the "Next" links are followed
    while url:
        response = logged_in.get(url)
        assert response.status_code == 200
        seen += _names(response)
        pages += 1
        match = re.search(r'<a href="(\?[^"]+)" [^>]*rel="next"', response.content.decode())
        url = URL + match.group(1).replace("&amp;", "&") if match else None
        if url:
            assert "tag=x" in url and "cursor=" in url
    # then
    assert pages == 3
    assert seen == [f"a{i:02d}" for i in range(23)]


def test_htmx_request_gets_only_the_results(logged_in, owner, make_agent):
    make_agent(owner, "Only")
    response = logged_in.get(URL, {"q": "only"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and '<table class="agent-table">' in body
    assert _names(response) == ["Only"]
    # a history restore (back button after hx-push-url) needs the whole page
    restore = logged_in.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()


def test_unknown_status_is_an_error_beside_the_field(logged_in, owner, make_agent):
    make_agent(owner, "Any")
    response = logged_in.get(URL, {"status": "sleeping"})
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(r'data-field="status">.*?<ul class="errorlist" id="id_status_error"[^>]*><li>Select a valid '
                     r'choice\.', body, re.S)
    assert _names(response) == []


def test_unknown_sort_and_bad_cursor_are_clear_errors(logged_in, owner, make_agent):
    make_agent(owner, "Any")
    sort = logged_in.get(URL, {"sort": "owner"})
    assert sort.status_code == 400
    assert re.search(r'id="id_sort_error" role="alert"><li>Unknown sort field', sort.content.decode())
    cursor = logged_in.get(URL, {"cursor": "garbage"})
    assert cursor.status_code == 400
    assert "Invalid cursor parameter." in cursor.content.decode()
    assert "Start again from the first page" in cursor.content.decode()


def test_query_count_does_not_grow_with_the_agents(client, owner, make_agent, django_assert_num_queries):
    # given one agent
    make_agent(owner, "first", tags=["a", "b"])
    client.force_login(owner)
    with django_assert_num_queries(5) as one:
        assert client.get(URL).status_code == 200
    # when there are thirty, with tags
    for i in range(29):
        agent = make_agent(owner, f"agent {i}")
        AgentTag.objects.create(agent=agent, name=f"t{i}")
    # then the same queries render them all
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(URL)
    assert len(_names(response)) == 30


def test_the_total_is_the_users_agents_and_with_a_filter_those_it_keeps(client, owner, make_user, make_agent,
                                                                        add_member):
    # given three agents of the owner's, one paused, one shared with them, and one they cannot see
    make_agent(owner, "One")
    make_agent(owner, "Two", status=AgentStatus.PAUSED)
    make_agent(owner, "Three")
    add_member(make_agent(make_user("bob"), "Shared"), owner, "viewer")
    make_agent(make_user("carl"), "Not mine")
    client.force_login(owner)
    # when the list is unfiltered, then its total is the user's membership count (one row, not a scan of the agents)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(URL).content.decode()
    assert "4 agents" in body
    counts = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT COUNT(")]
    assert counts == [], counts
    # when a filter is given, then the total counts what it keeps
    assert "1 agent" in client.get(URL, {"status": "paused"}).content.decode()
    assert "3 agents" in client.get(URL, {"status": "active"}).content.decode()
