"""The configuration tab's form: the agent's ``config`` document as fields,
fallback models, tools and environment variables as rows.

``ConfigEditor.patch()`` is the JSON merge patch ``PATCH /agents/{agent}``
takes for ``config`` (removed env variables as ``null``, secrets left blank
as ``{"secret": true}`` so the stored value stays); ``add_errors`` puts the
service's error paths (``config.model.params.temperature``,
``config.tools[1].type``, ``config.env.API_KEY``) beside the field or row
they name.
"""

from __future__ import annotations

import json
import re

from django import forms

from agents.config import (
    MEMORY_TYPES,
    ContextPolicySerializer,
    SessionPolicySerializer,
    default_config,
    public_config,
)
from agents.services import merge_patch
from agents.services.config import models_errors
from core.errors import ApiError
from core.web.forms import add_service_errors
from executions.engine.nodes import TOOL_TYPES


def _choices(serializer_class, field: str) -> list[tuple[str, str]]:
    return [(value, str(label).capitalize()) for value, label in serializer_class().fields[field].choices.items()]


def _number(**attrs):
    return forms.NumberInput(attrs={"step": "any", **attrs})


def _lines(value: list) -> str:
    return "\n".join(value)


class ConfigForm(forms.Form):
    """The config's single values.  Types are parsed here; ranges and
    everything else are the service's, so its messages are the API's."""

    etag = forms.CharField(required=False, widget=forms.HiddenInput)
    instructions = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}),
                                   help_text="The system prompt.")
    personality = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    provider = forms.ChoiceField(label="Provider")
    model = forms.CharField(max_length=200, label="Model", help_text="A model the provider serves.")
    temperature = forms.FloatField(widget=_number(), help_text="0 to 2.")
    max_tokens = forms.IntegerField(label="Max tokens", widget=_number(step="1"))
    top_p = forms.FloatField(label="Top p", widget=_number(), help_text="0 to 1.")
    stop = forms.CharField(required=False, label="Stop sequences", widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="One per line, at most four.")
    seed = forms.IntegerField(required=False, widget=_number(step="1"), help_text="Empty for none.")
    max_iterations = forms.IntegerField(label="Max tool iterations", widget=_number(step="1"),
                                        help_text="How many rounds of tool calls a turn may take.")
    memory_enabled = forms.BooleanField(required=False, label="Use memory")
    memory_types = forms.MultipleChoiceField(required=False, label="Kinds of memory it reads",
                                             widget=forms.CheckboxSelectMultiple,
                                             choices=[(t, t.capitalize()) for t in MEMORY_TYPES])
    context_kind = forms.ChoiceField(label="Context policy", choices=_choices(ContextPolicySerializer, "kind"),
                                     help_text="Window drops the oldest turns; summarise condenses them.")
    context_token_budget = forms.IntegerField(label="Token budget", widget=_number(step="1"))
    context_keep_recent = forms.IntegerField(label="Recent messages always kept", widget=_number(step="1"))
    session_idle_timeout_seconds = forms.IntegerField(label="Idle timeout (seconds)", widget=_number(step="1"))
    session_max_session_duration_seconds = forms.IntegerField(label="Longest session (seconds)",
                                                              widget=_number(step="1"))
    session_max_concurrent_sessions_per_user = forms.IntegerField(label="Sessions per user at once",
                                                                  widget=_number(step="1"))
    session_auto_archive_after_days = forms.IntegerField(label="Archive threads after (days)",
                                                         widget=_number(step="1"))
    session_allow_per_session_model_override = forms.BooleanField(required=False,
                                                                  label="Threads may choose another model")
    session_multitask_strategy = forms.ChoiceField(label="A message sent while a turn runs",
                                                   choices=_choices(SessionPolicySerializer, "multitask_strategy"))
    heartbeat_enabled = forms.BooleanField(required=False, label="Run a heartbeat")
    heartbeat_cron = forms.CharField(max_length=100, label="Heartbeat cron",
                                     help_text="Five fields: minute hour day-of-month month day-of-week.")
    heartbeat_timezone = forms.CharField(max_length=64, label="Heartbeat time zone")
    heartbeat_prompt = forms.CharField(required=False, label="Heartbeat prompt",
                                       widget=forms.Textarea(attrs={"rows": 2}))
    knowledge_chunk_size = forms.IntegerField(label="Chunk size (characters)", widget=_number(step="1"))
    knowledge_chunk_overlap = forms.IntegerField(label="Chunk overlap (characters)", widget=_number(step="1"))
    knowledge_top_k = forms.IntegerField(label="Passages per search", widget=_number(step="1"))

    # Each field's place in the config document.
    PATHS = {
        "instructions": ("instructions",), "personality": ("personality",),
        "provider": ("model", "provider"), "model": ("model", "model"),
        "temperature": ("model", "params", "temperature"), "max_tokens": ("model", "params", "max_tokens"),
        "top_p": ("model", "params", "top_p"), "stop": ("model", "params", "stop"),
        "seed": ("model", "params", "seed"), "max_iterations": ("max_iterations",),
        "memory_enabled": ("memory", "enabled"), "memory_types": ("memory", "types"),
        "context_kind": ("context_policy", "kind"), "context_token_budget": ("context_policy", "token_budget"),
        "context_keep_recent": ("context_policy", "keep_recent"),
        **{f"session_{key}": ("session_policy", key) for key in (
            "idle_timeout_seconds", "max_session_duration_seconds", "max_concurrent_sessions_per_user",
            "auto_archive_after_days", "allow_per_session_model_override", "multitask_strategy")},
        **{f"heartbeat_{key}": ("heartbeat", key) for key in ("enabled", "cron", "timezone", "prompt")},
        **{f"knowledge_{key}": ("knowledge", key) for key in ("chunk_size", "chunk_overlap", "top_k")},
    }
    SECTIONS = [
        ("Instructions", ("instructions", "personality")),
        ("Model", ("provider", "model", "temperature", "max_tokens", "top_p", "stop", "seed", "max_iterations")),
        ("Memory", ("memory_enabled", "memory_types")),
        ("Context policy", ("context_kind", "context_token_budget", "context_keep_recent")),
        ("Session policy", tuple(name for name in PATHS if name.startswith("session_"))),
        ("Heartbeat", ("heartbeat_enabled", "heartbeat_cron", "heartbeat_timezone", "heartbeat_prompt")),
        ("Knowledge base", ("knowledge_chunk_size", "knowledge_chunk_overlap", "knowledge_top_k")),
    ]

    def __init__(self, *args, providers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        current = self.initial.get("provider")
        names = providers if current in providers or not current else [*providers, current]
        self.fields["provider"].choices = [(name, name) for name in names]

    @classmethod
    def initial_from(cls, config: dict) -> dict:
        initial = {}
        for name, path in cls.PATHS.items():
            value = config
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            initial[name] = _lines(value) if name == "stop" else value
        return initial

    def clean_stop(self):
        return [line for line in self.cleaned_data["stop"].splitlines() if line]

    def values(self) -> dict:
        """The fields as a nested config fragment."""
        fragment: dict = {}
        for name, path in self.PATHS.items():
            target = fragment
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = self.cleaned_data[name]
        return fragment


class ModelRefForm(forms.Form):
    provider = forms.ChoiceField(label="Provider")
    model = forms.CharField(max_length=200, label="Model")

    def __init__(self, *args, providers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        current = self.initial.get("provider")
        names = providers if current in providers or not current else [*providers, current]
        self.fields["provider"].choices = [("", "—"), *((name, name) for name in names)]


class ToolForm(forms.Form):
    id = forms.CharField(max_length=64, label="Id", help_text="What the model calls it.")
    type = forms.ChoiceField(label="Type", choices=[("", "—"), *((t, t) for t in TOOL_TYPES)])
    description = forms.CharField(required=False, max_length=1000, label="Description")
    config = forms.CharField(required=False, label="Config (JSON)", initial="{}",
                             widget=forms.Textarea(attrs={"rows": 3}))

    def clean_config(self):
        text = self.cleaned_data["config"].strip() or "{}"
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")


class EnvForm(forms.Form):
    """One variable.  A stored secret is never sent to the browser: its row
    says it is set, and an empty value keeps it."""

    original = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=64, label="Name")
    value = forms.CharField(required=False, strip=False, label="Value")
    secret = forms.BooleanField(required=False, label="Secret")

    def __init__(self, *args, stored_secrets: frozenset[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.is_stored_secret = self.initial.get("original") in stored_secrets and bool(self.initial.get("original"))
        if self.is_stored_secret:
            self.fields["value"].widget = forms.PasswordInput(render_value=False,
                                                              attrs={"placeholder": "Set — leave empty to keep it"})
            self.fields["value"].help_text = "Set. Type a new value to replace it."


class RowFormset(forms.BaseFormSet):
    """Rows whose remove and position boxes say so."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove"
        if "ORDER" in form.fields:
            form.fields["ORDER"].label = "Position"
            form.fields["ORDER"].help_text = "Tried in this order."


ROWS = {"formset": RowFormset, "extra": 1, "can_delete": True, "can_delete_extra": False}
FallbackFormset = forms.formset_factory(ModelRefForm, can_order=True, max_num=10, **ROWS)
ToolFormset = forms.formset_factory(ToolForm, max_num=50, **ROWS)
EnvFormset = forms.formset_factory(EnvForm, max_num=100, **ROWS)

_ENV_PATH = re.compile(r"^config\.env\.(?P<name>.+)$")
_ROW_PATH = re.compile(r"^config\.(?P<list>fallback_models|tools)\[(?P<index>\d+)\](?:\.(?P<field>\w+))?")
FIELD_MAP = {"config." + ".".join(path): name for name, path in ConfigForm.PATHS.items()}


def _kept_rows(formset) -> list[forms.Form]:
    """The rows that stay (of a valid formset): stored ones and filled-in new ones, not marked for removal."""
    removed = {id(form) for form in formset.deleted_forms}
    return [form for i, form in enumerate(formset.forms)
            if (i < formset.initial_form_count() or form.has_changed()) and id(form) not in removed]


class ConfigEditor:
    """The config form and its three row lists, validated and saved together."""

    def __init__(self, stored: dict, *, providers: list[str], etag: str = "", data=None):
        public = merge_patch(public_config(default_config()), public_config(stored))
        self.stored_secrets = frozenset(key for key, item in (stored.get("env") or {}).items() if item.get("secret"))
        self.form = ConfigForm(data, initial={**ConfigForm.initial_from(public), "etag": etag}, providers=providers)
        refs = [{"provider": r.get("provider"), "model": r.get("model"), "ORDER": i + 1}
                for i, r in enumerate(public["fallback_models"])]
        self.fallbacks = FallbackFormset(data, prefix="fallback", initial=refs, form_kwargs={"providers": providers})
        tools = [{**tool, "config": json.dumps(tool.get("config") or {}, indent=2)} for tool in public["tools"]]
        self.tools = ToolFormset(data, prefix="tool", initial=tools)
        env = [{"original": key, "name": key, "secret": isinstance(value, dict),
                "value": "" if isinstance(value, dict) else value} for key, value in public["env"].items()]
        self.env = EnvFormset(data, prefix="env", initial=env, form_kwargs={"stored_secrets": self.stored_secrets})
        self.list_errors: dict[str, list[str]] = {"fallback_models": [], "tools": [], "env": []}
        self._rows: dict[str, list[forms.Form]] = {"fallback_models": [], "tools": []}
        self._env_rows: dict[str, forms.Form] = {}

    def is_valid(self) -> bool:
        valid = [part.is_valid() for part in (self.form, self.fallbacks, self.tools, self.env)]
        if not all(valid):
            return False
        self._rows = {"fallback_models": self.fallbacks.ordered_forms, "tools": _kept_rows(self.tools)}
        for form in _kept_rows(self.env):
            name = form.cleaned_data["name"]
            if name in self._env_rows:
                form.add_error("name", "Another variable has this name.")
            self._env_rows.setdefault(name, form)
        if any(form.errors for form in self.env.forms):
            return False
        patch = self.patch()
        problems = models_errors(model=patch["model"], fallback_models=patch["fallback_models"],
                                 model_path="config.model", fallbacks_path="config.fallback_models")
        if problems:
            self.add_errors(ApiError("A model is not served by its provider.", errors=problems))
            return False
        return True

    def patch(self) -> dict:
        """The merge patch for ``config`` (call after ``is_valid()``)."""
        patch = self.form.values()
        patch["fallback_models"] = [{"provider": f.cleaned_data["provider"], "model": f.cleaned_data["model"]}
                                    for f in self._rows["fallback_models"]]
        patch["tools"] = [{key: f.cleaned_data[key] for key in ("id", "type", "description", "config")}
                          for f in self._rows["tools"]]
        env: dict = {}
        for name, form in self._env_rows.items():
            value, secret = form.cleaned_data["value"], form.cleaned_data["secret"]
            env[name] = ({"secret": True, "value": value} if value else {"secret": True}) if secret else value
        for form in self.env.forms[: self.env.initial_form_count()]:
            original = form.initial.get("original")
            if original and original not in env:
                env[original] = None  # removed or renamed: the merge patch drops it
        patch["env"] = env
        return patch

    def add_errors(self, error: ApiError) -> None:
        """Each of the service's error paths beside the field or row it names."""
        rest: dict[str, list[str]] = {}
        for path, messages in (error.errors or {}).items():
            messages = messages if isinstance(messages, list) else [messages]
            target = self._row_for(path)
            if target is not None:
                form, field = target
                for message in messages:
                    form.add_error(field, message)
            elif path in ("config.fallback_models", "config.tools", "config.env"):
                self.list_errors[path.split(".", 1)[1]].extend(messages)
            else:
                rest[path] = messages
        if rest or not error.errors:
            add_service_errors(self.form, ApiError(error.detail, errors=rest or None), FIELD_MAP)

    def _row_for(self, path: str):
        match = _ROW_PATH.match(path)
        if match:
            rows, index = self._rows[match["list"]], int(match["index"])
            if index < len(rows):
                form = rows[index]
                return form, match["field"] if match["field"] in form.fields else None
        match = _ENV_PATH.match(path)
        if match and match["name"] in self._env_rows:
            return self._env_rows[match["name"]], None
        return None

    def set_etag(self, etag: str) -> None:
        """Carry the agent's current ETag in the re-rendered form."""
        data = self.form.data.copy()
        data[self.form.add_prefix("etag")] = etag
        self.form.data = data

    @property
    def has_errors(self) -> bool:
        parts = (self.form, *self.fallbacks.forms, *self.tools.forms, *self.env.forms)
        formsets = (self.fallbacks, self.tools, self.env)
        return (any(part.errors for part in parts) or any(self.list_errors.values())
                or any(formset.non_form_errors() for formset in formsets))

    def sections(self) -> list[tuple[str, list]]:
        """The form's fields grouped as the page shows them."""
        return [(title, [self.form[name] for name in names]) for title, names in ConfigForm.SECTIONS]
