from django.urls import path

from core.awaiting import awaits_on_loop
from executions.web import artifacts, dashboard, executions, overview, providers, run, runtime

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="home"),
    path("agents/<str:ref>/", overview.AgentOverviewView.as_view(), name="agent"),
    path("agents/<str:ref>/runtime/", runtime.AgentRuntimeView.as_view(), name="agent-runtime"),
    path("agents/<str:ref>/run/", run.AgentRunView.as_view(), name="agent-run"),
    path("agents/<str:ref>/executions/", executions.AgentExecutionListView.as_view(), name="agent-executions"),
    path("executions/", executions.ExecutionListView.as_view(), name="executions"),
    path("executions/<uuid:execution_id>/", executions.ExecutionDetailView.as_view(), name="execution"),
    path("executions/<uuid:execution_id>/cancel/", executions.ExecutionCancelView.as_view(),
         name="execution-cancel"),
    # console-accounts: providers (staff) and an agent's artifacts.
    path("providers/", providers.ProviderListView.as_view(), name="providers"),
    path("providers/new/", providers.ProviderFormView.as_view(), name="provider-create"),
    path("providers/<uuid:provider>/", providers.ProviderFormView.as_view(), name="provider-edit"),
    path("providers/<uuid:provider>/delete/", providers.ProviderDeleteView.as_view(), name="provider-delete"),
    path("providers/<uuid:provider>/test/", awaits_on_loop(providers.ProviderTestView.as_view()),
         name="provider-test"),
    path("agents/<str:ref>/artifacts/", artifacts.ArtifactListView.as_view(), name="agent-artifacts"),
    path("agents/<str:ref>/artifacts/<uuid:artifact>/", artifacts.ArtifactDetailView.as_view(),
         name="agent-artifact"),
    path("agents/<str:ref>/artifacts/<uuid:artifact>/download/", artifacts.ArtifactDownloadView.as_view(),
         name="agent-artifact-download"),
    path("agents/<str:ref>/artifacts/<uuid:artifact>/delete/", artifacts.ArtifactDeleteView.as_view(),
         name="agent-artifact-delete"),
]
