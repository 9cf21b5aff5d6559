"""Domain errors raised under a console page become HTML pages.

Services and selectors raise ``core.errors.ApiError`` subclasses (404 for an
agent the user may not see, 403 for a role that is too low, 409 …).  The API
turns them into problem+json; for every path outside ``/api/`` this
middleware renders the matching page instead, with the service's detail, so a
console view can call the same service and never translate errors itself.
"""

from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from core.errors import ApiError

_TEMPLATES = {404: "404.html", 403: "403.html"}


class ConsoleErrorMiddleware(MiddlewareMixin):
    def process_exception(self, request, exception):
        if request.path.startswith("/api/") or not isinstance(exception, ApiError):
            return None
        template = _TEMPLATES.get(exception.status, "console/error.html")
        return render(request, template, {"detail": exception.detail, "status": exception.status},
                      status=exception.status)
