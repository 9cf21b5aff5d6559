from django.urls import path

from executions.web import dashboard, overview

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="home"),
    path("agents/<str:ref>/", overview.AgentOverviewView.as_view(), name="agent"),
]
