""""Edit as JSON/YAML": the agent's whole definition (config and pipeline)
as one document.  It replaces what it covers, so the form turns it into the
merge patch ``PATCH /agents/{agent}`` takes (``null`` for every key left
out); the service validates it as it validates the API's."""

from __future__ import annotations

import json

from django import forms
from rest_framework.exceptions import ParseError

from agents.config import public_config
from agents.services.exporting import render_document
from core.parsers import yaml_load

FORMATS = (("json", "JSON"), ("yaml", "YAML"))
SECTIONS = ("config", "pipeline")


def definition_text(agent, fmt: str) -> str:
    """The agent's config (secrets masked) and pipeline as a JSON or YAML document."""
    document = {"config": public_config(agent.config), "pipeline": agent.pipeline or {"nodes": [], "edges": []}}
    return render_document(document, fmt).decode()


def replacement_patch(old, new):
    """A JSON merge patch that turns ``old`` into ``new``: ``new`` itself, with
    ``null`` for each key ``old`` has and ``new`` lacks, at every depth where
    both are objects."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    patch = {key: replacement_patch(old.get(key), value) for key, value in new.items()}
    patch.update({key: None for key in old if key not in new})
    return patch


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class RawDefinitionForm(forms.Form):
    etag = forms.CharField(required=False, widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=FORMATS, widget=forms.HiddenInput, label="Format")
    document = forms.CharField(strip=False, label="Definition", widget=forms.Textarea(
        attrs={"rows": 30, "spellcheck": "false", "autocapitalize": "off", "class": "code-editor"}),
        help_text='An object with "config" and "pipeline"; a section left out stays as it is. '
                  'Secret variables read <code>{"secret": true}</code>: keep that to keep them.')

    def clean(self):
        data = super().clean()
        if "document" not in data or "format" not in data:
            return data
        try:
            if data["format"] == "yaml":
                parsed = yaml_load(data["document"])
            else:
                parsed = json.loads(data["document"], parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError({"document": f"Not valid JSON: {exc.msg} (line {exc.lineno}, "
                                                     f"column {exc.colno})."})
        except ValueError as exc:  # NaN, Infinity
            raise forms.ValidationError({"document": f"Not valid JSON: {exc}."})
        except ParseError as exc:
            raise forms.ValidationError({"document": str(exc.detail)})
        if not isinstance(parsed, dict):
            raise forms.ValidationError({"document": 'Must be an object with "config" and "pipeline".'})
        unknown = sorted(set(parsed) - set(SECTIONS))
        if unknown:
            raise forms.ValidationError({"document": f"Unknown section {', '.join(unknown)}: "
                                                     'the document holds "config" and "pipeline".'})
        data["sections"] = parsed
        return data

    def changes(self, agent) -> dict:
        """What ``agent_update`` gets: the config as a replacing merge patch, the pipeline whole."""
        sections = self.cleaned_data["sections"]
        changes = {}
        if "config" in sections:
            changes["config"] = replacement_patch(public_config(agent.config), sections["config"])
        if "pipeline" in sections:
            changes["pipeline"] = sections["pipeline"]
        return changes
