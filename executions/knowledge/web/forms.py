"""The knowledge tab's forms: files to upload and a search.  What a file
may be (kind, size, quotas) and what a search may ask is checked by the same
service and input serializer as the API, and shown beside these fields."""

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)) and data:
            return [single(item, initial) for item in data]
        if isinstance(data, (list, tuple)):
            data = None  # none chosen: "required"
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(label="Files", help_text="PDF, PowerPoint, Word, HTML, Markdown or plain text; "
                                                      "choose several at once.")
    tags = forms.CharField(label="Tags", required=False, help_text="Comma-separated; searches can filter by them.")
    description = forms.CharField(label="Description", required=False)


class SearchForm(forms.Form):
    query = forms.CharField(label="Search the documents", strip=False)
    top_k = forms.IntegerField(label="Passages", required=False, help_text="How many (default: the agent's top_k).",
                               widget=forms.NumberInput(attrs={"min": 1, "max": 50}))
