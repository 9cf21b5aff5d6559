"""The audit tab: who changed what on the agent, the diff, when, and from which
token and address; newest first, paginated by cursor, filtered by action.
Same selector as ``agents.api.audit``; a page costs a constant number of queries."""

from __future__ import annotations

import json

from django import forms
from django.views.generic import TemplateView

from agents import selectors
from agents.models import AuditAction
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, choices=[("", "All actions"), *AuditAction.choices])


def shown_changes(changes: dict) -> list[dict]:
    """An entry's ``{"path": {"old", "new"}}`` as rows; non-diff values whole."""
    rows = []
    for path, change in (changes or {}).items():
        if isinstance(change, dict) and set(change) == {"old", "new"}:
            rows.append({"path": path, "old": _shown(change["old"]), "new": _shown(change["new"])})
        else:
            rows.append({"path": path, "old": "", "new": _shown(change)})
    return rows


def _shown(value) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class AuditLogView(AgentPageMixin, TemplateView):
    template_name = "console/agents/audit.html"
    tab = "audit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = AuditFilterForm(self.request.GET)
        entries = selectors.audit_log_for_agent(agent=self.agent).select_related("token")
        if form.is_valid() and form.cleaned_data["action"]:
            entries = entries.filter(action=form.cleaned_data["action"])
        page = cursor_page(self.request, entries, sort_fields=("created_at",), default_sort="-created_at")
        rows = [{"entry": entry, "changes": shown_changes(entry.changes)} for entry in page.rows]
        context.update(form=form, page=page, rows=rows)
        return context
