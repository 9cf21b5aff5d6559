"""Routes for the brain (wizard, config, model, settings) endpoints (see the views module of the same name)."""

from django.urls import re_path

from agents.api.brain_views import AgentBrainViewSet, WizardViewSet

brain = AgentBrainViewSet.as_view

urlpatterns = [
    re_path(r"^agents/create-from-wizard/?$", WizardViewSet.as_view({"post": "create"}),
            name="agent-create-from-wizard"),
    re_path(r"^agents/(?P<agent>[^/]+)/config/?$", brain({"get": "config_retrieve"}), name="agent-config"),
    re_path(r"^agents/(?P<agent>[^/]+)/model/?$", brain({"patch": "model_update"}), name="agent-model"),
    re_path(r"^agents/(?P<agent>[^/]+)/settings/?$",
            brain({"get": "settings_retrieve", "put": "settings_update", "patch": "settings_partial_update"}),
            name="agent-settings"),
]
