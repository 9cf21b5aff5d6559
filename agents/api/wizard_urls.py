"""Routes for the wizard endpoints (see the views module of the same name)."""

urlpatterns = []
