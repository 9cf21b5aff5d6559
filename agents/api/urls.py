from django.urls import re_path
from rest_framework.routers import SimpleRouter

from agents.api import views
from agents.api.automation_urls import urlpatterns as automation_urlpatterns
from agents.api.brain_urls import urlpatterns as brain_urlpatterns
from agents.api.lifecycle_urls import urlpatterns as lifecycle_urlpatterns
from agents.api.portability_urls import urlpatterns as portability_urlpatterns


class OptionalSlashRouter(SimpleRouter):
    """API paths have no trailing slash (API.md); one is tolerated."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("agents", views.AgentViewSet, basename="agent")

members = views.MemberViewSet.as_view
# Fixed paths under agents/ (templates, export, import, create-from-wizard)
# come before the router's agents/{agent}, which would otherwise take them.
urlpatterns = [
    *portability_urlpatterns,
    *brain_urlpatterns,
    *lifecycle_urlpatterns,
    *automation_urlpatterns,
    re_path(r"^agents/(?P<agent>[^/]+)/admins/?$", members({"get": "list", "post": "create"}),
            name="agent-member-list"),
    re_path(r"^agents/(?P<agent>[^/]+)/admins/(?P<member>[^/]+)/?$",
            members({"patch": "partial_update", "delete": "destroy"}), name="agent-member-detail"),
    re_path(r"^agents/(?P<agent>[^/]+)/audit-log/?$", views.AuditLogViewSet.as_view({"get": "list"}),
            name="agent-audit-log"),
    re_path(r"^auth/agents/?$", views.AccessibleAgentViewSet.as_view({"get": "list"}), name="auth-agents"),
    *router.urls,
]
