"""``AgentMemberCount`` is kept by the database's triggers (migration 0006):
after every kind of write to the member rows, each user's count is the number
of their member rows, and the agents list's total reads it."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count

from accounts.actor import Actor
from accounts.roles import Role
from agents import selectors
from agents.models import Agent, AgentMember, AgentMemberCount
from agents.services.agents import agent_delete
from agents.services.members import member_remove, ownership_transfer


def _kept() -> dict:
    """Every count the triggers keep that is not zero, by user id."""
    return dict(AgentMemberCount.objects.exclude(agents=0).values_list("user_id", "agents"))


def _counted() -> dict:
    """What counting the member rows finds, by user id."""
    return dict(AgentMember.objects.values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))


@pytest.fixture
def owner(make_user):
    return make_user("owner")


def test_each_new_agent_and_member_counts_once(owner, make_user, make_agent, add_member):
    viewer = make_user("viewer")
    first, second = make_agent(owner, "First"), make_agent(owner, "Second")
    add_member(first, viewer, "viewer")

    assert _kept() == {owner.pk: 2, viewer.pk: 1} == _counted()
    assert selectors.agent_count_for_user(owner) == 2
    assert selectors.agent_count_for_user(viewer) == 1
    assert second.members.count() == 1


def test_a_user_without_memberships_counts_zero(make_user, django_assert_num_queries):
    stranger = make_user("stranger")
    with django_assert_num_queries(1):
        assert selectors.agent_count_for_user(stranger) == 0


def test_rows_written_in_bulk_count_too(owner, make_user):
    agents = Agent.objects.bulk_create([Agent(owner=owner, name=f"Bulk {i}", name_key=f"bulk {i}", slug=f"bulk-{i}")
                                        for i in range(5)])
    AgentMember.objects.bulk_create([AgentMember(agent=agent, user=owner, role=Role.OWNER) for agent in agents])

    assert _kept() == {owner.pk: 5} == _counted()

    AgentMember.objects.filter(agent__in=agents[:2]).delete()
    assert _kept() == {owner.pk: 3} == _counted()


def test_removing_a_member_and_deleting_an_agent_uncount(owner, make_user, make_agent, add_member):
    viewer, operator = make_user("viewer"), make_user("operator")
    kept, deleted = make_agent(owner, "Kept"), make_agent(owner, "Deleted")
    for agent in (kept, deleted):
        add_member(agent, viewer, "viewer")
        add_member(agent, operator, "operator")

    member_remove(agent=kept, actor=Actor(user=owner), actor_role=Role.OWNER, user_id=viewer.pk)
    assert _kept() == {owner.pk: 2, viewer.pk: 1, operator.pk: 2} == _counted()

    agent_delete(agent=deleted, actor=Actor(user=owner))  # its member rows go with it
    assert _kept() == {owner.pk: 1, operator.pk: 1} == _counted()
    assert selectors.agent_count_for_user(viewer) == 0


def test_a_transfer_keeps_both_counts(owner, make_user, make_agent, add_member):
    heir, bystander = make_user("heir"), make_user("bystander")
    agent = make_agent(owner, "Handed over")
    make_agent(bystander, "Unrelated")
    add_member(agent, heir, "admin")

    ownership_transfer(agent=agent, actor=Actor(user=owner), actor_role=Role.OWNER, new_owner=heir)

    assert AgentMember.objects.get(agent=agent, user=heir).role == Role.OWNER
    assert _kept() == {owner.pk: 1, heir.pk: 1, bystander.pk: 1} == _counted()


def test_moving_a_member_row_to_another_user_moves_its_count(owner, make_user, make_agent, add_member):
    before, after = make_user("before"), make_user("after")
    agent = make_agent(owner, "Moved")
    add_member(agent, before, "viewer")

    AgentMember.objects.filter(agent=agent, user=before).update(user=after)
    assert _kept() == {owner.pk: 1, after.pk: 1} == _counted()

    member = AgentMember.objects.get(agent=agent, user=after)
    member.role = Role.OPERATOR
    member.save()  # writes every column, user_id too, without changing it
    assert _kept() == {owner.pk: 1, after.pk: 1} == _counted()


def test_deleting_a_user_deletes_their_count_and_no_one_elses(owner, make_user, make_agent, add_member):
    leaving = make_user("leaving")
    agent = make_agent(owner, "Stays")
    add_member(agent, leaving, "viewer")

    leaving.delete()

    assert not AgentMemberCount.objects.filter(user_id=leaving.pk).exists()
    assert _kept() == {owner.pk: 1} == _counted()


def test_a_write_rolled_back_leaves_the_count_as_it_was(owner, make_user, make_agent, add_member):
    viewer = make_user("viewer")
    agent = make_agent(owner, "Rolled back")
    with pytest.raises(RuntimeError), transaction.atomic():
        add_member(agent, viewer, "viewer")
        raise RuntimeError
    assert _kept() == {owner.pk: 1} == _counted()


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_members_already_there(make_user, make_agent, add_member):
    owner, viewer = make_user("owner"), make_user("viewer")
    for name in ("One", "Two"):
        add_member(make_agent(owner, name), viewer, "viewer")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("agents", "0005_member_user_agent_index")])  # the table and its triggers go
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        assert _kept() == {owner.pk: 2, viewer.pk: 2} == _counted()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
