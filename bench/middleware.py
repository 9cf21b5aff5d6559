"""Reports how many SQL queries a request made, in ``X-Query-Count``."""

from django.db import connection


class QueryCountMiddleware:
    """Counts with ``connection.execute_wrapper`` rather than
    ``connection.queries``, which is only filled when DEBUG is on and the
    benchmark must run with DEBUG off.

    Sync-only on purpose: under ASGI, Django then runs this middleware, the
    rest of the chain and the (sync) view in one thread, so the wrapper sees
    the same connection the view queries through.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response
