from django.urls import path

from agents.web import agents

urlpatterns = [
    path("agents/", agents.AgentListView.as_view(), name="agents"),
]
