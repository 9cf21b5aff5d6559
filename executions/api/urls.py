"""The executions app's API routes: providers, runs and executions, the cost
estimate, artifacts, analytics, the knowledge base and the public webhook
trigger.  ``agent_urlpatterns`` are relative to ``agents/{agent}/``, where
``config.urls`` mounts every app's agent routes under one prefix."""

from django.urls import re_path

from core.awaiting import awaits_on_loop
from executions.api.analytics import AnalyticsViewSet
from executions.api.artifacts import ArtifactViewSet
from executions.api.cost_estimate import CostEstimateViewSet
from executions.api.executions import AgentExecutionViewSet, ExecutionViewSet
from executions.api.providers import ProviderViewSet
from executions.api.webhooks import HookView, HookWithoutSecretView
from executions.knowledge.api import urls as knowledge_urls

providers = ProviderViewSet.as_view
agent_runs = AgentExecutionViewSet.as_view
executions = ExecutionViewSet.as_view
EXECUTION = r"^executions/(?P<id>[^/]+)"

# Views that wait for a run or a model call wait on the event loop (core.awaiting).
urlpatterns = [
    # providers
    re_path(r"^providers/?$", providers({"get": "list", "post": "create"}), name="provider-list"),
    re_path(r"^providers/(?P<provider>[^/]+)/?$",
            providers({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}), name="provider-detail"),
    re_path(r"^providers/(?P<provider>[^/]+)/test/?$", awaits_on_loop(providers({"post": "test"})),
            name="provider-test"),
    re_path(EXECUTION + r"/?$", executions({"get": "retrieve"}), name="execution-detail"),
    re_path(EXECUTION + r"/events/?$", executions({"get": "events"}), name="execution-events"),
    re_path(EXECUTION + r"/cancel/?$", executions({"post": "cancel"}), name="execution-cancel"),
    # the public webhook trigger (the webhook's admin endpoints are in agents.api.urls)
    re_path(r"^hooks/(?P<agent>[^/]+)/(?P<secret>[^/]+)/?$", HookView.as_view(), name="webhook-trigger"),
    re_path(r"^hooks/(?P<agent>[^/]+)/?$", HookWithoutSecretView.as_view(), name="webhook-trigger-no-secret"),
]

# Under agents/{agent}/ (config.urls), the hottest first: a request tries them in order.
agent_urlpatterns = [
    # runs and executions
    re_path(r"^invoke/?$", awaits_on_loop(agent_runs({"post": "invoke"})), name="agent-invoke"),
    re_path(r"^executions/?$", awaits_on_loop(agent_runs({"get": "list", "post": "create"})),
            name="agent-execution-list"),
    re_path(r"^executions/async/?$", agent_runs({"post": "start_async"}), name="agent-execution-async"),
    re_path(r"^executions/(?P<id>[^/]+)/?$", agent_runs({"get": "retrieve"}),
            name="agent-execution-detail"),
    re_path(r"^run/?$", agent_runs({"post": "run"}), name="agent-run"),
    re_path(r"^run/stream/?$", agent_runs({"post": "stream"}), name="agent-run-stream"),
    re_path(r"^cost-estimate/?$", CostEstimateViewSet.as_view({"get": "retrieve"}),
            name="agent-cost-estimate"),
    # artifacts and analytics
    re_path(r"^analytics/?$", AnalyticsViewSet.as_view({"get": "retrieve"}), name="agent-analytics"),
    re_path(r"^artifacts/?$", ArtifactViewSet.as_view({"get": "list", "post": "create"}),
            name="agent-artifact-list"),
    re_path(r"^artifacts/(?P<id>[^/]+)/?$",
            ArtifactViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="agent-artifact-detail"),
    re_path(r"^artifacts/(?P<id>[^/]+)/view/?$", ArtifactViewSet.as_view({"get": "view_content"}),
            name="agent-artifact-view"),
    # the knowledge base
    *knowledge_urls.agent_urlpatterns,
]
