"""Validation errors as a map of field paths to messages
(``{"input.items[0].name": ["This field is required."]}``), the shape every
problem's ``errors`` has.  Plain data, no Django, so the engine uses it too."""

from __future__ import annotations


def error_summary(errors: dict[str, list[str]]) -> str:
    """One line for a problem's ``detail``: the first field and its first message."""
    field, messages = next(iter(errors.items()))
    if field == "non_field_errors":
        return messages[0]
    return f"{field}: {messages[0]}"
