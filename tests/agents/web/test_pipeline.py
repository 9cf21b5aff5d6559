"""The pipeline tab: the layered layout of the graph, the page that draws it,
each node's configuration on demand (page or htmx panel), and the tables
that carry the same graph for screen readers."""

import re

import pytest

from agents.web.graph_layout import NODE_H, NODE_W, key_data, layout

pytestmark = pytest.mark.django_db

DIAMOND = {
    "nodes": [
        {"id": "in", "type": "input", "data": {"schema": {"type": "object", "properties": {"topic": {}}}}},
        {"id": "facts", "type": "llm_call", "data": {"provider": "echo", "model": "echo",
                                                     "user_prompt_template": "Facts about {{input.topic}}"}},
        {"id": "jokes", "type": "template", "data": {"template": "Jokes about {{input.topic}}"}},
        {"id": "out", "type": "output", "data": {"mapping": {"facts": "{{nodes.facts.output}}",
                                                             "jokes": "{{nodes.jokes.output}}"}}},
    ],
    "edges": [{"id": "e1", "source": "in", "target": "facts"}, {"id": "e2", "source": "in", "target": "jokes"},
              {"id": "e3", "source": "facts", "target": "out"}, {"id": "e4", "source": "jokes", "target": "out"}],
}
CONDITIONAL = {
    "nodes": [
        {"id": "in", "type": "input", "data": {}},
        {"id": "check", "type": "condition", "data": {"expression": "input.message | length > 3"}},
        {"id": "long", "type": "output", "data": {"mapping": "long"}},
        {"id": "short", "type": "output", "data": {"mapping": "short"}},
    ],
    "edges": [{"id": "e1", "source": "in", "target": "check"},
              {"id": "yes", "source": "check", "target": "long", "condition": "true"},
              {"id": "no", "source": "check", "target": "short", "condition": "false"}],
}


# --- layout ---------------------------------------------------------------------------------

def test_diamond_branches_share_a_column_one_above_the_other():
    graph = layout(DIAMOND)
    boxes = {box.id: box for box in graph.boxes}
    assert {i: b.column for i, b in boxes.items()} == {"in": 0, "facts": 1, "jokes": 1, "out": 2}
    assert boxes["facts"].x == boxes["jokes"].x and boxes["facts"].y + NODE_H < boxes["jokes"].y
    # single nodes sit level with the middle of the two branches
    middle = (boxes["facts"].y + boxes["jokes"].y) / 2
    assert boxes["in"].y == boxes["out"].y == middle
    assert graph.width == boxes["out"].x + NODE_W + 16 and graph.height > 2 * NODE_H
    assert [w.id for w in graph.wires] == ["e1", "e2", "e3", "e4"]
    assert boxes["out"].incoming == [{"node": "facts", "condition": None}, {"node": "jokes", "condition": None}]


def test_a_column_is_the_longest_path_to_the_node():
    pipeline = {"nodes": [{"id": n, "type": "template", "data": {"template": n}} for n in ("a", "b", "c", "d")],
                "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                          {"source": "a", "target": "d"}, {"source": "c", "target": "d"}]}
    assert {b.id: b.column for b in layout(pipeline).boxes} == {"a": 0, "b": 1, "c": 2, "d": 3}
    # every edge points right, so its curve starts left of where it ends
    for wire in layout(pipeline).wires:
        start, end = re.match(r"M([\d.]+),[\d.]+ C.* ([\d.]+),[\d.]+$", wire.path).groups()
        assert float(start) < float(end)


def test_rows_follow_their_predecessors_to_avoid_crossings():
    # b2 feeds x1 and b1 feeds x2: the second column is reordered to match.
    pipeline = {"nodes": [{"id": n, "type": "template", "data": {}} for n in ("in", "b1", "b2", "x1", "x2")],
                "edges": [{"source": "in", "target": "b1"}, {"source": "in", "target": "b2"},
                          {"source": "b2", "target": "x1"}, {"source": "b1", "target": "x2"}]}
    rows = {b.id: b.row for b in layout(pipeline).boxes}
    assert rows["x2"] < rows["x1"]


def test_condition_edges_keep_their_label_and_cycles_do_not_hang():
    wires = {w.id: w for w in layout(CONDITIONAL).wires}
    assert (wires["yes"].condition, wires["no"].condition) == ("true", "false")
    cyclic = {"nodes": [{"id": "a", "type": "template", "data": {}}, {"id": "b", "type": "template", "data": {}}],
              "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}
    assert len(layout(cyclic).boxes) == 2
    assert layout(None).boxes == [] and layout({"nodes": "junk", "edges": None}).width == 0


def test_key_data_says_what_each_node_does():
    assert key_data("input", DIAMOND["nodes"][0]["data"]) == [("fields", "topic")]
    assert key_data("llm_call", DIAMOND["nodes"][1]["data"]) == [
        ("model", "echo/echo"), ("user prompt template", "Facts about {{input.topic}}")]
    assert key_data("llm_call", {}) == [("model", "the agent's model")]
    assert key_data("output", DIAMOND["nodes"][3]["data"]) == [("keys", "facts, jokes")]
    assert key_data("http_request", {"method": "GET", "url": "https://x.test"}) == [
        ("method", "GET"), ("url", "https://x.test")]


# --- the page -------------------------------------------------------------------------------------

@pytest.fixture
def agent(owner, make_agent):
    return make_agent(owner, "Diamond", pipeline=DIAMOND)


def url(agent):
    return f"/agents/{agent.slug}/pipeline/"


def test_owner_sees_the_graph_and_the_tables(client, owner, agent):
    client.force_login(owner)
    response = client.get(url(agent))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<svg class="pipeline-graph"' in body
    for node in ("in", "facts", "jokes", "out"):
        assert f'data-node="{node}"' in body  # a link per node in the drawing
        assert f'<th scope="row"><a href="?node={node}#node-panel"' in body  # and a row in the table
    assert body.count('marker-end="url(#arrow)"') == 4
    assert "model: echo/echo" in body and "echo/echo</text>" in body
    assert 'aria-current="page">Pipeline</a>' in body  # the tab is marked current
    assert "Edit as JSON/YAML" in body


def test_viewer_reads_the_pipeline_without_the_edit_link(client, agent, make_user, add_member):
    viewer = make_user("vic")
    add_member(agent, viewer, "viewer")
    client.force_login(viewer)
    response = client.get(url(agent))
    assert response.status_code == 200
    assert 'data-node="facts"' in response.content.decode()
    assert "Edit as JSON/YAML" not in response.content.decode()


def test_non_members_get_404_and_anonymous_users_log_in(client, agent, make_user):
    client.force_login(make_user("stranger"))
    assert client.get(url(agent)).status_code == 404
    client.logout()
    assert client.get(url(agent))["Location"] == f"/login/?next={url(agent)}"


def test_choosing_a_node_shows_its_configuration(client, owner, agent):
    client.force_login(owner)
    # without JavaScript: the whole page, with the panel filled and the node marked
    page = client.get(url(agent), {"node": "facts"}).content.decode()
    assert 'class="node node--llm_call node--selected"' in page
    panel = page[page.index('<aside id="node-panel"'):page.index("</aside>")]
    assert "Node <code>facts</code>" in panel
    assert "&quot;user_prompt_template&quot;: &quot;Facts about {{input.topic}}&quot;" in panel
    assert "<dt>Inputs from</dt><dd><code>in</code></dd>" in panel
    # with htmx: the panel alone
    response = client.get(url(agent), {"node": "out"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith("<aside id=\"node-panel\"")
    assert 'data-selected="out"' in body and "<svg" not in body


def test_an_unknown_node_is_said_so(client, owner, agent):
    client.force_login(owner)
    response = client.get(url(agent), {"node": "nope"})
    assert response.status_code == 404
    assert "This pipeline has no node <code>nope</code>." in response.content.decode()
    panel = client.get(url(agent), {"node": "nope"}, headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "This pipeline has no node" in panel.content.decode()


def test_an_agent_without_nodes_says_it_runs_its_configuration(client, owner, make_agent):
    agent = make_agent(owner, "Plain")
    client.force_login(owner)
    body = client.get(url(agent)).content.decode()
    assert "This agent has no pipeline" in body and "<svg" not in body


def test_condition_edges_are_labelled_in_the_drawing_and_the_table(client, owner, make_agent):
    agent = make_agent(owner, "Branches", pipeline=CONDITIONAL)
    client.force_login(owner)
    body = client.get(url(agent)).content.decode()
    assert 'class="wire wire--true"' in body and 'class="wire wire--false"' in body
    assert re.search(r"<tr><th scope=\"row\">no</th><td>check</td><td>short</td><td>false</td></tr>", body)
