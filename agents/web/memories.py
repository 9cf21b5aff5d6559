"""The memories tab: what the agent remembers; add and forget, through the
same reads and services as ``agents.api.memories``.  As there, operators
write: memories are what the people who run the agent teach it in chat."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Role
from agents.memory_reads import memories_for, memory_get_for_agent
from agents.models import MemoryKind
from agents.services.memories import memory_create, memory_delete
from agents.web.actions import perform, submit
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page


class MemoryForm(forms.Form):
    # Lengths and the kind are the service's rules (MemoryFieldsSerializer).
    content = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=False,
                              help_text="A fact, an episode, or (kind rule) an instruction it must always follow.")
    kind = forms.ChoiceField(choices=MemoryKind.choices, initial=MemoryKind.SEMANTIC)


class MemoryFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label="Kind", choices=[("", "All kinds"), *MemoryKind.choices])


class MemoryListView(AgentPageMixin, TemplateView):
    template_name = "console/agents/memories.html"
    tab = "memories"
    write_role = Role.OPERATOR

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        memories = memories_for(self.agent).select_related("created_by")
        filters = MemoryFilterForm(self.request.GET, auto_id="filter_%s")  # "kind" is on the add form too
        if filters.is_valid() and filters.cleaned_data["kind"]:
            memories = memories.filter(kind=filters.cleaned_data["kind"])
        page = cursor_page(self.request, memories, sort_fields=("created_at",), default_sort="-created_at")
        context.update(page=page, memories=page.rows, filters=filters, form=form or MemoryForm())
        return context

    def post(self, request, ref):
        form = MemoryForm(request.POST)
        if form.is_valid():
            added, _memory = submit(form, lambda: memory_create(self.agent, actor=self.actor(), **form.cleaned_data))
            if added:
                messages.success(request, "Memory added.")
                return redirect("console:agent-memories", self.agent.slug)
        return self.render_to_response(self.get_context_data(form=form))


class MemoryDeleteView(AgentPageMixin, View):
    http_method_names = ["post"]
    write_role = Role.OPERATOR

    def post(self, request, ref, memory):
        row = memory_get_for_agent(self.agent, memory)
        perform(request, lambda: memory_delete(row, actor=self.actor()), success="Memory forgotten.")
        return redirect("console:agent-memories", self.agent.slug)
