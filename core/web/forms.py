"""Service errors shown on the form that caused them."""

from __future__ import annotations

from django import forms

from core.errors import ApiError


def add_service_errors(form: forms.Form, error: ApiError, field_map: dict[str, str] | None = None) -> None:
    """Put ``error`` beside the fields it names.

    A service's ``errors`` map field paths (``config.model.name``,
    ``pipeline.nodes[0].data``) to messages.  A path goes to the first form
    field it names: ``field_map`` translates a path prefix to a form field
    first, then the path's leading segment is tried as a field name; anything
    else (and an error without ``errors``) becomes a non-field error, with the
    path kept in the message so nothing is lost.
    """
    field_map = field_map or {}
    if not error.errors:
        form.add_error(None, error.detail)
        return
    for path, messages in error.errors.items():
        field = _field_for(form, path, field_map)
        for message in messages if isinstance(messages, list) else [messages]:
            if field is None:
                form.add_error(None, message if path == "non_field_errors" else f"{path}: {message}")
            else:
                form.add_error(field, message)


def _field_for(form: forms.Form, path: str, field_map: dict[str, str]) -> str | None:
    for prefix in sorted(field_map, key=len, reverse=True):
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return field_map[prefix]
    head = path.replace("[", ".").split(".", 1)[0]
    return head if head in form.fields else None
