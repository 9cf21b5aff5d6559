"""Settings for ``bench/api_bench.py``: the product's own settings, plus a
query-counting middleware and a URLconf with a bare DRF baseline endpoint.

Everything else is unchanged, so the numbers describe the product's stack.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Outermost, so every query made anywhere in the request (any middleware, the
# view, rendering) is counted.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]  # noqa: F405
