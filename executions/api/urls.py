"""The executions app's API routes: providers, and runs and executions."""

from executions.api.execution_urls import urlpatterns as execution_urlpatterns
from executions.api.provider_urls import urlpatterns as provider_urlpatterns

urlpatterns = [*provider_urlpatterns, *execution_urlpatterns]
