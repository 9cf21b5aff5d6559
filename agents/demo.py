"""Demo data for ``make run``: a user with a token and a few agents that run
on the offline ``echo`` provider.

The demo user is a superuser.  ``make run`` is a local, single-person
installation and its demo user is the person who installed it: they should be
able to try everything, the console and every page of the Django admin
(providers, users, tokens …), without first creating another account.  Staff
alone would let them into ``/admin/`` with "You don't have permission to view
or edit anything"; picking model permissions one by one would still hide
whatever a later migration adds.  A production installation creates its own
users and never runs ``seed_demo``."""

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.actor import Actor
from accounts.models import ApiToken, Scope
from accounts.services import token_create
from agents.models import Agent
from agents.services import agent_create

DEMO_TOKEN_NAME = "demo"

SUPPORT_PIPELINE = {
    "nodes": [
        {"id": "input_1", "type": "input", "data": {"schema": {
            "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}},
        # No provider or model here: the node uses the agent's config.model,
        # so pointing the agent at another provider changes what answers.
        {"id": "llm_1", "type": "llm_call", "data": {
            "system_prompt_template": "You are a friendly support agent for Acme.",
            "user_prompt_template": "{{input.message}}"}},
        {"id": "output_1", "type": "output", "data": {"mapping": "{{nodes.llm_1.output}}"}},
    ],
    "edges": [
        {"id": "e1", "source": "input_1", "target": "llm_1"},
        {"id": "e2", "source": "llm_1", "target": "output_1"},
    ],
}

DEMO_AGENTS = [
    {"name": "default", "slug": "default", "description": "The workspace's default assistant.",
     "tags": ["general"], "config": {"instructions": "You are a helpful assistant."}},
    {"name": "Support Bot", "slug": "support-bot", "description": "Answers customer questions.",
     "tags": ["support"], "pipeline": SUPPORT_PIPELINE,
     "config": {"instructions": "Answer politely and briefly.", "personality": "friendly",
                "model": {"provider": "echo", "model": "echo"}}},
    {"name": "Summarizer", "slug": "summarizer", "description": "Summarises text it is given.",
     "tags": ["writing"], "config": {"instructions": "Summarise the user's text in three bullet points."}},
]


@transaction.atomic
def seed_demo(*, username: str = "demo", email: str = "demo@example.com", password: str) -> tuple[object, str]:
    """Create (or refresh) the demo user, a superuser, and the demo agents;
    return the user and a fresh raw token (the previous demo token is
    revoked).  A password the user has changed since is kept."""
    users = get_user_model()
    user, created = users.objects.get_or_create(username=username, defaults={"email": email})
    user.is_staff = user.is_superuser = user.is_active = True
    if created or not user.has_usable_password():
        user.set_password(password)
    user.save()
    ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME).delete()
    _token, raw = token_create(user=user, name=DEMO_TOKEN_NAME, scopes=list(Scope.values))
    actor = Actor(user=user, ip=None, user_agent="seed_demo")
    for spec in DEMO_AGENTS:
        if not Agent.objects.filter(slug=spec["slug"]).exists():
            agent_create(actor=actor, **spec)
    return user, raw
