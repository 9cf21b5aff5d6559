"""Service errors whose paths point into lists (``training.tasks[2].cron``),
shown beside the form field that holds the list, with the line they came from."""

from __future__ import annotations

import re

from django import forms

from core.errors import ApiError, ValidationFailed
from core.web.forms import add_service_errors

_INDEXED = re.compile(r"^(?P<prefix>.+?)\[(?P<index>\d+)\](?:\.(?P<rest>.+))?$")


def add_line_errors(form: forms.Form, error: ApiError, lines: dict[str, str],
                    field_map: dict[str, str] | None = None) -> None:
    """Like ``add_service_errors``, but a path ``<prefix>[i]…`` whose prefix
    ``lines`` maps to a field goes to that field as "Line i+1: message"
    (the field holds one list item per line)."""
    rest: dict[str, list[str]] = {}
    for path, messages in (error.errors or {}).items():
        messages = messages if isinstance(messages, list) else [messages]
        match = _INDEXED.match(path)
        if match and match["prefix"] in lines:
            for message in messages:
                form.add_error(lines[match["prefix"]], f"Line {int(match['index']) + 1}: {message}")
        else:
            rest[path] = messages
    if rest or not error.errors:
        add_service_errors(form, ValidationFailed(error.detail, errors=rest or None), field_map)
