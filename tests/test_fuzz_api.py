"""Property-based fuzzing of every documented operation from the OpenAPI
schema (schemathesis): whatever a client sends, the answer is never a 500.

The suite replays the same examples each run so CI is repeatable;
`make fuzz` explores new ones (AGENTRY_FUZZ_RANDOM=1, more examples)."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.conftest import ALL_SCOPES

# Loading the schema needs no database: it is generated from the code.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Calling the WSGI app directly fires request_started/finished, whose
    close_old_connections would close the test's connection mid-transaction
    (PostgreSQL); Django's own test client mutes them the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def auth_header(make_user, make_token, make_agent):
    owner = make_user("fuzzer", is_staff=True)
    make_agent(owner, name="Fuzz Target", slug="fuzz-target")
    return {"Authorization": f"Bearer {make_token(owner, ALL_SCOPES)}"}


# Revoking tokens would cut the fuzzer's own credentials; the tokens API is
# covered by tests/accounts.  A streamed run executes in a thread with its own
# connection, which cannot see this test's uncommitted rows; its bodies are
# the same as invoke's, and tests/executions/api/test_executions_stream.py covers it.
@schema.exclude(path="/api/v1/auth/tokens/{token}").exclude(path="/api/v1/agents/{agent}/run/stream").parametrize()
@settings(max_examples=int(os.environ.get("AGENTRY_FUZZ_EXAMPLES", "20")), deadline=None,
          derandomize=os.environ.get("AGENTRY_FUZZ_RANDOM") != "1",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_operation_answers_500(case, auth_header):
    # Aim at an agent that exists, so bodies reach validation and the services
    # rather than stopping at a 404.
    if case.path_parameters and "agent" in case.path_parameters:
        case.path_parameters["agent"] = "fuzz-target"
    response = case.call(headers=auth_header)
    case.validate_response(response, checks=[not_a_server_error])
