"""Creating an agent: blank, from a template or from the wizard's fields, on
one page.  Each form posts through the service its API endpoint calls, so a
name already taken, an unknown template or a bad cron line come back as the
API would say them, beside the field."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views.generic import TemplateView

from accounts.actor import Actor
from agents import services
from agents.providers import model_catalogue
from agents.services.templates import agent_create_from_template, template_list
from agents.services.wizard import agent_create_from_wizard
from agents.web.forms.create import BlankAgentForm, TemplateAgentForm, WizardAgentForm
from agents.web.forms.errors import add_line_errors
from core.errors import ApiError

WAYS = ("blank", "template", "wizard")


class AgentCreateView(LoginRequiredMixin, TemplateView):
    """Anyone signed in may create agents and owns what they create (API.md §2)."""

    template_name = "console/agents/create.html"

    def forms(self, data=None, way: str | None = None) -> dict:
        bound = {name: (data if name == way else None) for name in WAYS}
        return {"blank": BlankAgentForm(bound["blank"]),
                "template": TemplateAgentForm(bound["template"], templates=self.templates),
                "wizard": WizardAgentForm(bound["wizard"])}

    def dispatch(self, request, *args, **kwargs):
        self.templates = template_list()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("forms", self.forms())
        context.setdefault("way", self.request.GET.get("way") if self.request.GET.get("way") in WAYS else "template")
        context.update(templates=self.templates, catalogue=model_catalogue())
        return context

    def post(self, request, *args, **kwargs):
        way = request.POST.get("way")
        if way not in WAYS:
            return self.render_to_response(self.get_context_data(
                error="Choose how to create the agent: blank, from a template or with the wizard."), status=400)
        forms = self.forms(request.POST, way)
        form = forms[way]
        if form.is_valid():
            try:
                agent = self.create(way, form)
            except ApiError as exc:  # 400 with the fields' problems, 409 name taken
                add_line_errors(form, exc, getattr(form, "LINES", {}), getattr(form, "FIELDS", {}))
            else:
                messages.success(request, f"Created {agent.name}.")
                return redirect("console:agent", agent.slug)
        return self.render_to_response(self.get_context_data(forms=forms, way=way), status=400)

    def create(self, way: str, form):
        actor = Actor.from_request(self.request)
        if way == "blank":
            return services.agent_create(actor=actor, **form.payload())
        if way == "template":
            template, overrides = form.payload()
            return agent_create_from_template(actor=actor, template=template, overrides=overrides)
        return agent_create_from_wizard(actor=actor, data=form.payload()).agent
