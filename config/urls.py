from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import accounts.api.urls
import accounts.web.urls
import agents.api.urls
import agents.web.urls
import executions.api.urls
import executions.conversations.api.urls
import executions.conversations.web.urls
import executions.knowledge.web.urls
import executions.web.urls

# Every app's routes under one agent, behind one prefix: Django tries a
# request's path against each route in turn, so a request for anything else
# passes them all with one regex, and one for an agent's sub-resource skips
# every other route (docs/PERFORMANCE.md, fourteenth pass).  Invoke is the
# first of them, chat the first after the executions app's.  The agent itself
# (``agents/{agent}``) fails the prefix, and a fixed path such as
# ``agents/templates/`` matches no route behind it: both go on to the agents
# app's routes.
one_agent = [
    *executions.api.urls.agent_urlpatterns,
    *executions.conversations.api.urls.agent_urlpatterns,
    *agents.api.urls.agent_urlpatterns,
]

api_v1 = [
    *accounts.api.urls.urlpatterns,
    re_path(r"^agents/(?P<agent>[^/]+)/", include(one_agent)),
    *agents.api.urls.urlpatterns,
    *executions.api.urls.urlpatterns,
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
