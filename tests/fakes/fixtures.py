"""Pytest plugin with the fake LLM server (register with ``pytest_plugins``).

``fake_llm`` is one server for the whole session (one per xdist worker);
``fresh_fake_llm`` is the same server with scripts and records cleared before
and after the test, which is what most tests want.
"""

import pytest

from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture(scope="session")
def fake_llm():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fresh_fake_llm(fake_llm):
    fake_llm.reset()
    yield fake_llm
    fake_llm.reset()
