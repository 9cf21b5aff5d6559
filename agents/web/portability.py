"""Export (the agent's tab, admins) and import (a page of its own) of portable
agent documents, through the same services as ``agents.api.portability``.

An export is audited (it carries the whole configuration off the server), so
the download is a POST, never a GET.  An import reads the uploaded file with
the API's own parsers (strict JSON, or YAML without aliases) and shows what
was created, updated and skipped.
"""

from __future__ import annotations

import io

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.views.generic import TemplateView
from rest_framework.exceptions import ParseError

from accounts.actor import Actor
from accounts.roles import Role
from agents.services import exporting, importing
from agents.web.actions import submit
from agents.web.base import AgentPageMixin
from core.parsers import StrictJSONParser, yaml_load

CONTENT_TYPES = {"json": "application/json", "yaml": "application/yaml"}
STRATEGY_CHOICES = [
    (importing.SEED_ONLY, "Seed only: create the agents that do not exist yet, skip those whose slug exists"),
    (importing.OVERWRITE_CONFLICTS, "Overwrite conflicts: also replace existing agents with the same slug "
                                    "(only those you own)"),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("json", "JSON"), ("yaml", "YAML")], initial="json",
                               widget=forms.RadioSelect)


class AgentExportView(AgentPageMixin, TemplateView):
    template_name = "console/agents/export.html"
    tab = "export"
    read_role = Role.ADMIN

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        env = self.agent.config.get("env") or {}
        context.update(form=form or ExportForm(),
                       secret_env=sorted(k for k, v in env.items() if isinstance(v, dict) and v.get("secret")))
        return context

    def post(self, request, ref):
        form = ExportForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        fmt = form.cleaned_data["format"]
        document = exporting.agent_export(agent=self.agent, actor=self.actor(), fmt=fmt)
        response = HttpResponse(exporting.render_document(document, fmt), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{self.agent.slug}.agent.{fmt}"'
        return response


class ImportForm(forms.Form):
    file = forms.FileField(label="Export file", help_text="An agent or bundle export, .json or .yaml.")
    strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial=importing.SEED_ONLY, widget=forms.RadioSelect,
                                 label="When an agent's slug already exists")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.AGENTRY_MAX_REQUEST_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is larger than the {limit} bytes allowed.")
        name = upload.name.lower()
        raw = upload.read()
        try:
            if name.endswith(".json"):
                return StrictJSONParser().parse(io.BytesIO(raw), parser_context={"encoding": "utf-8"})
            if name.endswith((".yaml", ".yml")):
                return yaml_load(raw.decode("utf-8"))
        except ParseError as exc:
            raise forms.ValidationError(str(exc.detail))
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.")
        raise forms.ValidationError("Upload a .json or .yaml file, as exported.")


class AgentImportView(LoginRequiredMixin, TemplateView):
    template_name = "console/agents/import.html"

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        result = None
        if form.is_valid():
            done, result = submit(form, lambda: importing.agents_import(
                actor=Actor.from_request(request), document=form.cleaned_data["file"],
                strategy=form.cleaned_data["strategy"]), also=frozenset({403}))  # 403: an agent you do not own
            if done:
                messages.success(request, f"Imported: {len(result.created)} created, {len(result.updated)} updated, "
                                          f"{len(result.skipped)} skipped.")
                form = ImportForm()
        return self.render_to_response(self.get_context_data(form=form, result=result))

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", ImportForm())
        return super().get_context_data(**kwargs)
