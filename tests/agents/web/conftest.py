"""Fixtures the console's agent pages share: the owner, an agent of theirs,
and a test client logged in as the owner.  A module whose tests need a
particular agent (a config, a pipeline, a slug) overrides ``agent``."""

import pytest


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def agent(make_agent, owner):
    """An agent of ``owner``'s named "Team Bot" (test_members' transfer tests rely on the name)."""
    return make_agent(owner, "Team Bot")


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client
