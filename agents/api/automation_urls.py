"""Routes for the automation endpoints (see the views module of the same name)."""

from django.urls import re_path

from agents.api import automation_views as views

AGENT = r"^agents/(?P<agent>[^/]+)"
schedules = views.ScheduleViewSet.as_view
webhook = views.WebhookViewSet.as_view

urlpatterns = [
    re_path(AGENT + r"/schedules/?$", schedules({"get": "list", "post": "create"}), name="agent-schedule-list"),
    re_path(AGENT + r"/schedules/(?P<id>[^/]+)/?$",
            schedules({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="agent-schedule-detail"),
    re_path(AGENT + r"/schedule/?$", views.PrimaryScheduleViewSet.as_view({"post": "create", "delete": "destroy"}),
            name="agent-primary-schedule"),
    re_path(AGENT + r"/webhook/?$", webhook({"get": "retrieve", "delete": "destroy"}), name="agent-webhook"),
    re_path(AGENT + r"/webhook/rotate/?$", webhook({"post": "rotate"}), name="agent-webhook-rotate"),
    re_path(r"^hooks/(?P<agent>[^/]+)/(?P<secret>[^/]+)/?$", views.HookView.as_view(), name="webhook-trigger"),
    re_path(r"^hooks/(?P<agent>[^/]+)/?$", views.HookWithoutSecretView.as_view(), name="webhook-trigger-no-secret"),
]
