"""One error type for the domain and one handler that renders every error as
RFC 9457 problem details (``application/problem+json``).

Services raise :class:`ApiError` (or DRF's own exceptions); views never build
error bodies themselves.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views import csrf, defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.field_errors import error_summary

logger = logging.getLogger("agentry.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ApiError(Exception):
    """A domain error with a stable ``code`` and an HTTP status."""

    status = 400
    code = "validation_error"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None,
                 errors: dict | None = None, headers: dict | None = None, instance: str = ""):
        super().__init__(detail)
        self.instance = instance  # the occurrence's own URI (a failed execution's), else the request path
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers or {}


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"

    @classmethod
    def from_errors(cls, errors: dict[str, list[str]]) -> "ValidationFailed":
        """The error for a map of field paths to messages; the detail names the first."""
        return cls(error_summary(errors), errors=errors)


class NotFound(ApiError):
    status, code = 404, "not_found"


class Forbidden(ApiError):
    status, code = 403, "permission_denied"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class PreconditionRequired(ApiError):
    status, code = 428, "precondition_required"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnprocessableContent(ApiError):
    status, code = 422, "validation_error"


class BadGateway(ApiError):
    status, code = 502, "provider_error"


class GatewayTimeout(ApiError):
    status, code = 504, "timeout"


class ServiceUnavailable(ApiError):
    status, code = 503, "server_error"


def problem_body(*, status: int, code: str, detail: str, instance: str = "",
                 errors: dict | None = None, title: str | None = None) -> dict:
    return {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "errors": errors or {},
    }


def problem_json_response(request, *, status: int, code: str, detail: str,
                          errors: dict | None = None) -> JsonResponse:
    """A plain Django response, for code that runs outside DRF (middleware, handler404)."""
    body = problem_body(status=status, code=code, detail=detail, instance=request.path, errors=errors)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into ``{"a.b[0].c": ["message"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"  # a list item: DRF keys list errors by index
            elif key == "non_field_errors":
                path = prefix or "non_field_errors"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten_errors(value, path).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, []):
                    continue
                for k, v in flatten_errors(item, f"{prefix}[{index}]").items():
                    flat.setdefault(k, []).extend(v)
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return flat


_DRF_CODES = {
    drf.NotAuthenticated: (401, "not_authenticated"),
    drf.AuthenticationFailed: (401, "not_authenticated"),
    drf.PermissionDenied: (403, "permission_denied"),
    drf.NotFound: (404, "not_found"),
    drf.MethodNotAllowed: (405, "method_not_allowed"),
    drf.NotAcceptable: (406, "not_acceptable"),
    drf.UnsupportedMediaType: (415, "unsupported_media_type"),
    drf.Throttled: (429, "rate_limited"),
    drf.ParseError: (400, "validation_error"),
}


def problem_exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: every exception becomes problem+json; a 500 is
    logged with its traceback but never shows it."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    headers: dict[str, str] = {}
    errors: dict | None = None

    if isinstance(exc, ApiError):
        status, code, detail, errors = exc.status, exc.code, exc.detail, exc.errors
        instance = exc.instance or instance
        headers.update(exc.headers)
    elif isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        status, code = 400, "validation_error"
        detail = error_summary(errors) if errors else "Invalid input."
    elif isinstance(exc, drf.APIException):
        status, code = next(
            (value for cls, value in _DRF_CODES.items() if isinstance(exc, cls)),
            (exc.status_code, "server_error" if exc.status_code >= 500 else "validation_error"),
        )
        detail = str(exc.detail)
        if isinstance(exc, drf.ParseError):
            detail = f"Malformed request body: {exc.detail}"
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
    elif isinstance(exc, Http404):
        status, code, detail = 404, "not_found", "Not found."
    elif isinstance(exc, DjangoPermissionDenied):
        status, code, detail = 403, "permission_denied", "You do not have permission to perform this action."
    elif isinstance(exc, RequestDataTooBig):
        status, code, detail = 413, "payload_too_large", "Request body is too large."
    else:
        logger.exception("Unhandled error on %s", instance, exc_info=exc)
        status, code, detail = 500, "server_error", "An unexpected error occurred."

    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    body = problem_body(status=status, code=code, detail=detail, instance=instance, errors=errors)
    response = Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


# --- Django-level handlers (router 404, 500 outside DRF, CSRF) ---------------
# The API always answers problem+json; a browser asking for HTML on a page
# outside the API (the admin, later the web UI) gets Django's HTML pages.

def _wants_html(request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def _handler(html_view, *, status: int, code: str, detail: str):
    """A Django error handler: problem+json, or ``html_view`` for a browser."""

    def handle(request, exception=None):
        if _wants_html(request):
            return html_view(request) if html_view is defaults.server_error else html_view(request, exception)
        return problem_json_response(request, status=status, code=code, detail=detail)

    return handle


page_not_found = _handler(defaults.page_not_found, status=404, code="not_found", detail="Not found.")
server_error = _handler(defaults.server_error, status=500, code="server_error",
                        detail="An unexpected error occurred.")
bad_request = _handler(defaults.bad_request, status=400, code="validation_error", detail="Bad request.")
permission_denied = _handler(defaults.permission_denied, status=403, code="permission_denied",
                             detail="You do not have permission to perform this action.")


def csrf_failure(request, reason=""):
    if _wants_html(request):
        return csrf.csrf_failure(request, reason)
    return problem_json_response(request, status=403, code="permission_denied",
                                 detail=f"CSRF verification failed: {reason}")
