"""The agent reads every request makes: ``agent_get_for_user``'s and
``agent_page_for_user``'s statements must find exactly what the ORM's
``agents_visible_to`` and ``with_representation`` find, for every kind of
caller, reference and page (and the page must represent each agent as
``AgentSerializer`` does)."""

from datetime import timedelta

import orjson
import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from agents import selectors, services
from agents import sql as agent_sql
from agents.api.base import AgentSerializer
from agents.models import Agent, AgentSkill, AgentTag, Schedule, Skill
from core.errors import NotFound
from core.pagination import PageWindow

REPRESENTED = ("role", "owner_email", "execution_count", "version_count", "schedule_count", "thread_count",
               "artifact_count", "knowledge_document_count", "message_count")


@pytest.fixture
def agent(make_user, make_agent):
    owner = make_user("owner")
    agent = make_agent(owner, "Helper", tags=["zeta", "alpha", "mid"], description="Helps")
    Schedule.objects.create(agent=agent, name="nightly", cron="0 3 * * *", created_by=owner)
    return agent


def _orm_read(user, agent):
    return selectors.agent_list_for_user(user=user).get(pk=agent.pk)


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff"])
@pytest.mark.parametrize("by", ["id", "slug"])
def test_one_agent_reads_what_the_orm_reads(agent, make_user, add_member, caller, by):
    user = agent.owner if caller == "owner" else make_user(caller, is_staff=caller == "staff")
    if caller == "viewer":
        add_member(agent, user, "viewer")
    ref = str(agent.pk) if by == "id" else agent.slug

    read = selectors.agent_get_for_user(user=user, ref=ref)
    expected = _orm_read(user, agent)

    assert read.pk == agent.pk
    assert {name: getattr(read, name) for name in REPRESENTED} == {
        name: getattr(expected, name) for name in REPRESENTED}
    assert read.role == ("owner" if caller in ("owner", "staff") else "viewer")
    assert read.schedule_count == 1
    assert read.owner_email == agent.owner.email
    assert read.tag_names == expected.tag_names == ["zeta", "alpha", "mid"]  # by position, not by name
    assert read.config == expected.config and read.pipeline == expected.pipeline
    assert read.created_at == expected.created_at and read.created_at.tzinfo is not None


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff"])
@pytest.mark.parametrize("by", ["id", "slug"])
def test_the_detail_read_is_the_agent_as_the_serializer_represents_it(agent, make_user, add_member, caller, by,
                                                                      django_assert_num_queries):
    user = agent.owner if caller == "owner" else make_user(caller, is_staff=caller == "staff")
    if caller == "viewer":
        add_member(agent, user, "viewer")
    agent.config = {**agent.config, "env": {"API_KEY": {"value": "sk-secret", "secret": True},
                                            "MODE": {"value": "fast"}}}
    agent.save()
    ref = str(agent.pk) if by == "id" else agent.slug
    with django_assert_num_queries(1):
        read = selectors.agent_get_represented_for_user(user=user, ref=ref)
    whole = selectors.agent_get_for_user(user=user, ref=ref)
    assert orjson.loads(read.represented_json) == AgentSerializer(whole).data
    assert "sk-secret" not in read.represented_json
    assert (read.pk, read.revision, read.role) == (whole.pk, whole.revision, whole.role)
    assert services.agent_etag(read) == services.agent_etag(whole)
    # only what the role check and the ETag need was read into the instance
    assert read.get_deferred_fields() == {f.attname for f in Agent._meta.concrete_fields} - {"id", "revision"}


@pytest.mark.parametrize("ref", ["a-stranger-s-agent", "00000000-0000-0000-0000-000000000000", "bad ref;--", ""])
def test_the_detail_read_of_an_agent_a_stranger_cannot_see_is_not_found(agent, make_user, ref):
    with pytest.raises(NotFound):
        selectors.agent_get_represented_for_user(user=make_user("stranger"),
                                                 ref=agent.slug if ref == "a-stranger-s-agent" else ref)


def test_the_tags_follow_their_positions_not_the_rows_order(agent, django_assert_num_queries):
    AgentTag.objects.filter(agent=agent, name="zeta").update(position=9)
    read = selectors.agent_get_for_user(user=agent.owner, ref=agent.slug)
    with django_assert_num_queries(0):  # the tags came with the agent
        assert read.tag_names == ["alpha", "mid", "zeta"]


def test_without_the_representation_only_the_role_is_added(agent, django_assert_num_queries):
    with django_assert_num_queries(1):
        read = selectors.agent_get_for_user(user=agent.owner, ref=str(agent.pk), representation=False)
    assert read.role == "owner"
    assert not hasattr(read, "owner_email") and not hasattr(read, "tag_pairs")
    assert read.tag_names == ["zeta", "alpha", "mid"]  # read on demand


def test_an_agent_with_no_tags_reads_an_empty_list(make_user, make_agent):
    owner = make_user()
    bare = make_agent(owner, "Bare")
    read = selectors.agent_get_for_user(user=owner, ref=bare.slug)
    assert read.tag_names == [] and read.owner_email == owner.email and read.version_count == 0


@pytest.mark.parametrize("ref", ["a-stranger-s-agent", "00000000-0000-0000-0000-000000000000", "bad ref;--", "",
                                 "ÜNICODE"])
def test_a_stranger_and_a_bad_reference_find_nothing(agent, make_user, ref, django_assert_max_num_queries):
    if ref == "a-stranger-s-agent":
        ref = agent.slug
    stranger = make_user("stranger")
    for representation in (True, False):
        with django_assert_max_num_queries(1), pytest.raises(NotFound):
            selectors.agent_get_for_user(user=stranger, ref=ref, representation=representation)


def test_a_reference_that_cannot_name_an_agent_makes_no_query(agent, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(NotFound):
        selectors.agent_get_for_user(user=agent.owner, ref="not a slug")


@pytest.mark.django_db
def test_an_agents_skill_texts_come_in_connection_order_in_one_statement(user, make_agent,
                                                                          django_assert_num_queries):
    agent, other = make_agent(user), make_agent(user)
    start = timezone.now()
    skills = [Skill.objects.create(owner=user, name=f"Skill {i}", content=f"Do thing {i}.") for i in range(4)]
    for i, skill in enumerate(skills):  # connected in reverse: the order is theirs, not the skills'
        AgentSkill.objects.create(agent=agent, skill=skill, connected_at=start - timedelta(seconds=i))
    AgentSkill.objects.create(agent=other, skill=Skill.objects.create(owner=user, name="Other's"))

    with django_assert_num_queries(1):
        texts = selectors.agent_skill_texts(agent, limit=3)

    assert texts == [("Skill 3", "Do thing 3."), ("Skill 2", "Do thing 2."), ("Skill 1", "Do thing 1.")]
    assert texts == [(link.skill.name, link.skill.content) for link in selectors.agent_skills(agent)[:3]]
    assert selectors.agent_skill_texts(make_agent(user)) == []


# --- a page of the unfiltered list ----------------------------------------------------------------

SORT_KEYS = ("name_key", "created_at", "updated_at", "last_activity")


@pytest.fixture
def listed(make_user, make_agent, add_member):
    """Six agents the owner sees, two of them a viewer sees too, with ties in
    every timestamp (broken by id), and a stranger's agent nobody else sees."""
    owner, viewer = make_user("owner"), make_user("viewer")
    agents = [make_agent(owner, name, tags=[f"t{i}", "all"]) for i, name in
              enumerate(["beta", "Alpha", "gamma", "delta", "Epsilon", "zeta"])]
    instant = timezone.now() - timedelta(days=1)
    Agent.objects.filter(pk__in=[agents[1].pk, agents[3].pk, agents[4].pk]).update(
        created_at=instant, updated_at=instant, last_activity=instant)
    for agent in agents[:2]:
        add_member(agent, viewer, "viewer")
    Schedule.objects.create(agent=agents[2], name="nightly", cron="0 3 * * *", created_by=owner)
    make_agent(make_user("stranger"), "hidden")
    return {"owner": owner, "viewer": viewer, "staff": make_user("staff", is_staff=True)}


def _represented(agents, field: str) -> list:
    """Each agent of an ORM page where a cursor finds it, as the API represents it."""
    return [((getattr(agent, field), agent.pk), AgentSerializer(agent).data) for agent in agents]


def _page(page) -> list:
    return [(agent.position(), orjson.loads(agent.json)) for agent in page]


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff"])
@pytest.mark.parametrize("field", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_a_page_reads_what_the_orm_reads_for_every_window(listed, caller, field, descending,
                                                          django_assert_num_queries):
    user = listed[caller]
    everything = PageWindow(field, descending, None, 0, 100).of(selectors.agent_list_for_user(user=user))
    assert len(everything) == {"owner": 6, "viewer": 2, "staff": 7}[caller]
    middle = everything[len(everything) // 2]
    windows = [PageWindow(field, descending, None, 0, 3), PageWindow(field, descending, None, 1, 2),
               PageWindow(field, descending, None, 0, 100)]
    windows += [PageWindow(field, descending, (op, getattr(middle, field), middle.pk), 0, size)
                for op in ("lt", "gt") for size in (1, 3)]
    for window in windows:
        with django_assert_num_queries(1):
            page = selectors.agent_page_for_user(user=user, window=window)
        assert _page(page) == _represented(window.of(selectors.agent_list_for_user(user=user)), field), window


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff"])
@pytest.mark.parametrize("field", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_a_page_read_from_the_memberships_is_the_page_walked(listed, caller, field, descending,
                                                             django_assert_num_queries):
    """A user who sees few agents has their page read from their memberships
    (``PAGE_FROM_MEMBERSHIPS``), by the plain list's statement and through
    the ORM: the same agents, in the same order, as walking every agent."""
    user = listed[caller]
    memberships = selectors.agent_count_for_user(user)
    walked = selectors.agent_list_for_user(user=user)
    from_memberships = selectors.agent_list_for_user(user=user, memberships=memberships)
    middle = PageWindow(field, descending, None, 0, 100).of(walked)[1]
    windows = [PageWindow(field, descending, None, 0, 3), PageWindow(field, descending, None, 1, 100)]
    windows += [PageWindow(field, descending, (op, getattr(middle, field), middle.pk), 0, 2) for op in ("lt", "gt")]
    for window in windows:
        with django_assert_num_queries(1):
            page = selectors.agent_page_for_user(user=user, window=window, memberships=memberships)
        assert _page(page) == _represented(window.of(walked), field), window
        assert _represented(window.of(from_memberships), field) == _represented(window.of(walked), field), window


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff"])
@pytest.mark.parametrize("field", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("filters", [{"tag_rows__name": "all"}, {"tag_rows__name": "t1"}, {"name_key__gt": "c"},
                                     {"status": "inactive"}])
def test_a_filtered_page_is_represented_as_the_orm_and_serializer_read_it(listed, caller, field, descending, filters,
                                                                          django_assert_num_queries):
    user = listed[caller]
    memberships = selectors.agent_count_for_user(user)
    agents = selectors.agents_listed_for(user=user, memberships=memberships).filter(**filters)
    represented = selectors.with_representation(selectors.agents_visible_to(user).filter(**filters))
    everything = PageWindow(field, descending, None, 0, 100).of(represented)
    windows = [PageWindow(field, descending, None, 0, 3), PageWindow(field, descending, None, 1, 100)]
    if everything:
        middle = everything[len(everything) // 2]
        windows += [PageWindow(field, descending, (op, getattr(middle, field), middle.pk), 0, 2)
                    for op in ("lt", "gt")]
    for window in windows:
        with django_assert_num_queries(1):
            page = selectors.agent_page_of(user=user, agents=agents, window=window)
        assert _page(page) == _represented(window.of(represented), field), window


@pytest.mark.parametrize("caller", ["owner", "viewer", "staff", "nobody"])
@pytest.mark.parametrize("filters", [{"tag_rows__name": "all"}, {"tag_rows__name": "t1"}, {"name_key__startswith": "e"},
                                     {"status": "inactive"}])
def test_a_filtered_count_from_the_memberships_is_the_count_scanned(listed, make_user, monkeypatch, caller,
                                                                    filters):
    user = listed.get(caller) or make_user(caller)
    memberships = selectors.agent_count_for_user(user)
    agents = selectors.agent_list_for_user(user=user, memberships=memberships).filter(**filters)
    scanned = selectors.agents_visible_to(user).filter(**filters).count()
    assert selectors.agent_list_count(user=user, agents=agents, memberships=memberships) == scanned
    monkeypatch.setattr(selectors, "COUNT_FROM_MEMBERSHIPS", -1)  # every count a scan
    assert selectors.agent_list_count(user=user, agents=agents, memberships=memberships) == scanned


def _plan(sql: str, params: list) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [detail for _id, parent, _unused, detail in cursor.fetchall() if parent == 0]


def test_the_page_of_a_user_who_sees_few_agents_starts_from_their_memberships(listed, monkeypatch):
    """SQLite's plan: below ``PAGE_FROM_MEMBERSHIPS`` the agents are looked up
    by id from the user's memberships (and the few sorted), above it the
    sort key's index is walked, by the plain list's statement and the ORM's."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its statistics")
    viewer = listed["viewer"]
    user_id = viewer._meta.pk.get_db_prep_value(viewer.pk, connection)
    looked_up = "SEARCH agents_agent USING INDEX sqlite_autoindex_agents_agent_1 (id=?)"
    for among, expected in ((True, looked_up), (False, "SCAN agents_agent USING INDEX agent_name_key_id")):
        read = agent_sql._agent_page_read(staff=False, field="name_key", descending=False, op=None, among=among)
        assert expected in _plan(read.sql, [user_id, user_id, 51, 0]), among
    for memberships, expected in ((selectors.PAGE_FROM_MEMBERSHIPS, looked_up),
                                  (selectors.PAGE_FROM_MEMBERSHIPS + 1, "SCAN agents_agent USING INDEX agent_name")):
        page = PageWindow("name_key", False, None, 0, 51).ordering()
        sql, params = (selectors.agent_list_for_user(user=viewer, memberships=memberships)
                       .order_by(*page)[:51].query.sql_with_params())
        assert [detail for detail in _plan(sql, list(params)) if detail.startswith(expected)], memberships


def test_a_page_past_the_last_row_is_empty_and_a_stranger_sees_nothing(listed, make_user):
    window = PageWindow("created_at", True, None, 50, 10)
    assert selectors.agent_page_for_user(user=listed["owner"], window=window) == []
    first = PageWindow("created_at", True, None, 0, 10)
    assert selectors.agent_page_for_user(user=make_user("nobody"), window=first) == []


def test_the_count_is_what_the_page_holds(listed, make_user, django_assert_num_queries):
    for caller, user in [*listed.items(), ("nobody", make_user("nobody"))]:
        with django_assert_num_queries(1):
            total = selectors.agent_count_for_user(user)
        assert total == selectors.agents_visible_to(user).count(), caller


@pytest.mark.parametrize("field", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_a_page_in_every_sort_order_is_read_in_its_index_order(listed, field, descending):
    """Each sort key is indexed with the id that breaks its ties, so the
    database walks the index and stops after the page.  With the key alone,
    agents sharing a time were sorted in full for every page (SQLite's plan:
    a temporary B-tree for the right part of the ORDER BY)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its statistics")
    read = agent_sql._agent_page_read(staff=False, field=field, descending=descending, op=None)
    owner = listed["owner"]
    user_id = owner._meta.pk.get_db_prep_value(owner.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {read.sql}", [user_id, user_id, 51, 0])
        top = [detail for _id, parent, _unused, detail in cursor.fetchall() if parent == 0]
    assert any(detail.startswith("SCAN agents_agent USING INDEX agent_") for detail in top), top
    assert not [detail for detail in top if "TEMP B-TREE" in detail], top


def test_of_visible_agents_keeps_the_rows_of_the_agents_the_user_sees(listed, make_user):
    tags = AgentTag.objects.filter(name="all")
    assert tags.filter(selectors.of_visible_agents(listed["owner"])).count() == 6
    viewer_sees = tags.filter(selectors.of_visible_agents(listed["viewer"])).values_list("agent__name", flat=True)
    assert sorted(viewer_sees) == ["Alpha", "beta"]
    assert not tags.filter(selectors.of_visible_agents(make_user("nobody"))).exists()
    # staff see every agent: no condition at all
    assert selectors.of_visible_agents(listed["staff"]) == Q()
    everyone = AgentTag.objects.filter(selectors.of_visible_agents(listed["staff"])).count()
    assert everyone == AgentTag.objects.count()


@pytest.mark.parametrize("from_memberships", [False, True])
def test_the_tag_names_offered_are_those_of_visible_agents_once_each_sorted(listed, make_user, add_member,
                                                                            django_assert_num_queries,
                                                                            from_memberships):
    def names_for(user):
        memberships = selectors.agent_count_for_user(user) if from_memberships else None
        with django_assert_num_queries(1):
            return selectors.agent_tag_names_for_user(user=user, memberships=memberships)

    assert names_for(listed["viewer"]) == ["all", "t0", "t1"]
    assert names_for(listed["owner"]) == ["all", "t0", "t1", "t2", "t3", "t4", "t5"]
    assert names_for(make_user("nobody")) == []
    hidden = Agent.objects.get(name="hidden")
    AgentTag.objects.create(agent=hidden, name="secret")
    assert "secret" not in names_for(listed["owner"])
    assert "secret" in names_for(listed["staff"])
