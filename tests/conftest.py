"""Fixtures shared by the whole suite: factories for users, tokens and agents,
and API clients that authenticate the way real callers do."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.actor import Actor
from accounts.models import Scope
from accounts.roles import Role
from accounts.services import token_create
from agents.models import AgentMember
from agents.services import agent_create

pytest_plugins = ["tests.fakes.fixtures", "tests.fakes.worker", "tests.fakes.asgi"]

ALL_SCOPES = list(Scope.values)
META_KEYS = {"total", "limit", "offset", "has_more", "next_cursor", "prev_cursor"}
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def make(username=None, *, is_staff=False, **extra):
        n = next(_seq)
        username = username or f"user{n}"
        return get_user_model().objects.create_user(
            username=username, email=extra.pop("email", f"{username}@example.com"),
            password="pw-123456789", is_staff=is_staff, **extra)
    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def make_token(db):
    def make(user, scopes=None, **kwargs):
        _token, raw = token_create(user=user, name=kwargs.pop("name", "test"),
                                   scopes=scopes or ALL_SCOPES, **kwargs)
        return raw
    return make


@pytest.fixture
def api(make_token):
    """``api(user, scopes=[...], form="bearer"|"token"|"x-api-key")`` → an
    APIClient sending a fresh token; ``api()`` is anonymous."""
    def make(user=None, scopes=None, form="bearer"):
        client = APIClient()
        if user is not None:
            raw = make_token(user, scopes)
            if form == "x-api-key":
                client.credentials(HTTP_X_API_KEY=raw)
            else:
                client.credentials(HTTP_AUTHORIZATION=f"{'Token' if form == 'token' else 'Bearer'} {raw}")
        return client
    return make


@pytest.fixture
def make_agent(db):
    def make(owner, name=None, **fields):
        name = name or f"Agent {next(_seq)}"
        return agent_create(actor=Actor(user=owner), name=name, **fields)
    return make


@pytest.fixture
def add_member(db):
    def add(agent, user, role):
        return AgentMember.objects.create(agent=agent, user=user, role=Role(role))
    return add


def session(user):
    """An API client logged in with a browser session (no token)."""
    client = APIClient()
    client.force_login(user)
    return client


def problem(response, status, code):
    """Assert ``response`` is a problem+json error with this status and code."""
    assert response.status_code == status, response.content
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "errors"}
    return body
