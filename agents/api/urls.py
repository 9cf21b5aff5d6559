"""The agents app's API routes, one block per resource module.

``urlpatterns`` are the agents list, one agent and the routes not under one
agent.  Fixed paths under ``agents/`` (templates, export, import,
create-from-wizard) come before the router's ``agents/{agent}``, which would
otherwise take them.  ``agent_urlpatterns`` are relative to
``agents/{agent}/``, where ``config.urls`` mounts every app's agent routes
under one prefix.
"""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from agents.api.agents import AccessibleAgentViewSet, AgentViewSet
from agents.api.audit import AuditLogViewSet
from agents.api.config import AgentBrainViewSet
from agents.api.members import MemberViewSet
from agents.api.memories import MemoryViewSet
from agents.api.portability import AgentExportViewSet, BundleExportViewSet, ImportViewSet
from agents.api.runtime import RuntimeViewSet
from agents.api.schedules import PrimaryScheduleViewSet, ScheduleViewSet
from agents.api.skills import AgentSkillViewSet, SkillViewSet
from agents.api.templates import TemplateViewSet
from agents.api.versions import VersionViewSet
from agents.api.webhooks import WebhookViewSet
from agents.api.wizard import WizardViewSet


class OptionalSlashRouter(SimpleRouter):
    """API paths have no trailing slash (API.md); one is tolerated."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("agents", AgentViewSet, basename="agent")

brain = AgentBrainViewSet.as_view
versions = VersionViewSet.as_view
runtime = RuntimeViewSet.as_view
schedules = ScheduleViewSet.as_view
webhook = WebhookViewSet.as_view
members = MemberViewSet.as_view

urlpatterns = [
    # templates, export and import, the wizard
    re_path(r"^agents/templates/?$", TemplateViewSet.as_view({"get": "list"}), name="agent-templates"),
    re_path(r"^agents/export/?$", BundleExportViewSet.as_view({"post": "create"}),
            name="agent-bundle-export"),
    re_path(r"^agents/import/?$", ImportViewSet.as_view({"post": "create"}), name="agent-import"),
    re_path(r"^agents/create-from-wizard/?$", WizardViewSet.as_view({"post": "create"}),
            name="agent-create-from-wizard"),
    # the caller's agents, the skill library
    re_path(r"^auth/agents/?$", AccessibleAgentViewSet.as_view({"get": "list"}), name="auth-agents"),
    re_path(r"^skills/?$", SkillViewSet.as_view({"get": "list", "post": "create"}), name="skill-list"),
    re_path(r"^skills/(?P<id>[^/]+)/?$",
            SkillViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="skill-detail"),
    # the agents list and one agent (its actions too: activate, duplicate, transfer...)
    *router.urls,
]

agent_urlpatterns = [
    # export and the brain
    re_path(r"^export/?$", AgentExportViewSet.as_view({"get": "retrieve"}), name="agent-export"),
    re_path(r"^config/?$", brain({"get": "config_retrieve"}), name="agent-config"),
    re_path(r"^model/?$", brain({"patch": "model_update"}), name="agent-model"),
    re_path(r"^settings/?$",
            brain({"get": "settings_retrieve", "put": "settings_update", "patch": "settings_partial_update"}),
            name="agent-settings"),
    # versions and runtime
    re_path(r"^versions/?$", versions({"get": "list", "post": "create"}), name="agent-version-list"),
    re_path(r"^versions/(?P<index>[^/]+)/?$", versions({"get": "retrieve"}), name="agent-version-detail"),
    re_path(r"^versions/(?P<a>[^/]+)/diff/(?P<b>[^/]+)/?$", versions({"get": "diff"}),
            name="agent-version-diff"),
    re_path(r"^versions/(?P<index>[^/]+)/rollback/?$", versions({"post": "rollback"}),
            name="agent-version-rollback"),
    re_path(r"^status/?$", runtime({"get": "status"}), name="agent-runtime-status"),
    re_path(r"^start/?$", runtime({"post": "start"}), name="agent-runtime-start"),
    re_path(r"^stop/?$", runtime({"post": "stop"}), name="agent-runtime-stop"),
    re_path(r"^redeploy/?$", runtime({"post": "redeploy"}), name="agent-runtime-redeploy"),
    # schedules and the webhook (its public trigger is in executions.api.urls)
    re_path(r"^schedules/?$", schedules({"get": "list", "post": "create"}), name="agent-schedule-list"),
    re_path(r"^schedules/(?P<id>[^/]+)/?$",
            schedules({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="agent-schedule-detail"),
    re_path(r"^schedule/?$",
            PrimaryScheduleViewSet.as_view({"post": "create", "delete": "destroy"}),
            name="agent-primary-schedule"),
    re_path(r"^webhook/?$", webhook({"get": "retrieve", "delete": "destroy"}), name="agent-webhook"),
    re_path(r"^webhook/rotate/?$", webhook({"post": "rotate"}), name="agent-webhook-rotate"),
    # members and the audit log
    re_path(r"^admins/?$", members({"get": "list", "post": "create"}), name="agent-member-list"),
    re_path(r"^admins/(?P<member>[^/]+)/?$", members({"patch": "partial_update", "delete": "destroy"}),
            name="agent-member-detail"),
    re_path(r"^audit-log/?$", AuditLogViewSet.as_view({"get": "list"}), name="agent-audit-log"),
    # memories and the agent's skills
    re_path(r"^memories/?$", MemoryViewSet.as_view({"get": "list", "post": "create"}),
            name="agent-memory-list"),
    re_path(r"^memories/(?P<id>[^/]+)/?$", MemoryViewSet.as_view({"delete": "destroy"}),
            name="agent-memory-detail"),
    re_path(r"^skills/?$", AgentSkillViewSet.as_view({"get": "list", "post": "create"}),
            name="agent-skill-list"),
    re_path(r"^skills/(?P<skill>[^/]+)/?$",
            AgentSkillViewSet.as_view({"put": "update", "delete": "destroy"}), name="agent-skill-detail"),
]
