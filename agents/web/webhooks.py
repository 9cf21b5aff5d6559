"""The webhook tab (admins): whether the agent has a webhook, its trigger URL,
create or rotate it (the new URL shown on the spot, with a copy button) and
disable it, through the same selector and services as ``agents.api.webhooks``.

Reading the URL needs the admin role, as in the API: the URL alone starts runs.
"""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Role
from agents import selectors
from agents.services import webhooks
from agents.web.actions import perform
from agents.web.base import AgentPageMixin


def trigger_url(request, agent, secret: str | None) -> str | None:
    """The public trigger (``executions.api``'s ``webhook-trigger`` route) for ``secret``."""
    if not secret:
        return None
    return request.build_absolute_uri(reverse("webhook-trigger", kwargs={"agent": agent.pk, "secret": secret}))


class WebhookView(AgentPageMixin, TemplateView):
    template_name = "console/agents/webhooks.html"
    tab = "webhooks"
    read_role = Role.ADMIN

    def get_context_data(self, rotated=None, **kwargs):
        context = super().get_context_data(**kwargs)
        webhook = rotated or selectors.webhook_get(self.agent)
        context.update(webhook=webhook, url=trigger_url(self.request, self.agent, webhook.secret),
                       just_rotated=rotated is not None)
        return context


class WebhookRotateView(WebhookView):
    """Answers with the page itself (no redirect), showing the new URL once, prominently."""

    http_method_names = ["post"]

    def post(self, request, ref):
        webhook = webhooks.webhook_rotate(agent=self.agent, actor=self.actor())
        return self.render_to_response(self.get_context_data(rotated=webhook))


class WebhookDisableView(AgentPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, ref):
        perform(request, lambda: webhooks.webhook_disable(agent=self.agent, actor=self.actor()),
                success="Webhook disabled: its URL no longer starts runs.", also=frozenset({404}))
        return redirect("console:agent-webhooks", self.agent.slug)
