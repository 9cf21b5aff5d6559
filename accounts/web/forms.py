"""The console's account forms: what a person fills in to make an API token.

The form only turns widgets into the arguments of ``accounts.services.token_create``;
the service checks them (name length, known scopes, expiry in the future), so
the console and ``POST /api/v1/auth/tokens`` refuse exactly the same tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from django import forms
from django.utils import timezone

from accounts.models import Scope


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “CI” or “laptop”.")
    scopes = forms.MultipleChoiceField(
        choices=[(scope.value, f"{scope.value} — {scope.label}") for scope in Scope],
        widget=forms.CheckboxSelectMultiple, help_text="A token can never do more than you can.")
    expires_on = forms.DateField(
        label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token works until the end of this day ({zone}). Leave empty for a token that never expires.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["expires_on"]
        field.help_text = field.help_text.format(zone=timezone.get_current_timezone_name())

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None:
            try:
                _end_of(day).astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError("Pick an earlier date.")
        return day

    def service_arguments(self) -> dict:
        """The cleaned values as ``token_create`` takes them."""
        return {"name": self.cleaned_data["name"], "scopes": self.cleaned_data["scopes"],
                "expires_at": self.expires_at()}

    def expires_at(self):
        """The end of the chosen day in the server's time zone, or ``None`` (never)."""
        day = self.cleaned_data.get("expires_on")
        return None if day is None else _end_of(day)


def _end_of(day):
    return timezone.make_aware(datetime.combine(day, time.max.replace(microsecond=0)))
