"""The API tokens page: create (the raw token shown once), list, revoke.

It calls the same services as ``/api/v1/auth/tokens``.  The create form posts
with htmx and the answer replaces the tokens panel in place, so the raw token
is on the screen once and is never stored anywhere to be shown again: a reload
is a plain GET, which lists tokens by their prefix only.  Without JavaScript
the form posts normally and the answer is the whole page, never cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views import View

from accounts import selectors, services
from accounts.actor import Actor
from accounts.web.forms import TokenCreateForm
from core.errors import ValidationFailed
from core.web.forms import add_service_errors

PAGE_SIZE = 50
# Where the service's field paths go on the form.
FIELD_MAP = {"expires_at": "expires_on"}


class TokensView(LoginRequiredMixin, View):
    template_name = "console/accounts/tokens.html"
    panel_template_name = "console/accounts/_tokens_panel.html"

    def get(self, request):
        return self.render(TokenCreateForm())

    def post(self, request):
        form = TokenCreateForm(request.POST)
        if not form.is_valid():
            return self.render(form)
        try:
            token, raw = services.token_create(user=request.user, created_with=Actor.from_request(request).token,
                                               **form.service_arguments())
        except ValidationFailed as error:
            add_service_errors(form, error, FIELD_MAP)
            return self.render(form)
        return self.render(TokenCreateForm(), created=token, raw=raw)

    def render(self, form, *, created=None, raw=None):
        tokens = Paginator(selectors.token_list_for_user(user=self.request.user), PAGE_SIZE)
        context = {"form": form, "page_obj": tokens.get_page(self.request.GET.get("page")),
                   "created": created, "raw": raw, "now": timezone.now()}
        template = self.panel_template_name if self.request.htmx else self.template_name
        response = render(self.request, template, context)
        add_never_cache_headers(response)  # a page that held a raw token must not come back from a cache
        return response


class TokenRevokeView(LoginRequiredMixin, View):
    """Revoke one of the user's tokens; another user's token is a 404."""

    def post(self, request, token):
        found = selectors.token_list_for_user(user=request.user).filter(pk=token).first()
        services.token_delete(user=request.user, token_id=token)
        messages.success(request, f"Token “{found.name}” revoked: programs using it can no longer sign in.")
        return redirect("console:tokens")
