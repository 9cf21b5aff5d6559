"""What the execution pages' tests share: an owner and their agent (a module
that needs another agent, e.g. with a description, overrides ``agent``)."""

import pytest


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    return make_agent(owner, name="Busy Bot", slug="busy-bot")
