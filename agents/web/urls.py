from django.urls import path

from agents.web import agents, config, create, pipeline

urlpatterns = [
    path("agents/", agents.AgentListView.as_view(), name="agents"),
    # console-agents: create, configuration and pipeline.
    path("agents/new/", create.AgentCreateView.as_view(), name="agent-create"),
    path("agents/<str:ref>/configuration/", config.AgentConfigView.as_view(), name="agent-config"),
    path("agents/<str:ref>/configuration/raw/", config.AgentConfigRawView.as_view(), name="agent-config-raw"),
    path("agents/<str:ref>/pipeline/", pipeline.AgentPipelineView.as_view(), name="agent-pipeline"),
]
