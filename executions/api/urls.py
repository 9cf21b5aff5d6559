"""The executions app's API routes: providers, runs and executions, and the webhook trigger."""

from django.urls import re_path

from executions.api.execution_urls import urlpatterns as execution_urlpatterns
from executions.api.provider_urls import urlpatterns as provider_urlpatterns
from executions.api.webhooks import HookView, HookWithoutSecretView

urlpatterns = [
    *provider_urlpatterns,
    *execution_urlpatterns,
    re_path(r"^hooks/(?P<agent>[^/]+)/(?P<secret>[^/]+)/?$", HookView.as_view(), name="webhook-trigger"),
    re_path(r"^hooks/(?P<agent>[^/]+)/?$", HookWithoutSecretView.as_view(), name="webhook-trigger-no-secret"),
]
