"""The webhook trigger tests run against the admin side's agent and secret
(tests/agents/api/test_webhooks.py): a hook-bot whose webhook is enabled."""

from tests.agents.api.test_webhooks import agent, owner, secret  # noqa: F401
