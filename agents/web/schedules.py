"""The schedules tab: the list, "add a schedule" with a live preview of the
next five run times, pause/resume and delete, through the same selectors and
services as ``agents.api.schedules``."""

from __future__ import annotations

import json
import zoneinfo
from functools import cache, lru_cache

from django import forms
from django.contrib import messages
from django.forms.utils import flatatt
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from agents import selectors
from agents.cron import NEXT_RUNS, next_runs
from agents.inputs.schedules import ScheduleFieldsSerializer
from agents.services import schedules
from agents.web.actions import perform, submit
from agents.web.base import AgentPageMixin
from agents.web.paging import cursor_page
from core.errors import ValidationFailed
from core.validation import validated


@cache
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [("UTC", "UTC")] + [(name, name) for name in names if name != "UTC"]


@lru_cache(maxsize=64)
def _zone_options(selected: str) -> str:
    return format_html_join("", '<option value="{}"{}>{}</option>',
                            ((value, mark_safe(" selected") if value == selected else "", label)
                             for value, label in timezone_choices()))


class TimeZoneSelect(forms.Select):
    """A select of every time zone (about 600), its options written once per
    selected zone: through Django's option template each option was a template
    render, 15 ms for the field on every view of the tab.  The select itself
    carries the attributes Django's widget would (its id, aria-describedby)."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = value if isinstance(value, str) else ""
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)),
                           _zone_options(selected))


class ScheduleForm(forms.Form):
    """What the API's ``POST /agents/{agent}/schedules`` takes; the service validates it."""

    name = forms.CharField(required=False, help_text="Unique on this agent; derived from the cron when blank.")
    cron = forms.CharField(help_text="Five fields: minute hour day-of-month month day-of-week, "
                                     "e.g. <code>0 9 * * 1-5</code> for 09:00 on weekdays.")
    timezone = forms.CharField(label="Time zone", initial="UTC", help_text="The time zone the cron is read in.",
                               widget=TimeZoneSelect)
    input = forms.CharField(label="Input (JSON)", required=False, initial="{}", strip=True,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text='The run\'s input, e.g. <code>{"message": "daily report"}</code>.')
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A plain text field with a select of the zones (TimeZoneSelect): an unknown zone is the
        # service's error, not the form's.
        self.fields["cron"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_input(self):
        raw = self.cleaned_data["input"] or "{}"
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}")

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data["name"]:
            del data["name"]
        return data


def preview(cron: str, tz: str) -> dict:
    """The next run times of ``cron`` in ``tz`` (UTC and local), or the
    problem the schedules service would report for them."""
    if not cron.strip():
        return {"runs": [], "error": ""}
    try:
        clean = validated(ScheduleFieldsSerializer(data={"cron": cron, "timezone": tz or "UTC"}, partial=True))
    except ValidationFailed as error:
        return {"runs": [], "error": " ".join(m for messages in error.errors.values() for m in messages)}
    zone = zoneinfo.ZoneInfo(clean["timezone"])
    runs = [{"iso": moment.isoformat(), "utc": moment.strftime("%Y-%m-%d %H:%M"),
             "local": moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")}
            for moment in next_runs(clean["cron"], clean["timezone"])]
    return {"runs": runs, "error": "", "timezone": clean["timezone"], "count": NEXT_RUNS}


class ScheduleListView(AgentPageMixin, TemplateView):
    template_name = "console/agents/schedules.html"
    tab = "schedules"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        form = form or ScheduleForm()
        page = cursor_page(self.request, selectors.schedule_list_for_agent(agent=self.agent),
                           sort_fields=("created_at",), default_sort="created_at")
        rows = [{"schedule": s, "input": json.dumps(s.input, ensure_ascii=False),
                 "next": (next_runs(s.cron, s.timezone, count=1) or [None])[0] if s.enabled else None}
                for s in page.rows]
        context.update(page=page, rows=rows, form=form,
                       preview=preview(form["cron"].value() or "", form["timezone"].value() or "UTC"))
        return context

    def post(self, request, ref):
        form = ScheduleForm(request.POST)
        if form.is_valid():
            created, schedule = submit(form, lambda: schedules.schedule_create(
                agent=self.agent, actor=self.actor(), data=form.service_data()))
            if created:
                messages.success(request, f"Added schedule {schedule.name!r}.")
                return redirect("console:agent-schedules", self.agent.slug)
        return self.render_to_response(self.get_context_data(form=form))


class SchedulePreviewView(AgentPageMixin, TemplateView):
    """``?cron=&timezone=`` → the preview fragment the form swaps in (htmx)."""

    template_name = "console/agents/partials/schedule_preview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["preview"] = preview(self.request.GET.get("cron", ""), self.request.GET.get("timezone", "UTC"))
        return context


class ScheduleToggleView(AgentPageMixin, View):
    """Pause a schedule, or resume a paused one."""

    http_method_names = ["post"]

    def post(self, request, ref, schedule):
        row = selectors.schedule_get_for_agent(agent=self.agent, schedule_id=schedule)
        enabled = not row.enabled
        perform(request, lambda: schedules.schedule_update(schedule=row, actor=self.actor(), data={"enabled": enabled}),
                success=f"{'Resumed' if enabled else 'Paused'} schedule {row.name!r}.")
        return redirect("console:agent-schedules", self.agent.slug)


class ScheduleDeleteView(AgentPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, ref, schedule):
        row = selectors.schedule_get_for_agent(agent=self.agent, schedule_id=schedule)
        perform(request, lambda: schedules.schedule_delete(schedule=row, actor=self.actor()),
                success=f"Deleted schedule {row.name!r}.")
        return redirect("console:agent-schedules", self.agent.slug)
