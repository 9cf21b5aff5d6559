"""The providers pages (staff): list, create, edit, delete and test LLM providers.

The same services as ``/api/v1/providers``: ``agents.services.providers``
for writes (which refuse non-staff themselves) and
``executions.services.providers.provider_test`` for the live test.  The API
lets any token read providers; the console's pages are for the staff who
manage them, so every page here needs staff (403 otherwise).
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views import View

from accounts.actor import Actor
from agents.errors import NameTaken
from agents.providers import provider_get, provider_list
from agents.services.providers import provider_create, provider_delete, provider_update, require_staff
from core.awaiting import Awaiting
from core.errors import ApiError, ValidationFailed
from executions.services.providers import provider_test
from executions.web.provider_forms import ProviderForm, add_provider_errors, model_rows, models_sent

PAGE_SIZE = 50


class StaffPageMixin(LoginRequiredMixin):
    """Anonymous → the login page; signed in without staff → 403 (the service's own check)."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        require_staff(request.user)
        return super().dispatch(request, *args, **kwargs)

    def actor(self) -> Actor:
        return Actor.from_request(self.request)


class ProviderListView(StaffPageMixin, View):
    def get(self, request):
        page = Paginator(provider_list().order_by("name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "console/providers/list.html", {"page_obj": page})


class ProviderFormView(StaffPageMixin, View):
    """Create (no ``provider`` in the URL) or edit one provider."""

    template_name = "console/providers/form.html"

    def get_provider(self):
        ref = self.kwargs.get("provider")
        return provider_get(str(ref)) if ref is not None else None

    def get(self, request, provider=None):
        provider = self.get_provider()
        return self.render(ProviderForm(provider=provider), model_rows(provider=provider), provider)

    def post(self, request, provider=None):
        provider = self.get_provider()
        form, rows = ProviderForm(request.POST, provider=provider), model_rows(request.POST, provider=provider)
        if not (form.is_valid() and rows.is_valid()):
            return self.render(form, rows, provider)
        models, row_forms = models_sent(rows)
        try:
            if provider is None:
                saved = provider_create(actor=self.actor(), data=form.body(models))
            else:
                saved = provider_update(actor=self.actor(), provider=provider, data=form.body(models))
        except (ValidationFailed, NameTaken) as error:
            add_provider_errors(form, row_forms, error)
            return self.render(form, rows, provider)
        messages.success(request, f"Provider “{saved.name}” {'created' if provider is None else 'saved'}.")
        return redirect("console:provider-edit", saved.pk)

    def render(self, form, rows, provider):
        return render(self.request, self.template_name, {"form": form, "rows": rows, "provider": provider})


class ProviderDeleteView(StaffPageMixin, View):
    def post(self, request, provider):
        found = provider_get(str(provider))
        provider_delete(actor=self.actor(), provider=found)
        messages.success(request, f"Provider “{found.name}” deleted. Agents that name it fail until pointed "
                                  f"elsewhere.")
        return redirect("console:providers")


class ProviderTestView(StaffPageMixin, View):
    """One live call through the provider; the result (or the provider's
    error) replaces the test panel in place, or fills a page without htmx."""

    def post(self, request, provider):
        found = provider_get(str(provider))
        test = functools.partial(provider_test, provider=found, model=request.POST.get("model") or None)
        # The provider's answer is awaited on the event loop, not on this thread (core.awaiting).
        return Awaiting(test, lambda done: self._result(request, found, done))

    def _result(self, request, provider, done):
        try:
            result, error = done.result(), None
        except ApiError as exc:
            result, error = None, exc
        context = {"provider": provider, "result": result, "error": error}
        template = "console/providers/_test_result.html" if request.htmx else "console/providers/test.html"
        return render(request, template, context)
