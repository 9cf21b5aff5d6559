"""Skills: the library page (``/skills/``: a user's own skills, staff see
all) and an agent's skills tab (attach from the library, detach, editable),
through the same selectors and services as ``agents.api.skills``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.actor import Actor
from agents import selectors
from agents.services import skills
from agents.web.actions import perform, submit
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page
from core.errors import NotFound, ValidationFailed

# --- the library -----------------------------------------------------------------------------


class SkillForm(forms.Form):
    """A skill's fields as ``POST /skills`` takes them; limits are the service's."""

    name = forms.CharField(help_text="Unique among your skills.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    content = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}),
                              help_text="The know-how itself: instructions, a procedure.")
    tags = forms.CharField(required=False, help_text="Comma-separated.")

    @classmethod
    def for_skill(cls, skill):
        return cls(initial={"name": skill.name, "description": skill.description, "content": skill.content,
                            "tags": ", ".join(skill.tags)})

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["tags"] = [tag.strip() for tag in data["tags"].split(",") if tag.strip()]
        return data


# "tags[3]" → the tags field.
TAG_ERRORS = {"tags": "tags"}


class SkillLibraryView(LoginRequiredMixin, TemplateView):
    template_name = "console/agents/skills_library.html"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        page = cursor_page(self.request, selectors.skills_visible_to(self.request.user).select_related("owner"),
                           sort_fields=("name", "created_at"), default_sort="name")
        context.update(page=page, skills=page.rows, form=form or SkillForm())
        return context

    def post(self, request):
        form = SkillForm(request.POST)
        if form.is_valid():
            created, skill = submit(form, lambda: skills.skill_create(actor=Actor.from_request(request),
                                                                      **form.service_data()), field_map=TAG_ERRORS)
            if created:
                messages.success(request, f"Added skill {skill.name!r} to your library.")
                return redirect("console:skills")
        return self.render_to_response(self.get_context_data(form=form))


class SkillEditView(LoginRequiredMixin, TemplateView):
    template_name = "console/agents/skill_edit.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.skill = selectors.skill_get_for_user(user=request.user, skill_id=kwargs["skill"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(skill=self.skill, form=form or SkillForm.for_skill(self.skill))
        return context

    def post(self, request, skill):
        form = SkillForm(request.POST)
        if form.is_valid():
            saved, _skill = submit(form, lambda: skills.skill_update(self.skill, actor=Actor.from_request(request),
                                                                     data=form.service_data()), field_map=TAG_ERRORS)
            if saved:
                messages.success(request, f"Saved skill {self.skill.name!r}.")
                return redirect("console:skills")
        return self.render_to_response(self.get_context_data(form=form))


class SkillDeleteView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, skill):
        row = selectors.skill_get_for_user(user=request.user, skill_id=skill)
        perform(request, lambda: skills.skill_delete(row, actor=Actor.from_request(request)),
                success=f"Deleted skill {row.name!r}; it left every agent it was connected to.")
        return redirect("console:skills")


# --- an agent's skills ---------------------------------------------------------------------------


class SkillAttachForm(forms.Form):
    # Any id validates here; whether it is one of yours is the selector's call, as in the API.
    skill_id = forms.CharField(label="Skill from your library", widget=forms.Select)
    editable = forms.BooleanField(required=False, initial=True, label="The agent may edit it")

    def __init__(self, *args, library, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skill_id"].widget.choices = [(str(s.pk), s.name) for s in library]


class AgentSkillsView(AgentPageMixin, TemplateView):
    template_name = "console/agents/skills.html"
    tab = "skills"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        links = list(selectors.agent_skills(self.agent))
        attached = {link.skill_id for link in links}
        library = [s for s in selectors.skills_visible_to(self.request.user).only("id", "name")
                   if s.pk not in attached]
        context.update(links=links, library=library, form=form or SkillAttachForm(library=library))
        return context

    def post(self, request, ref):
        form = SkillAttachForm(request.POST, library=[])
        if form.is_valid():
            attached, link = submit(form, lambda: self._attach(form.cleaned_data))
            if attached:
                messages.success(request, f"Attached skill {link.skill.name!r}.")
                return redirect("console:agent-skills", self.agent.slug)
        return self.render_to_response(self.get_context_data(form=form))

    def _attach(self, data):
        try:
            skill = selectors.skill_get_for_user(user=self.request.user, skill_id=data["skill_id"])
        except NotFound:
            raise ValidationFailed("No skill with this id in your library.",
                                   errors={"skill_id": ["No skill with this id in your library."]}) from None
        link, _created = skills.skill_attach(self.agent, skill, actor=self.actor(), editable=data["editable"])
        return link


class AgentSkillDetachView(AgentPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, ref, skill):
        link = selectors.agent_skill_get(self.agent, skill)
        perform(request, lambda: skills.skill_detach(link, actor=self.actor()),
                success=f"Detached skill {link.skill.name!r}; it stays in the library.")
        return redirect("console:agent-skills", self.agent.slug)


class AgentSkillEditableView(AgentPageMixin, View):
    """Flip whether the agent may edit a connected skill."""

    http_method_names = ["post"]

    def post(self, request, ref, skill):
        link = selectors.agent_skill_get(self.agent, skill)
        editable = not link.editable
        perform(request, lambda: skills.skill_association_update(link, actor=self.actor(), editable=editable),
                success=f"{link.skill.name!r} is now {'editable' if editable else 'read-only'} for the agent.")
        return redirect("console:agent-skills", self.agent.slug)
