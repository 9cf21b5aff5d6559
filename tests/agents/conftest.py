"""Fixtures for the agents tests that run agents (brain, runtime, templates,
wizard …): the fake LLM server as providers, shared with the execution tests."""

from tests.executions.conftest import _quick_retries, llm, server, staff  # noqa: F401
