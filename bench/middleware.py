"""Reports how many SQL queries a request made, in ``X-Query-Count``."""

from contextvars import ContextVar

from django.db.backends.signals import connection_created
from django.dispatch import receiver

from core.middleware import BeforeAfterMiddleware

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


class QueryCountMiddleware(BeforeAfterMiddleware):
    def before(self, request):
        request._query_counter = [0]
        request._query_counter_token = _counter.set(request._query_counter)
        return None

    def after(self, request, response):
        _counter.reset(request._query_counter_token)
        response["X-Query-Count"] = str(request._query_counter[0])
        return response
