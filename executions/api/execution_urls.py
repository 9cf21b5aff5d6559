"""Routes for runs and executions."""

urlpatterns = []
