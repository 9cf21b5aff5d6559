"""The run panel: a form made from the pipeline's input schema (or a prompt
box), which starts a run the way ``POST /agents/{agent}/run/stream`` does —
the same body parsing, the same checks, queued and run in a thread of this
process — and then follows it live from the execution's SSE endpoint
(``static/console/run.js``).

Schema properties that are strings (with or without ``enum``), numbers,
integers, booleans or arrays of strings get an input each; anything else is
a JSON text area, and so is a schema that is not an object of properties."""

from __future__ import annotations

import re

from django import forms
from django.shortcuts import redirect, render
from django.views.generic import TemplateView

from accounts.roles import Role
from agents.web.base import AgentPageMixin
from core.errors import ApiError, ValidationFailed
from core.web.forms import add_service_errors
from executions.engine.inputs import input_schema
from executions.engine.runner import effective_pipeline
from executions.models import Trigger
from executions.selectors import definition_for
from executions.services import runs

PANEL_TEMPLATE = "console/executions/includes/run_panel.html"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,60}$")
LONG_TEXT = 200  # strings allowed longer than this get a text area


class LinesField(forms.CharField):
    """An array of strings, one a line; blank lines are dropped."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value):
        return [line.strip() for line in (super().to_python(value) or "").splitlines() if line.strip()]


class RunForm(forms.Form):
    """The run panel's fields; ``run_body()`` is the body the API would get."""

    mode = "prompt"          # "prompt", "fields" or "json"
    properties: dict = {}    # form field name -> schema property name

    def run_body(self) -> dict:
        data = self.cleaned_data
        if self.mode == "prompt":
            return {"prompt": data["prompt"]}
        if self.mode == "json":
            return {"input": data["input"]}
        values = {}
        for field_name, prop in self.properties.items():
            value = data.get(field_name)
            if value in (None, "", []) and not self.fields[field_name].required:
                continue
            values[prop] = value
        return {"input": values}

    def field_map(self) -> dict[str, str]:
        """Where the service's error paths (``input.age``) go on this form."""
        if self.mode == "fields":
            return {f"input.{prop}": name for name, prop in self.properties.items()}
        if self.mode == "json":
            return {"input": "input"}
        return {"input.message": "prompt"}


def run_form_class(schema: dict | None) -> type[RunForm]:
    """A ``RunForm`` subclass for ``schema`` (the input node's JSON Schema, or ``None``)."""
    if not schema:
        attrs = {"mode": "prompt", "prompt": forms.CharField(
            label="Prompt", widget=forms.Textarea(attrs={"rows": 3}), strip=False,
            help_text="Sent as the run's input.message.")}
        return type("PromptRunForm", (RunForm,), attrs)
    properties = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(properties, dict) or not properties:
        attrs = {"mode": "json", "input": forms.JSONField(
            label="Input (JSON)", initial=dict, widget=forms.Textarea(attrs={"rows": 5}),
            help_text="A JSON object matching the pipeline's input schema.")}
        return type("JsonRunForm", (RunForm,), attrs)
    required = set(schema.get("required") or [])
    fields, names = {}, {}
    for index, (prop, spec) in enumerate(properties.items()):
        name = prop if _NAME.match(prop) and prop not in ("mode", "properties") else f"field_{index}"
        fields[name] = _field(prop, spec if isinstance(spec, dict) else {}, prop in required)
        names[name] = prop
    return type("SchemaRunForm", (RunForm,), {"mode": "fields", "properties": names, **fields})


def _field(prop: str, spec: dict, required: bool) -> forms.Field:
    common = {"label": spec.get("title") or prop, "required": required,
              "help_text": spec.get("description", "")}
    kind = spec.get("type")
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        choices = [(_choice_key(v), str(v)) for v in spec["enum"]]
        lookup = {_choice_key(v): v for v in spec["enum"]}
        return forms.TypedChoiceField(choices=[("", "—")] + choices if not required else choices,
                                      coerce=lookup.__getitem__, empty_value=None, **common)
    if kind == "string":
        long = spec.get("maxLength") is None or spec["maxLength"] > LONG_TEXT
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}) if long else forms.TextInput,
                               strip=False, **common)
    if kind == "integer":
        return forms.IntegerField(min_value=spec.get("minimum"), max_value=spec.get("maximum"), **common)
    if kind == "number":
        return forms.FloatField(min_value=spec.get("minimum"), max_value=spec.get("maximum"), **common)
    if kind == "boolean":
        return forms.BooleanField(**{**common, "required": False})
    if kind == "array" and isinstance(spec.get("items"), dict) and spec["items"].get("type") == "string":
        return LinesField(**{**common, "help_text": common["help_text"] or "One item a line."})
    return forms.JSONField(widget=forms.Textarea(attrs={"rows": 3}),
                           **{**common, "help_text": common["help_text"] or "A JSON value."})


def _choice_key(value) -> str:
    return str(value) if isinstance(value, str) else repr(value)


def run_form_for(agent, data=None) -> RunForm:
    """The run panel's form for what a run of ``agent`` would use now (its
    deployed version while running, else the draft)."""
    try:
        definition = definition_for(agent)
    except ApiError:
        definition = None  # a running agent whose version is gone: the run itself will say why
    schema = input_schema(effective_pipeline(definition.pipeline)) if definition is not None else None
    return run_form_class(schema)(data, prefix="run")


def run_start(*, agent, actor, body: dict):
    """Start a run as the streaming endpoint does: parse the body like the
    API, write the execution (queued) and run it in a thread of this process."""
    execution, _created = runs.execution_start(agent=agent, actor=actor, trigger=Trigger.MANUAL, queued=True,
                                               request=runs.run_request_from_body(agent, body))
    runs.execution_run_in_background(execution.pk)
    return execution


class AgentRunView(AgentPageMixin, TemplateView):
    """``GET`` the run panel on a page of its own (htmx: a fresh panel);
    ``POST`` starts a run.  htmx gets the panel back (the form with its
    errors, or the live run); a plain form post goes to the execution's page."""

    template_name = "console/executions/agent_run.html"
    read_role = Role.OPERATOR
    write_role = Role.OPERATOR

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "run-panel":
            return [PANEL_TEMPLATE]  # "run again": a fresh form in the panel
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "run_form": kwargs.get("run_form") or run_form_for(self.agent)}

    def post(self, request, *args, **kwargs):
        form = run_form_for(self.agent, request.POST)
        execution = None
        if form.is_valid():
            try:
                execution = run_start(agent=self.agent, actor=self.actor(), body=form.run_body())
            except ValidationFailed as error:
                add_service_errors(form, error, form.field_map())
            except ApiError as error:  # the agent is paused, its deployed version is gone …
                form.add_error(None, error.detail)
        if request.htmx:
            return render(request, PANEL_TEMPLATE, {"agent": self.agent, "run_form": form, "execution": execution})
        if execution is not None:
            return redirect("console:execution", execution.pk)
        return self.render_to_response(self.get_context_data(run_form=form))
