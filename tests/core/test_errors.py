"""Every error is RFC 9457 problem+json with a stable code, never a trace."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents.models import Agent
from tests.conftest import problem


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = "tests.urls_failing"
    settings.DEBUG = False


@pytest.mark.django_db
class TestProblemDetails:
    def test_malformed_json(self, api, user):
        response = api(user).post("/api/v1/agents", data='{"name": ', content_type="application/json")
        body = problem(response, 400, "validation_error")
        assert body["detail"].startswith("Malformed request body")
        assert body["instance"] == "/api/v1/agents"
        assert not Agent.objects.exists()

    @pytest.mark.parametrize("raw", ['{"name": "a\\u0000b"}', '{"name": "a", "config": {"env": {"K": "\\u0000"}}}',
                                     '{"name": "a", "config": {"max_iterations": NaN}}'])
    def test_values_no_database_can_store_are_400(self, api, user, raw):
        response = api(user).post("/api/v1/agents", data=raw, content_type="application/json")
        problem(response, 400, "validation_error")
        assert not Agent.objects.exists()

    def test_unusable_agent_refs_are_404_not_500(self, api, user):
        for ref in ("%00", "a%00b", "%E2%98%83", "x" * 300):
            problem(api(user).get(f"/api/v1/agents/{ref}"), 404, "not_found")

    def test_method_not_allowed(self, api, user):
        body = problem(api(user).delete("/api/v1/agents"), 405, "method_not_allowed")
        assert body["title"] == "Method Not Allowed"

    def test_unsupported_media_type(self, api, user):
        response = api(user).post("/api/v1/agents", data="name=x", content_type="application/x-www-form-urlencoded")
        problem(response, 415, "unsupported_media_type")

    def test_unknown_route_is_404_problem(self, api, user):
        problem(api(user).get("/api/v1/nothing/here"), 404, "not_found")
        problem(Client().get("/no-such-page"), 404, "not_found")
        problem(Client().get("/api/v1/nothing", HTTP_ACCEPT="text/html"), 404, "not_found")

    def test_browser_outside_the_api_gets_html_404(self):
        response = Client().get("/no-such-page", HTTP_ACCEPT="text/html,application/xhtml+xml")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")

    def test_body_over_limit_is_413_before_parsing(self, api, user, settings):
        settings.AGENTRY_MAX_REQUEST_BYTES = 1000
        response = api(user).post("/api/v1/agents", {"name": "x", "description": "d" * 2000})
        body = problem(response, 413, "payload_too_large")
        assert "1000" in body["detail"]
        assert not Agent.objects.exists()

    def test_invalid_content_length_is_400(self, api, user):
        response = api(user).generic("POST", "/api/v1/agents", "{}", content_type="application/json",
                                     CONTENT_LENGTH="lots")
        problem(response, 400, "validation_error")


@pytest.mark.django_db
class TestServerErrors:
    def test_unhandled_error_in_api_view_is_500_problem_without_trace(self, failing_urls):
        response = APIClient(raise_request_exception=False).get("/boom/api")
        body = problem(response, 500, "server_error")
        assert body["detail"] == "An unexpected error occurred."
        assert b"secret internal detail" not in response.content
        assert b"Traceback" not in response.content

    def test_unhandled_error_outside_drf_is_500_problem(self, failing_urls):
        response = Client(raise_request_exception=False).get("/boom/plain")
        body = problem(response, 500, "server_error")
        assert b"secret internal detail" not in response.content
        assert body["instance"] == "/boom/plain"
