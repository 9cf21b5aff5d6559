"""Agentry settings.

Every value comes from the environment, read once here, with defaults that make
``make run`` work on a fresh machine: SQLite and a disk broker under
``AGENTRY_DATA_DIR``.  Set ``DATABASE_URL`` and ``REDIS_URL`` for PostgreSQL and
Redis.
"""

import importlib.util
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("AGENTRY_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """The configured key, else one generated once and kept in the data dir.

    A self-hosted install should not ship with a well-known key, and sessions
    must survive restarts, so the generated key is persisted.
    """
    configured = os.environ.get("DJANGO_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "servestatic",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "channels",
    "core",
    "accounts",
    "agents",
    "executions",
    "executions.conversations",
    "executions.knowledge",
]

MIDDLEWARE = [
    "core.middleware.RequestSizeLimitMiddleware",
    "core.middleware.AfterResponseMiddleware",
    # Django's own, run on the event loop under ASGI (core/inline_middleware.py).
    "core.inline_middleware.SecurityMiddleware",
    # Async, unlike WhiteNoise's: under ASGI no middleware in this list is
    # sync-only, so a request crosses no thread until its (sync) view runs.
    "servestatic.middleware.ServeStaticMiddleware",
    "core.inline_middleware.SessionMiddleware",
    "core.inline_middleware.CommonMiddleware",
    "core.inline_middleware.CsrfViewMiddleware",
    "core.inline_middleware.AuthenticationMiddleware",
    "core.inline_middleware.MessageMiddleware",
    "core.inline_middleware.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.web.errors.ConsoleErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.web.context.console",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "")
_SQLITE_OPTIONS = {
    # WAL lets readers run beside the one writer; IMMEDIATE transactions plus
    # a busy timeout queue writers instead of failing with "database is locked".
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
# Connections persist across requests (a new one per request cost a tenth of
# a plain request's time); a health check before reuse replaces one the
# database dropped.  Under ASGI every sync view and sync_to_async call shares
# asgiref's one thread, so a web process holds one connection for them.
AGENTRY_DB_CONN_MAX_AGE = int(os.environ.get("AGENTRY_DB_CONN_MAX_AGE", "60"))
# SQLite through Django's backend with its placeholders converted once per statement (core/db/sqlite3).
SQLITE_ENGINE = "core.db.sqlite3"
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=AGENTRY_DB_CONN_MAX_AGE,
                                                  conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["ENGINE"] = SQLITE_ENGINE
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not any(
            importlib.util.find_spec(driver) for driver in ("psycopg", "psycopg2")):  # Django's backend takes either
        # The driver is an extra: on SQLite it would only hold memory (DRF imports it when present).
        raise ImproperlyConfigured("DATABASE_URL names PostgreSQL, whose driver is not installed: pip install "
                                   "'agentry[postgres]' (in a checkout: .venv/bin/pip install -e '.[postgres]')")
else:
    DATABASES = {
        "default": {
            "ENGINE": SQLITE_ENGINE,
            "NAME": DATA_DIR / "agentry.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
            "CONN_MAX_AGE": AGENTRY_DB_CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
        }
    }
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    # The test database is a file, not memory, so the Celery worker a test
    # starts in another process sees the same rows; one per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-agentry-{os.getpid()}.sqlite3")}

# --- Auth, i18n, static -------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve from the finders too, so the docs' assets work without collectstatic.
SERVESTATIC_USE_FINDERS = True

# The console's sign-in (the admin keeps its own login page for staff).
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# --- Agentry ------------------------------------------------------------------

AGENTRY_MAX_REQUEST_BYTES = int(os.environ.get("AGENTRY_MAX_REQUEST_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = AGENTRY_MAX_REQUEST_BYTES
# How deeply lists and objects in a request body (JSON or YAML) may nest; deeper
# answers 400.  What reads the data afterwards recurses (serializers, jsonschema
# with several frames per level, templates, json.dumps), so keep this far below
# Python's recursion limit of 1000: past ~100, a nested input schema can fail.
AGENTRY_MAX_JSON_DEPTH = int(os.environ.get("AGENTRY_MAX_JSON_DEPTH", "64"))
AGENTRY_ENCRYPTION_KEY = os.environ.get("AGENTRY_ENCRYPTION_KEY", "")
AGENTRY_ALLOWED_PRIVATE_HOSTS = env_list("AGENTRY_ALLOWED_PRIVATE_HOSTS")
# Don't write last_used_at more often than this, so a busy token costs no
# write per request.
AGENTRY_TOKEN_TOUCH_SECONDS = int(os.environ.get("AGENTRY_TOKEN_TOUCH_SECONDS", "60"))
# How many proxies in front of the app append to X-Forwarded-For (0: none,
# REMOTE_ADDR is the client).  Used for the audit log's IP.
AGENTRY_TRUSTED_PROXY_HOPS = int(os.environ.get("AGENTRY_TRUSTED_PROXY_HOPS", "0"))
PORT = int(os.environ.get("PORT", "8000"))

# Executions: timeouts in seconds.  A run may ask for less than the maximum
# (options.timeout); the heartbeat lets the reaper fail runs whose process died.
AGENTRY_EXECUTION_DEFAULT_TIMEOUT = float(os.environ.get("AGENTRY_EXECUTION_DEFAULT_TIMEOUT", "120"))
AGENTRY_EXECUTION_MAX_TIMEOUT = float(os.environ.get("AGENTRY_EXECUTION_MAX_TIMEOUT", "600"))
AGENTRY_EXECUTION_HEARTBEAT_SECONDS = float(os.environ.get("AGENTRY_EXECUTION_HEARTBEAT_SECONDS", "5"))
AGENTRY_EXECUTION_STALE_SECONDS = float(os.environ.get("AGENTRY_EXECUTION_STALE_SECONDS", "60"))
# Webhook-triggered runs one agent accepts per minute; more answer 429.
AGENTRY_WEBHOOK_RATE_PER_MINUTE = int(os.environ.get("AGENTRY_WEBHOOK_RATE_PER_MINUTE", "60"))
AGENTRY_EXECUTION_CANCEL_POLL_SECONDS = 0.5
# Workers: executions one worker process runs at once.  Runs mostly wait (on
# the model, tools, the database), so they share an event loop in the process.
try:
    AGENTRY_WORKER_CONCURRENCY = int(os.environ.get("AGENTRY_WORKER_CONCURRENCY", "32"))
except ValueError:
    AGENTRY_WORKER_CONCURRENCY = 0
if AGENTRY_WORKER_CONCURRENCY < 1:
    raise ImproperlyConfigured("AGENTRY_WORKER_CONCURRENCY must be a whole number of at least 1, "
                               f"not {os.environ.get('AGENTRY_WORKER_CONCURRENCY')!r}.")
# The garbage collector of a web or worker process (core.collector): what
# was loaded at start-up is frozen out of its scans, and its youngest
# generation is collected every this many allocations (Python's default is
# 700; "default" keeps Python's thresholds).
_GC_THRESHOLD = os.environ.get("AGENTRY_GC_THRESHOLD", "10000").strip()
try:
    AGENTRY_GC_THRESHOLD = None if _GC_THRESHOLD == "default" else int(_GC_THRESHOLD)
except ValueError:
    AGENTRY_GC_THRESHOLD = 0
if AGENTRY_GC_THRESHOLD is not None and AGENTRY_GC_THRESHOLD < 1:
    raise ImproperlyConfigured("AGENTRY_GC_THRESHOLD must be a whole number of at least 1 or \"default\", "
                               f"not {_GC_THRESHOLD!r}.")
# LLM calls: retries per model on 429/5xx/connection errors before the next
# fallback model, and the base of the exponential backoff between them.
AGENTRY_LLM_RETRIES = int(os.environ.get("AGENTRY_LLM_RETRIES", "2"))
AGENTRY_LLM_BACKOFF_BASE = float(os.environ.get("AGENTRY_LLM_BACKOFF_BASE", "0.5"))
# How often an SSE stream re-reads the events table when nothing woke it (runs in other processes).
# Chat: how often a thread's streamed events are written in one batch (they
# reach live readers at once), and the longest message a user may send.
AGENTRY_CHAT_FLUSH_SECONDS = float(os.environ.get("AGENTRY_CHAT_FLUSH_SECONDS", "0.5"))
AGENTRY_CHAT_QUIET_SECONDS = float(os.environ.get("AGENTRY_CHAT_QUIET_SECONDS", "3"))
AGENTRY_CHAT_MAX_MESSAGE_CHARS = int(os.environ.get("AGENTRY_CHAT_MAX_MESSAGE_CHARS", "32000"))
AGENTRY_SSE_POLL_SECONDS = float(os.environ.get("AGENTRY_SSE_POLL_SECONDS", "0.25"))

# Knowledge base (executions.knowledge).  Files live under DATA_DIR/knowledge
# through Django's storage API (set STORAGES["knowledge"] for S3-compatible
# storage); sizes are bytes, chunk sizes characters.
AGENTRY_KNOWLEDGE_MAX_BYTES = int(os.environ.get("AGENTRY_KNOWLEDGE_MAX_BYTES", str(25 * 1024 * 1024)))
AGENTRY_KNOWLEDGE_MAX_DOCUMENTS = int(os.environ.get("AGENTRY_KNOWLEDGE_MAX_DOCUMENTS", "1000"))
AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES = int(os.environ.get("AGENTRY_KNOWLEDGE_MAX_AGENT_BYTES", str(1024 * 1024 * 1024)))
# The embedding model for agents whose config names none ("provider:model", empty: none).
AGENTRY_KNOWLEDGE_EMBEDDING = os.environ.get("AGENTRY_KNOWLEDGE_EMBEDDING", "")
# From how many vectors an agent's in-process index is an HNSW graph (usearch)
# rather than an exact numpy scan; see bench/knowledge_bench.py.
AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS = int(os.environ.get("AGENTRY_KNOWLEDGE_ANN_MIN_VECTORS", "50000"))
# A multipart upload may carry a file this large plus its form fields.
AGENTRY_MAX_UPLOAD_BYTES = AGENTRY_KNOWLEDGE_MAX_BYTES + 1024 * 1024

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "knowledge": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                  "OPTIONS": {"location": str(DATA_DIR / "knowledge")}},
}

# --- REST framework and OpenAPI ----------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.AgentryPagination",
    "DEFAULT_FILTER_BACKENDS": ["core.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Agentry API",
    "DESCRIPTION": "Define, version, run and operate AI agents. See README.md for a walkthrough.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.roles.Role.choices",
        "MemberRoleEnum": "accounts.roles.MEMBER_ROLE_CHOICES",
        "AgentStatusEnum": "agents.models.AgentStatus.choices",
        "ExecutionStatusEnum": "executions.models.ExecutionStatus.choices",
        "ProviderKindEnum": "agents.models.ProviderKind.choices",
        "MultitaskStrategyEnum": "executions.conversations.models.MultitaskStrategy.choices",
        "MemoryKindEnum": "agents.models.MemoryKind.choices",
    },
}

# --- Celery, Channels ---------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # Messages are files in one folder that senders write and workers read
    # (kombu's filesystem transport, reading the folder once for many messages:
    # config/broker.py); the exchange tables go beside it, not in the working directory.
    CELERY_BROKER_URL = "agentry-filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        # How long an idle worker sleeps between looks at the folder: what a
        # lone run waits at most before a worker sees it (kombu's default is 1 s).
        "polling_interval": 0.01,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = AGENTRY_WORKER_CONCURRENCY
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "reap-stale-executions": {"task": "executions.reap_stale", "schedule": 30.0},
    "reap-stale-knowledge": {"task": "knowledge.reap_stale", "schedule": 30.0},
    "archive-idle-threads": {"task": "conversations.archive_idle", "schedule": 3600.0},
}

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AGENTRY_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One line per HTTP request the SDKs make is noise, not news.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "anthropic": {"level": "WARNING"},
        # Nor is a line per task received and succeeded: at a hundred runs a second the
        # worker spent 6% of its time writing them.  A task that fails still logs an ERROR,
        # and every run is listed under /executions.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    },
}

CSRF_FAILURE_VIEW = "core.errors.csrf_failure"
