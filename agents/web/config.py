"""The configuration tab, as a form and as a JSON/YAML document.

Both save through ``agent_update``, the service of ``PATCH /agents/{agent}``,
with the ETag the page was rendered with as ``If-Match``: a form opened
before someone else's save gets a clear "changed meanwhile" error instead of
silently overwriting their change.  Viewers and operators read the
configuration; admins and the owner edit it (the mixin refuses their POST).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.views.generic import TemplateView

from agents import selectors, services
from agents.config import default_config, public_config
from agents.models import RuntimeState
from agents.providers import model_catalogue
from agents.web.base import AgentPageMixin
from agents.web.forms.config import ConfigEditor
from agents.web.forms.raw import FORMATS, RawDefinitionForm, definition_text
from core.errors import ApiError, PreconditionFailed

STALE = ("This agent was changed by someone else while you were editing, so nothing was saved. "
         "Your edits are still below: check them against the current configuration (open it in a new tab) "
         "and save again to replace the other change, or reload this page to start from the current one.")


def _fresh(view) -> object:
    return selectors.agent_get_for_user(user=view.request.user, ref=str(view.agent.pk), representation=False)


class _DefinitionPage(AgentPageMixin, TemplateView):
    tab = "configuration"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["running"] = self.agent.runtime_state == RuntimeState.RUNNING
        return context

    def save(self, form, changes: dict, etag: str, on_errors) -> bool:
        """Save ``changes`` if ``etag`` is still the agent's; put any problem on the form."""
        try:
            self.agent = services.agent_update(agent=self.agent, actor=self.actor(), changes=changes,
                                               if_match=[etag or '""'])
        except PreconditionFailed:
            form.add_error(None, STALE)
            self.stale_etag = services.agent_etag(_fresh(self))
            return False
        except ApiError as exc:
            on_errors(exc)
            return False
        running = self.agent.runtime_state == RuntimeState.RUNNING
        messages.success(self.request, "Configuration saved." + (
            " The agent keeps serving its deployed version until you redeploy it." if running else ""))
        return True


class AgentConfigView(_DefinitionPage):
    template_name = "console/agents/config.html"

    @cached_property
    def catalogue(self) -> list[dict]:
        return model_catalogue()

    def editor(self, data=None) -> ConfigEditor:
        return ConfigEditor(self.agent.config, providers=[p["name"] for p in self.catalogue],
                            etag=services.agent_etag(self.agent), data=data)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(editor=self.editor()))

    def post(self, request, *args, **kwargs):
        editor = self.editor(request.POST)
        self.stale_etag = None
        if editor.is_valid():
            changes = {"config": editor.patch()}
            if self.save(editor.form, changes, editor.form.cleaned_data["etag"], editor.add_errors):
                return redirect("console:agent-config", self.agent.slug)
        if self.stale_etag:
            editor.set_etag(self.stale_etag)
        return self.render_to_response(self.get_context_data(editor=editor), status=409 if self.stale_etag else 400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        editor = context["editor"]
        context.update(catalogue=self.catalogue, current=services.merge_patch(
            public_config(default_config()), public_config(self.agent.config)))
        for form in (editor.form, *editor.fallbacks.forms, editor.fallbacks.empty_form):
            provider = form["provider"].value() or ""
            form.fields["provider"].widget.attrs["data-provider-select"] = ""
            form.fields["model"].widget.attrs.update({"data-model-input": "", "list": f"models-{provider}"})
        return context


class AgentConfigRawView(_DefinitionPage):
    template_name = "console/agents/config_raw.html"

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format") if request.GET.get("format") in dict(FORMATS) else "json"
        form = RawDefinitionForm(initial={"format": fmt, "document": definition_text(self.agent, fmt),
                                          "etag": services.agent_etag(self.agent)})
        return self.render_to_response(self.get_context_data(form=form, format=fmt))

    def post(self, request, *args, **kwargs):
        form = RawDefinitionForm(request.POST)
        self.stale_etag = None
        if form.is_valid():
            if self.save(form, form.changes(self.agent), form.cleaned_data["etag"],
                         lambda exc: _add_path_errors(form, exc)):
                return redirect(f"{request.path}?format={form.cleaned_data['format']}")
        if self.stale_etag:
            form.data = form.data.copy()
            form.data["etag"] = self.stale_etag
        fmt = form.data.get("format") if form.data.get("format") in dict(FORMATS) else "json"
        return self.render_to_response(self.get_context_data(form=form, format=fmt),
                                       status=409 if self.stale_etag else 400)


def _add_path_errors(form, error: ApiError) -> None:
    """Every problem beside the document, with the path it is at."""
    if not error.errors:
        form.add_error("document", error.detail)
    for path, problems in (error.errors or {}).items():
        for message in problems if isinstance(problems, list) else [problems]:
            form.add_error("document", f"{path}: {message}")
