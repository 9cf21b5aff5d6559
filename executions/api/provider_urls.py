"""Routes for /providers."""

urlpatterns = []
