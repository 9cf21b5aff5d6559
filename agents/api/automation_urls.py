"""Routes for the automation endpoints (see the views module of the same name)."""

urlpatterns = []
