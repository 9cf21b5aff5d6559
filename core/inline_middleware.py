"""Django's own middleware, run on the event loop under ASGI.

``MiddlewareMixin.__acall__`` runs every ``process_request`` and
``process_response`` through ``sync_to_async``, and Django's handler wraps a
sync ``process_view`` the same way: under ASGI the seven middleware classes
the product uses cost thirteen thread round trips per request, more CPU than a
bare DRF view's own work (docs/PERFORMANCE.md).  Their methods do no I/O in
the common case, so these subclasses call them on the event loop, and cross to
the sync thread only for the case that does I/O: a session to save, messages
to store (in the session), a CSRF check that reads a form body.  Under WSGI
(the test client, ``manage.py runserver``) they are Django's classes as they
are.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csrf, security

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class InlineMiddlewareMixin:
    """For a ``MiddlewareMixin`` subclass: under ASGI, call ``process_request``
    and ``process_response`` on the event loop unless
    :meth:`response_needs_thread` says the response's processing does I/O."""

    def runs_inline(self) -> bool:
        return True

    def response_needs_thread(self, request, response) -> bool:
        return False

    async def __acall__(self, request):
        if not self.runs_inline():
            return await super().__acall__(request)
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if not hasattr(self, "process_response"):
            return response
        if self.response_needs_thread(request, response):
            return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
        return self.process_response(request, response)


class SecurityMiddleware(InlineMiddlewareMixin, security.SecurityMiddleware):
    pass


class SessionMiddleware(InlineMiddlewareMixin, sessions.SessionMiddleware):
    """The session is read lazily (in the view) and only written when it
    changed: that write is the one part that needs the thread."""

    def response_needs_thread(self, request, response) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(InlineMiddlewareMixin, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineMiddlewareMixin, csrf.CsrfViewMiddleware):
    """With the token in a cookie (``CSRF_USE_SESSIONS`` off, the default),
    reading and setting it is no I/O.  Checking an unsafe request may read its
    form body, so that check runs on the thread, as Django runs it."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode and self.runs_inline():  # Django takes a coroutine process_view as it is
            self.process_view = self._process_view_on_loop

    def runs_inline(self) -> bool:
        return not settings.CSRF_USE_SESSIONS

    async def _process_view_on_loop(self, request, callback, callback_args, callback_kwargs):
        check = super().process_view
        if getattr(callback, "csrf_exempt", False) or request.method in _SAFE_METHODS:
            return check(request, callback, callback_args, callback_kwargs)
        return await sync_to_async(check, thread_sensitive=True)(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(InlineMiddlewareMixin, auth.AuthenticationMiddleware):
    """``request.user`` is lazy: the view's first use of it reads the user."""


class MessageMiddleware(InlineMiddlewareMixin, messages.MessageMiddleware):
    """Messages nobody added or read store nothing; others may write the
    session, so they are stored on the thread."""

    def response_needs_thread(self, request, response) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class XFrameOptionsMiddleware(InlineMiddlewareMixin, clickjacking.XFrameOptionsMiddleware):
    pass
