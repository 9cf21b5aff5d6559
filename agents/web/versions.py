"""The versions tab: the list, "save a version", the side-by-side diff of any
two versions (or the draft) and rollback, through the same selectors and
services as ``agents.api.versions``."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from agents import selectors
from agents.services import versions
from agents.services.versions import CHANGELOG_MAX, agent_content_hash
from agents.web.actions import perform, submit
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page
from agents.web.side_by_side import side_by_side


class VersionSaveForm(forms.Form):
    # The length is the service's rule; the widget only stops the browser early.
    changelog = forms.CharField(
        label="What changed", required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": CHANGELOG_MAX}),
        help_text="Saved with the version, shown in this list and in the audit log.")


class VersionListView(AgentPageMixin, TemplateView):
    template_name = "console/agents/versions.html"
    tab = "versions"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        page = cursor_page(self.request, selectors.version_list(agent=self.agent),
                           sort_fields=("index",), default_sort="-index")
        draft_hash = agent_content_hash(self.agent)
        context.update(page=page, versions=page.rows, draft_hash=draft_hash, form=form or VersionSaveForm(),
                       matching=next((v.index for v in page.rows if v.content_hash == draft_hash), None))
        return context

    def post(self, request, ref):
        form = VersionSaveForm(request.POST)
        if form.is_valid():
            saved, version = submit(form, lambda: versions.version_save(
                agent=self.agent, actor=self.actor(), changelog=form.cleaned_data["changelog"]))
            if saved:
                messages.success(request, f"Saved version {version.index}.")
                return redirect("console:agent-versions", self.agent.slug)
        return self.render_to_response(self.get_context_data(form=form))


class VersionDiffForm(forms.Form):
    a = forms.ChoiceField(label="From")
    b = forms.ChoiceField(label="To")

    def __init__(self, *args, refs: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["a"].choices = self.fields["b"].choices = refs


class VersionDiffView(AgentPageMixin, TemplateView):
    """``?a=&b=``: version indexes or ``draft``; by default the latest version against the draft."""

    template_name = "console/agents/version_diff.html"
    tab = "versions"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        indexes = list(selectors.version_list(agent=self.agent).order_by("-index").values_list("index", flat=True))
        refs = [(selectors.DRAFT, "Working draft")] + [(str(i), f"Version {i}") for i in indexes]
        data = {"a": str(indexes[0]) if indexes else selectors.DRAFT, "b": selectors.DRAFT, **self.request.GET.dict()}
        form = VersionDiffForm(data, refs=refs)
        context.update(form=form, has_versions=bool(indexes))
        if form.is_valid():
            result = selectors.version_diff(self.agent, form.cleaned_data["a"], form.cleaned_data["b"])
            context.update(diff=result, hunks=side_by_side(result["unified"]),
                           changes=[{"path": path, "old": _shown(change["old"]), "new": _shown(change["new"])}
                                    for path, change in result["changes"].items()])
        return context


def _shown(value) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class VersionRollbackView(AgentPageMixin, View):
    tab = "versions"
    http_method_names = ["post"]

    def post(self, request, ref, index):
        perform(request, lambda: versions.version_rollback(agent=self.agent, actor=self.actor(), index=index),
                success=f"Rolled back: the working configuration is version {index}'s again. "
                        "Start or redeploy the agent to serve it.")
        return redirect(reverse("console:agent-versions", args=[self.agent.slug]))
