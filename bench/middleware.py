"""Reports how many SQL queries a request made, in ``X-Query-Count``."""

from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db.backends.signals import connection_created
from django.dispatch import receiver

# The running request's counter.  Context variables follow a request into the
# thread its sync view runs in (asgiref copies the context), so this counts
# the view's queries without forcing the middleware chain into sync mode,
# which would add thread hops that production does not have.
_counter: ContextVar[list[int] | None] = ContextVar("bench_query_counter", default=None)


def _count(execute, sql, params, many, context):
    counter = _counter.get()
    if counter is not None:
        counter[0] += 1
    return execute(sql, params, many, context)


@receiver(connection_created)
def _install_counter(sender, connection, **kwargs):
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


class QueryCountMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        counter = [0]
        token = _counter.set(counter)
        try:
            response = self.get_response(request)
        finally:
            _counter.reset(token)
        response["X-Query-Count"] = str(counter[0])
        return response

    async def __acall__(self, request):
        counter = [0]
        token = _counter.set(counter)
        try:
            response = await self.get_response(request)
        finally:
            _counter.reset(token)
        response["X-Query-Count"] = str(counter[0])
        return response
