"""How the lifecycle pages hand a service's refusal back to the person.

A form's refusal (400 invalid, 409 conflict) goes beside the fields it names
(``core.web.forms.add_service_errors``); an action without a form (roll back,
pause, delete) flashes it.  Anything else (403 for a role too low, 404 for
something invisible) is not the form's business and propagates to
``ConsoleErrorMiddleware``, which renders the error page, exactly as the API
answers with that status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages

from core.errors import ApiError
from core.web.forms import add_service_errors

FORM_STATUSES = frozenset({400, 409})


def submit(form: forms.Form, call: Callable[[], Any], *, field_map: dict[str, str] | None = None,
           also: frozenset[int] = frozenset()) -> tuple[bool, Any]:
    """``(True, call())``, or ``(False, None)`` with the service's 400/409
    (and the ``also`` statuses) on ``form``."""
    try:
        return True, call()
    except ApiError as error:
        if error.status not in FORM_STATUSES | also:
            raise
        add_service_errors(form, error, field_map)
        return False, None


def perform(request, call: Callable[[], Any], *, success: str, also: frozenset[int] = frozenset()) -> bool:
    """Run ``call``; flash ``success``, or the service's 400/409 (and the
    ``also`` statuses, for state errors such as "no webhook") as an error."""
    try:
        call()
    except ApiError as error:
        if error.status not in FORM_STATUSES | also:
            raise
        messages.error(request, error.detail)
        return False
    messages.success(request, success)
    return True
