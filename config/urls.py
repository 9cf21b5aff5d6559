from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import accounts.web.urls
import agents.web.urls
import executions.conversations.web.urls
import executions.knowledge.web.urls
import executions.web.urls

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("executions.api.urls")),
    path("", include("executions.conversations.api.urls")),
    path("", include("agents.api.urls")),
]

# The console: every app's web/ pages in one "console" namespace, under "/".
console = [
    *accounts.web.urls.urlpatterns,
    *agents.web.urls.urlpatterns,
    *executions.web.urls.urlpatterns,
    *executions.conversations.web.urls.urlpatterns,
    *executions.knowledge.web.urls.urlpatterns,
]

urlpatterns = [
    # Providers moved from the executions app to agents: old admin links still arrive.
    re_path(r"^admin/executions/provider/(?P<rest>.*)$",
            RedirectView.as_view(url="/admin/agents/provider/%(rest)s", permanent=True, query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include((console, "console"))),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
