"""The three ways to create an agent on one page: blank, from a catalog
template, and from the Agent Builder wizard's fields.  Each form's
``payload()`` is the body the matching API endpoint takes (``POST /agents``,
``POST /agents`` with ``template``, ``POST /agents/create-from-wizard``)."""

from __future__ import annotations

from django import forms

from agents.validation import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX
from executions.engine.nodes import TOOLS

TAGS_HELP = "Separated by commas."


def split_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class AgentFieldsForm(forms.Form):
    """What every new agent is: a name, and optionally a slug, a description and tags."""

    name = forms.CharField(max_length=NAME_MAX, strip=False)
    slug = forms.CharField(max_length=SLUG_MAX, required=False, label="Slug",
                           help_text="Letters, digits and single hyphens; derived from the name when empty.")
    description = forms.CharField(max_length=DESCRIPTION_MAX, required=False, strip=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(required=False, help_text=TAGS_HELP)

    def agent_fields(self) -> dict:
        data = self.cleaned_data
        fields = {"name": data["name"], "description": data["description"], "tags": split_tags(data["tags"])}
        if data["slug"]:
            fields["slug"] = data["slug"]
        return fields


class BlankAgentForm(AgentFieldsForm):
    prefix = "blank"

    def payload(self) -> dict:
        return self.agent_fields()


class TemplateAgentForm(forms.Form):
    """A catalog template and, optionally, another name than the template's."""

    prefix = "template"
    template = forms.ChoiceField(widget=forms.RadioSelect, label="Template")
    name = forms.CharField(max_length=NAME_MAX, required=False, strip=False,
                           help_text="Leave empty to use the template's name.")

    def __init__(self, *args, templates: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = templates
        self.fields["template"].choices = [(t["id"], t["title"]) for t in templates]

    def choices_with_templates(self) -> list:
        """Each radio button beside the catalog summary it stands for."""
        return list(zip(self["template"], self.templates))

    def payload(self) -> tuple[str, dict]:
        """The template id and the overrides."""
        name = self.cleaned_data["name"]
        return self.cleaned_data["template"], ({"name": name} if name.strip() else {})


class WizardAgentForm(AgentFieldsForm):
    """The wizard's answers: who the agent is, what it thinks with, which
    tools it may call and what it starts out knowing and doing."""

    prefix = "wizard"
    personality = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="How it speaks and behaves.")
    model = forms.CharField(max_length=300, required=False, label="Model",
                            help_text='As "provider/model", e.g. "echo/echo"; empty for the default.',
                            widget=forms.TextInput(attrs={"list": "wizard-models"}))
    connectors = forms.MultipleChoiceField(required=False, label="Tools", widget=forms.CheckboxSelectMultiple,
                                           choices=[(t, t.replace("_", " ")) for t in TOOLS])
    memories = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text="Facts it starts out knowing, one per line.")
    rules = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Rules it must follow, one per line.")
    tasks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Scheduled tasks",
                            help_text="One per line: the five cron fields, then the prompt, "
                                      "e.g. <code>0 9 * * 1-5 Summarise yesterday's tickets</code>.")
    task_timezone = forms.CharField(max_length=64, initial="UTC", label="Time zone of the tasks")

    # Service error paths → the field that holds them (list paths go line by line).
    LINES = {"training.memory": "memories", "training.rules": "rules", "training.tasks": "tasks"}
    FIELDS = {"ai_model_id": "model", "connectors": "connectors"}

    def clean_tasks(self):
        tasks = []
        for number, line in enumerate(split_lines(self.cleaned_data["tasks"]), start=1):
            parts = line.split(None, 5)
            if len(parts) < 6:
                raise forms.ValidationError(f"Line {number}: write the five cron fields, then the prompt.")
            tasks.append({"cron": " ".join(parts[:5]), "prompt": parts[5]})
        return tasks

    def payload(self) -> dict:
        data = self.cleaned_data
        body = self.agent_fields()
        if data["personality"].strip():
            body["personality"] = data["personality"]
        if data["model"].strip():
            body["ai_model_id"] = data["model"].strip()
        body["connectors"] = [{"tile_id": t, "node_type": t, "label": TOOLS[t].tool_description}
                              for t in data["connectors"]]
        body["training"] = {
            "memory": [{"content": line} for line in split_lines(data["memories"])],
            "rules": [{"content": line} for line in split_lines(data["rules"])],
            "tasks": [{**task, "timezone": data["task_timezone"]} for task in data["tasks"]],
        }
        return body
