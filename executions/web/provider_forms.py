"""The providers page's forms: a provider's fields and its models as rows.

They only turn widgets into the body ``agents.services.providers`` takes (the
same body ``POST``/``PATCH /api/v1/providers`` send), and put the service's
errors back beside the field or model row they name.  The API key is
write-only: the widget never renders a value, blank keeps the stored key.
"""

from __future__ import annotations

import re

from django import forms

from agents.inputs.providers import API_KEY_MAX, BASE_URL_MAX, MODEL_NAME_MAX, MODELS_MAX, NAME_MAX
from agents.models import Provider, ProviderKind
from core.errors import ApiError
from core.web.forms import add_service_errors

MODEL_ROW_RE = re.compile(r"^models\[(\d+)\](?:\.(\w+))?(.*)$")
EXTRA_MODEL_ROWS = 2


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, help_text="What agents' configurations call it: letters, digits, "
                                                          "hyphens, underscores and dots.")
    kind = forms.ChoiceField(choices=ProviderKind.choices, help_text="The wire format it speaks.")
    base_url = forms.CharField(label="Base URL", required=False, max_length=BASE_URL_MAX,
                               widget=forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false"}),
                               help_text="e.g. http://localhost:11434/v1 for Ollama. Empty: the SDK's default "
                                         "endpoint. Not for echo.")
    api_key = forms.CharField(label="API key", required=False, max_length=API_KEY_MAX, strip=True,
                              widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                              help_text="Write-only: stored encrypted and never shown again.")
    clear_api_key = forms.BooleanField(label="Remove the stored key", required=False)

    def __init__(self, *args, provider: Provider | None = None, **kwargs):
        self.provider = provider
        if provider is not None:
            kwargs.setdefault("initial", {"name": provider.name, "kind": provider.kind, "base_url": provider.base_url})
        super().__init__(*args, **kwargs)
        if provider is None or not provider.has_api_key:
            del self.fields["clear_api_key"]
        if provider is not None:
            self.fields["api_key"].help_text = (
                "Write-only. A key is stored: leave blank to keep it, or type a new one to replace it."
                if provider.has_api_key else "Write-only. No key is stored.")

    def body(self, models: list[dict]) -> dict:
        """The request body, as the API would receive it: on an edit, the key
        only when a new one is typed (or ``""`` to remove it)."""
        data = self.cleaned_data
        body = {"name": data["name"], "kind": data["kind"], "base_url": data["base_url"], "models": models}
        if data["api_key"]:
            body["api_key"] = data["api_key"]
        elif data.get("clear_api_key"):
            body["api_key"] = ""
        return body


class ModelRowForm(forms.Form):
    name = forms.CharField(label="Model", required=False, max_length=MODEL_NAME_MAX, strip=False)
    input_per_million = forms.FloatField(label="Input USD per million tokens", required=False, min_value=0,
                                         widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    output_per_million = forms.FloatField(label="Output USD per million tokens", required=False, min_value=0,
                                          widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not data.get("name") and data.get("input_per_million") is None \
            and data.get("output_per_million") is None

    def model(self) -> dict:
        """The row as one of the body's ``models``; a price left empty is left out (the service makes it 0)."""
        data = self.cleaned_data
        row = {"name": data.get("name") or ""}
        for price in ("input_per_million", "output_per_million"):
            if data.get(price) is not None:
                row[price] = data[price]
        return row


ModelRowFormSet = forms.formset_factory(ModelRowForm, extra=EXTRA_MODEL_ROWS, max_num=MODELS_MAX,
                                        absolute_max=MODELS_MAX, validate_max=True)


def model_rows(data=None, *, provider: Provider | None = None):
    """The models formset, filled from ``provider``'s models on an edit."""
    initial = [dict(model) for model in provider.models] if provider is not None else None
    return ModelRowFormSet(data, initial=initial, prefix="models")


def models_sent(formset) -> tuple[list[dict], list[forms.Form]]:
    """The non-blank rows as the body's ``models``, and the form each came
    from (the service's ``models[i]`` is ``forms[i]``)."""
    rows = [form for form in formset.forms if not form.is_blank()]
    return [form.model() for form in rows], rows


def add_provider_errors(form: ProviderForm, rows: list[forms.Form], error: ApiError) -> None:
    """Put a service error beside what it names: ``models[i].field`` on that
    row, everything else on the provider's fields (or above the form)."""
    rest = {}
    for path, messages in (error.errors or {}).items():
        match = MODEL_ROW_RE.match(path)
        index = int(match.group(1)) if match else None
        if match is None or index >= len(rows):
            rest[path] = messages
            continue
        field = match.group(2) if match.group(2) in rows[index].fields and not match.group(3) else None
        for message in messages if isinstance(messages, list) else [messages]:
            rows[index].add_error(field, message if field else f"{path}: {message}")
    if rest or not error.errors:
        add_service_errors(form, ApiError(error.detail, errors=rest or None))
