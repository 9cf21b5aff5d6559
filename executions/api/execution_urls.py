"""Routes for runs and executions (API.md §4)."""

from django.urls import re_path

from executions.api import views

agent_runs = views.AgentExecutionViewSet.as_view
executions = views.ExecutionViewSet.as_view
AGENT = r"^agents/(?P<agent>[^/]+)"
EXECUTION = r"^executions/(?P<id>[^/]+)"

urlpatterns = [
    re_path(AGENT + r"/invoke/?$", agent_runs({"post": "invoke"}), name="agent-invoke"),
    re_path(AGENT + r"/executions/?$", agent_runs({"get": "list", "post": "create"}), name="agent-execution-list"),
    re_path(AGENT + r"/executions/async/?$", agent_runs({"post": "start_async"}), name="agent-execution-async"),
    re_path(AGENT + r"/executions/(?P<id>[^/]+)/?$", agent_runs({"get": "retrieve"}),
            name="agent-execution-detail"),
    re_path(AGENT + r"/run/?$", agent_runs({"post": "run"}), name="agent-run"),
    re_path(AGENT + r"/run/stream/?$", agent_runs({"post": "stream"}), name="agent-run-stream"),
    re_path(AGENT + r"/cost-estimate/?$", views.CostEstimateViewSet.as_view({"get": "retrieve"}),
            name="agent-cost-estimate"),
    re_path(EXECUTION + r"/?$", executions({"get": "retrieve"}), name="execution-detail"),
    re_path(EXECUTION + r"/events/?$", executions({"get": "events"}), name="execution-events"),
    re_path(EXECUTION + r"/cancel/?$", executions({"post": "cancel"}), name="execution-cancel"),
]
