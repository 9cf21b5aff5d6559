from django.urls import path

from executions.web import dashboard, executions, overview, run, runtime

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
]
