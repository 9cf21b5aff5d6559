"""Routes for the portability endpoints (see the views module of the same name)."""

urlpatterns = []
