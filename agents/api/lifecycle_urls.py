"""Routes for the lifecycle endpoints (see the views module of the same name)."""

urlpatterns = []
