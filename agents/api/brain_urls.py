"""Routes for the brain (wizard, config, model, settings) endpoints (see the views module of the same name)."""

urlpatterns = []
