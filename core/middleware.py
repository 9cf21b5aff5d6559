"""Request-level middleware: guards that must act before any view parses the
body, and work deferred until the response has been sent."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from core.errors import problem_json_response


class BeforeAfterMiddleware:
    """Base for middleware whose work needs no I/O: ``before`` may answer
    early, ``after`` may adjust the response.  Sync and async capable, so
    under ASGI it adds no thread hop of its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        early = self.before(request)
        return early if early is not None else self.after(request, self.get_response(request))

    async def __acall__(self, request):
        early = self.before(request)
        return early if early is not None else self.after(request, await self.get_response(request))

    def before(self, request):
        return None

    def after(self, request, response):
        return response


class RequestSizeLimitMiddleware(BeforeAfterMiddleware):
    """Refuse bodies larger than ``AGENTRY_MAX_REQUEST_BYTES`` with 413 before
    anything reads them (Django's own limit only fires once a view parses).
    A multipart upload may be as large as ``AGENTRY_MAX_UPLOAD_BYTES``: its
    files go to temporary files, not memory, and the view that takes them
    checks each file's own limit while it streams."""

    def before(self, request):
        limit = settings.AGENTRY_MAX_REQUEST_BYTES
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            limit = max(limit, getattr(settings, "AGENTRY_MAX_UPLOAD_BYTES", limit))
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            too_large = int(length) > limit
        except ValueError:
            return problem_json_response(request, status=400, code="validation_error",
                                         detail="Content-Length is not a number.")
        if too_large:
            return problem_json_response(
                request, status=413, code="payload_too_large",
                detail=f"Request body is larger than the {limit} bytes allowed.",
            )
        return None


def run_after_response(request, callback) -> None:
    """Call ``callback()`` once the response to ``request`` (Django's or DRF's)
    has been sent, so the client does not wait for it; at once when
    :class:`AfterResponseMiddleware` is not running.  An exception it raises
    is dropped, as Django drops a response closer's."""
    callbacks = getattr(getattr(request, "_request", request), "_after_response", None)
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


class AfterResponseMiddleware(BeforeAfterMiddleware):
    """Hands what :func:`run_after_response` collected to the response's
    closers, which the server (WSGI) or Django's ASGI handler calls once the
    body is sent, in the thread sync views use (so on their database
    connection), before ``request_finished``."""

    def before(self, request):
        request._after_response = []
        return None

    def after(self, request, response):
        response._resource_closers.extend(request._after_response)
        return response
